"""The naive executor of the spherical harmonics: the textbook recursions, one component at a time.

Obviously correct and slow; the oracle of the tests for the fast executor (and for any degree, where e3nn has
no table). In e3nn's basis ``y`` is the polar axis and ``w = z + i x`` the azimuthal plane:

* ``Q_l^m(y, r^2)`` (``= r^(l-m) P_l^{(m)}(y/r)``, normalised) by the three-term recursion in ``l``,
  ``Pbar_l^m = A y Pbar_{l-1}^m - B r^2 Pbar_{l-2}^m``, from the constant ``Pbar_m^m``;
* ``Re w^m`` and ``Im w^m`` by the complex recursion ``w^(m+1) = w^m (z + i x)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from e3torch.o3._legendre import _diagonal_value, legendre_recursion_coefficients

__all__ = ["spherical_harmonics_naive"]


def spherical_harmonics_naive(
    ls: Sequence[int], x: torch.Tensor, normalize: bool, normalization: str = "integral"
) -> torch.Tensor:
    """Spherical harmonics of degrees ``ls`` of ``x: (..., 3)``, component by component.

    Parameters
    ----------
    ls : list of int
    x : torch.Tensor
        ``(..., 3)``
    normalize : bool
    normalization : {"integral", "component", "norm"}

    Returns
    -------
    torch.Tensor
        ``(..., sum(2 l + 1))``

    Examples
    --------
    >>> x = torch.tensor([[0.0, 1.0, 0.0]], dtype=torch.float64)
    >>> spherical_harmonics_naive([1], x, True, "component")
    tensor([[0.0000, 1.7321, 0.0000]], dtype=torch.float64)
    """
    if normalize:
        norm = x.norm(dim=-1, keepdim=True)
        x = x / torch.where(norm > 0, norm, torch.ones_like(norm))
    vx, vy, vz = x.unbind(-1)
    r2 = vx * vx + vy * vy + vz * vz
    lmax = max(ls)
    coef = legendre_recursion_coefficients(lmax)
    # pbar[m][l] for m <= l <= lmax
    pbar: list[dict[int, torch.Tensor]] = []
    for m in range(lmax + 1):
        col = {m: torch.full_like(vy, _diagonal_value(m))}
        for l in range(m + 1, lmax + 1):
            a, b = coef[l][m]
            col[l] = a * vy * col[l - 1] - (b * r2 * col[l - 2] if l - 2 >= m else 0)
        pbar.append(col)
    re = [torch.ones_like(vx)]
    im = [torch.zeros_like(vx)]
    for m in range(1, lmax + 1):
        re.append(re[-1] * vz - im[-1] * vx)
        im.append(im[-1] * vz + re[-2] * vx)
    out = []
    for l in ls:
        scale = {"component": 1.0, "norm": 1 / math.sqrt(2 * l + 1), "integral": 1 / math.sqrt(4 * math.pi)}[
            normalization
        ]
        for m in range(-l, l + 1):
            am = abs(m)
            azimuth = re[am] if m > 0 else im[am] if m < 0 else re[0]
            factor = math.sqrt(2.0) if m != 0 else 1.0
            out.append(scale * factor * pbar[am][l] * azimuth)
    return torch.stack(out, dim=-1)
