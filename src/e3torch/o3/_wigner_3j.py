"""Wigner 3j symbols in the real basis of e3nn, computed exactly and cached."""

from __future__ import annotations

import numpy as np
import torch

from e3torch.o3._wigner_common import ConstantCache, check_degree, fresh_copy
from e3torch.o3._wigner_exact import real_wigner_3j_entries

__all__ = ["wigner_3j"]


def _wigner_3j_array(l1: int, l2: int, l3: int) -> tuple[np.ndarray]:
    out = np.zeros((2 * l1 + 1, 2 * l2 + 1, 2 * l3 + 1), dtype=np.float64)
    for i1, i2, i3, value in real_wigner_3j_entries(l1, l2, l3):
        out[i1 + l1, i2 + l2, i3 + l3] = value
    return (out,)


_CACHE = ConstantCache(_wigner_3j_array)
_CPU = torch.device("cpu")


@torch.compiler.assume_constant_result  # a constant: computed outside of any graph being traced
def _wigner_3j_float64(l1: int, l2: int, l3: int) -> torch.Tensor:
    return _CACHE.get((l1, l2, l3), torch.float64, _CPU)[0]


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
    dtype = torch.get_default_dtype() if dtype is None else dtype
    return fresh_copy(_wigner_3j_float64(l1, l2, l3), dtype, device)
