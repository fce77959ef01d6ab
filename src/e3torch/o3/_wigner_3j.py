"""Wigner 3j symbols in the real basis of e3nn, computed exactly and cached."""

from __future__ import annotations

import functools
import numbers

import torch

from e3torch.o3._wigner_exact import real_wigner_3j_entries

__all__ = ["wigner_3j"]


def check_degree(name: str, l: object) -> int:
    """Validate a degree ``l`` (a non-negative int) and return it as a Python int.

    Examples
    --------
    >>> check_degree("l", 3)
    3
    """
    if type(l) is int and l >= 0:  # the common case, fast
        return l
    if isinstance(l, bool) or not isinstance(l, numbers.Integral):
        raise TypeError(f"expected {name} to be an int, got {type(l).__name__} {l!r}")
    if l < 0:
        raise ValueError(f"expected {name} >= 0, got {name}={int(l)}")
    return int(l)


def _no_torch_function_mode() -> bool:
    """True when no torch-function mode (such as a ``with torch.device(...)`` context) is active."""
    stack_length = getattr(torch._C, "_len_torch_function_stack", None)
    return stack_length is not None and stack_length() == 0


@functools.cache
def _wigner_3j_cached(l1: int, l2: int, l3: int) -> torch.Tensor:
    with torch.inference_mode(False):  # a normal tensor even when first asked for in inference mode
        return _build_wigner_3j(l1, l2, l3)


def _build_wigner_3j(l1: int, l2: int, l3: int) -> torch.Tensor:
    out = torch.zeros(2 * l1 + 1, 2 * l2 + 1, 2 * l3 + 1, dtype=torch.float64, device="cpu")
    entries = real_wigner_3j_entries(l1, l2, l3)
    if entries:
        i1, i2, i3, values = zip(*entries)
        index = tuple(torch.tensor(i, device="cpu") + l for i, l in ((i1, l1), (i2, l2), (i3, l3)))
        out[index] = torch.tensor(values, dtype=torch.float64, device="cpu")
    return out


@torch.compiler.assume_constant_result  # a constant: computed outside of any graph being traced
def _wigner_3j_float64(l1: int, l2: int, l3: int) -> torch.Tensor:
    return _wigner_3j_cached(l1, l2, l3)


def wigner_3j(
    l1: int, l2: int, l3: int, dtype: torch.dtype | None = None, device: torch.device | str | None = None
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
    """
    degrees = [check_degree(name, l) for name, l in (("l1", l1), ("l2", l2), ("l3", l3))]
    l1, l2, l3 = degrees
    if not abs(l1 - l2) <= l3 <= l1 + l2:
        raise ValueError(
            f"wigner_3j({l1}, {l2}, {l3}): expected degrees satisfying the triangle condition "
            f"|l1 - l2| <= l3 <= l1 + l2, got |{l1} - {l2}| = {abs(l1 - l2)} and l1 + l2 = {l1 + l2} "
            f"for l3 = {l3}"
        )
    cached = _wigner_3j_float64(l1, l2, l3)
    dtype = torch.get_default_dtype() if dtype is None else dtype
    if device is None:
        if _no_torch_function_mode():  # then no device context: the default device is the CPU
            return cached.to(dtype=dtype, copy=True)
        return torch.empty(cached.shape, dtype=dtype).copy_(cached)  # the default device of the context
    return cached.to(dtype=dtype, device=device, copy=True)
