"""Wigner 3j symbols in the real basis of e3nn, computed exactly and cached.

Two sign conventions are available. ``"e3nn"`` (the default) is that of e3nn >= 0.5. ``"e3nn-0.4"`` is that of
e3nn 0.4.x, which differs by an overall sign for some ``(l1, l2, l3)`` (about a fifth of them, e.g. ``(1, 2, 2)``):
for sorted degrees ``l1 <= l2 <= l3`` the 0.4 symbol is the unit-norm invariant whose central entry (all ``m = 0``)
is positive where it is nonzero, and otherwise whose first nonzero entry in row-major order is positive; the other
orderings are its transposes, times ``(-1) ** (l1 + l2 + l3)`` for an odd permutation of the axes.
"""

from __future__ import annotations

import functools
import itertools
import math

import numpy as np
import torch

from e3torch._compiler import assume_constant_result
from e3torch.o3._wigner_common import ConstantCache, check_degree, fresh_copy
from e3torch.o3._wigner_exact import real_wigner_3j_entries

__all__ = ["WIGNER_3J_CONVENTIONS", "check_wigner_3j_convention", "wigner_3j", "wigner_3j_sign"]

#: the sign conventions of :func:`wigner_3j`: e3nn >= 0.5 (the default) and e3nn 0.4.x.
WIGNER_3J_CONVENTIONS: tuple[str, ...] = ("e3nn", "e3nn-0.4")


def _wigner_3j_array(l1: int, l2: int, l3: int) -> tuple[np.ndarray]:
    out = np.zeros((2 * l1 + 1, 2 * l2 + 1, 2 * l3 + 1), dtype=np.float64)
    for i1, i2, i3, value in real_wigner_3j_entries(l1, l2, l3):
        out[i1 + l1, i2 + l2, i3 + l3] = value
    return (out,)


_CACHE = ConstantCache(_wigner_3j_array)


def check_wigner_3j_convention(convention: object) -> str:
    """Validate a Wigner 3j sign convention (one of :data:`WIGNER_3J_CONVENTIONS`) and return it.

    Parameters
    ----------
    convention : str
        ``"e3nn"`` (e3nn >= 0.5) or ``"e3nn-0.4"`` (e3nn 0.4.x).

    Returns
    -------
    str

    Raises
    ------
    ValueError
        For any other value.

    Examples
    --------
    >>> check_wigner_3j_convention("e3nn-0.4")
    'e3nn-0.4'
    """
    if not isinstance(convention, str) or convention not in WIGNER_3J_CONVENTIONS:
        raise ValueError(f"wigner_3j_convention must be one of {WIGNER_3J_CONVENTIONS}, got {convention!r}")
    return convention


@functools.cache
def _e3nn04_sign(l1: int, l2: int, l3: int) -> int:
    """The sign ``s`` with ``wigner_3j_e3nn04(l1, l2, l3) = s * wigner_3j(l1, l2, l3)``, from the exact entries.

    The entries of :func:`~e3torch.o3._wigner_exact.real_wigner_3j_entries` carry their exact sign (zeros are exact
    zeros), so every decision here is exact.
    """
    ls = (l1, l2, l3)
    order = sorted(range(3), key=lambda axis: (ls[axis], axis))  # sorted axis n is the original axis order[n]
    sorted_ls = tuple(ls[axis] for axis in order)
    sorted_entries = {(i1, i2, i3): v for i1, i2, i3, v in real_wigner_3j_entries(*sorted_ls)}
    centre = sorted_entries.get((0, 0, 0), 0.0)
    if centre != 0.0:
        sign_sorted = 1 if centre > 0 else -1
    else:  # the entries are generated in row-major order
        first = next(v for v in sorted_entries.values() if v != 0.0)
        sign_sorted = 1 if first > 0 else -1
    inversions = sum(1 for a, b in itertools.combinations(order, 2) if a > b)
    if inversions % 2 == 1:
        sign_sorted *= (-1) ** (l1 + l2 + l3)
    # compare with our own symbol of the given ordering at one nonzero entry
    i1, i2, i3, ours = next(e for e in real_wigner_3j_entries(l1, l2, l3) if e[3] != 0.0)
    index = (i1, i2, i3)
    theirs = sign_sorted * sorted_entries[tuple(index[axis] for axis in order)]
    if not math.isclose(abs(theirs), abs(ours), rel_tol=1e-12):  # pragma: no cover - the invariant is unique
        raise RuntimeError(f"wigner_3j({l1}, {l2}, {l3}): the orderings disagree by more than a sign")
    return 1 if (theirs > 0) == (ours > 0) else -1


def wigner_3j_sign(l1: int, l2: int, l3: int, convention: str = "e3nn-0.4") -> int:
    """The sign ``s`` such that ``wigner_3j(l1, l2, l3, convention=convention) = s * wigner_3j(l1, l2, l3)``.

    Decided exactly (from the rational-arithmetic symbols) and cached. ``s`` is always 1 for ``"e3nn"``; for
    ``"e3nn-0.4"`` it is -1 for the triplets whose symbol e3nn 0.5 negated (e.g. ``(1, 2, 2)``, ``(2, 1, 2)``,
    ``(2, 2, 1)``, ``(1, 3, 3)``).

    Parameters
    ----------
    l1, l2, l3 : int
        the degrees, satisfying the triangle condition.
    convention : {"e3nn-0.4", "e3nn"}
        The convention compared with e3nn's (>= 0.5); default ``"e3nn-0.4"``.

    Returns
    -------
    int
        1 or -1.

    Examples
    --------
    >>> wigner_3j_sign(1, 2, 2), wigner_3j_sign(1, 1, 2), wigner_3j_sign(1, 2, 2, "e3nn")
    (-1, 1, 1)
    """
    l1, l2, l3 = (check_degree(name, l) for name, l in (("l1", l1), ("l2", l2), ("l3", l3)))
    _check_triangle(l1, l2, l3)
    if check_wigner_3j_convention(convention) == "e3nn":
        return 1
    return _e3nn04_sign_constant(l1, l2, l3)


@assume_constant_result  # exact arithmetic: decided outside of any graph being traced
def _e3nn04_sign_constant(l1: int, l2: int, l3: int) -> int:
    return _e3nn04_sign(l1, l2, l3)


def _check_triangle(l1: int, l2: int, l3: int) -> None:
    if not abs(l1 - l2) <= l3 <= l1 + l2:
        raise ValueError(
            f"wigner_3j({l1}, {l2}, {l3}): expected degrees satisfying the triangle condition "
            f"|l1 - l2| <= l3 <= l1 + l2, got |{l1} - {l2}| = {abs(l1 - l2)} and l1 + l2 = {l1 + l2} "
            f"for l3 = {l3}"
        )


_CPU = torch.device("cpu")


@assume_constant_result  # a constant: computed outside of any graph being traced
def _wigner_3j_float64(l1: int, l2: int, l3: int) -> torch.Tensor:
    return _CACHE.get((l1, l2, l3), torch.float64, _CPU)[0]


def wigner_3j(
    l1: int,
    l2: int,
    l3: int,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
    *,
    convention: str = "e3nn",
) -> torch.Tensor:
    r"""Wigner 3j symbols :math:`C_{ijk}` in the real basis: the invariant coupling of :math:`l_1, l_2, l_3`.

    The tensor is invariant under simultaneous rotation of its three indices,

    .. math::

        C_{lmn} = C_{ijk} D^{l_1}_{il}(g) D^{l_2}_{jm}(g) D^{l_3}_{kn}(g) \qquad \forall g \in SO(3),

    with :math:`D` given by :func:`wigner_D`, and has unit Frobenius norm, :math:`C_{ijk} C_{ijk} = 1`. It is
    the real-basis form of the Clebsch-Gordan coefficients :math:`\langle l_1 m_1 l_2 m_2 | l_3 m_3 \rangle`
    (Condon-Shortley phase), with e3nn's change of basis and sign convention. The values are derived in exact
    rational arithmetic and rounded to float64 once; the result is cached, and each call returns a fresh copy.

    Parameters
    ----------
    l1, l2, l3 : int
        the degrees; they must satisfy the triangle condition :math:`|l_1 - l_2| \le l_3 \le l_1 + l_2`.
    dtype : torch.dtype, optional
        of the result; default ``torch.get_default_dtype()``.
    device : torch.device, optional
        of the result; default the current default device.
    convention : {"e3nn", "e3nn-0.4"}, keyword-only
        The sign convention (an extension of e3nn): ``"e3nn"`` (e3nn >= 0.5, the default) or ``"e3nn-0.4"``
        (e3nn 0.4.x), see :func:`wigner_3j_sign`.

    Returns
    -------
    torch.Tensor
        :math:`C` of shape ``(2 l1 + 1, 2 l2 + 1, 2 l3 + 1)``.

    Examples
    --------
    >>> C = wigner_3j(1, 1, 2, dtype=torch.float64)
    >>> C.shape
    torch.Size([3, 3, 5])
    >>> round(float(C.norm()), 6)
    1.0
    >>> wigner_3j(1, 1, 0).mul(3 ** 0.5).squeeze(-1).round() + 0.0
    tensor([[1., 0., 0.],
            [0., 1., 0.],
            [0., 0., 1.]])

    e3nn 0.4.x had the other sign for some triplets:

    >>> bool(torch.equal(wigner_3j(1, 2, 2, convention="e3nn-0.4"), -wigner_3j(1, 2, 2)))
    True
    """
    degrees = [check_degree(name, l) for name, l in (("l1", l1), ("l2", l2), ("l3", l3))]
    l1, l2, l3 = degrees
    _check_triangle(l1, l2, l3)
    sign = wigner_3j_sign(l1, l2, l3, convention)
    dtype = torch.get_default_dtype() if dtype is None else dtype
    out = fresh_copy(_wigner_3j_float64(l1, l2, l3), dtype, device)
    return out if sign == 1 else out.neg_()
