"""Spherical harmonics of angles: :func:`spherical_harmonics_alpha_beta`, :func:`spherical_harmonics_alpha`.

The point of angles ``(alpha, beta)`` is ``R_y(alpha) R_x(beta) e_y = (sin b sin a, cos b, sin b cos a)`` (e3nn's
``angles_to_xyz``), and its harmonic separates as ``Y^l(alpha, beta) = S^l(alpha) P^l(cos beta)``: the ``alpha``
part (:func:`spherical_harmonics_alpha`) times the integral-normalised associated Legendre functions
(:class:`~e3torch.o3.Legendre`), as in e3nn 0.6.0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Union

import torch

from e3torch.o3._irreps import Irreps
from e3torch.o3._legendre import Legendre, _check_degree
from e3torch.o3._spherical_harmonics import _check_normalization

__all__ = ["SphericalHarmonicsAlphaBeta", "spherical_harmonics_alpha", "spherical_harmonics_alpha_beta"]

LType = Union[int, Sequence[int], str, Irreps]  # noqa: UP007 - a runtime alias


def _degrees(l: Any) -> list[int]:
    if isinstance(l, (str, Irreps)):
        ls = Irreps(l).ls
    elif isinstance(l, Sequence):
        ls = [_check_degree(v) for v in l]
    else:
        ls = [_check_degree(l)]
    if not ls:
        raise ValueError(f"expected at least one degree l, got {l!r}")
    return ls


def _check_tensor(t: object, name: str) -> torch.Tensor:
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"expected {name} to be a torch.Tensor, got {type(t).__name__}")
    if not t.is_floating_point():
        raise TypeError(f"expected {name} with a floating point dtype, got {t.dtype}")
    return t


def spherical_harmonics_alpha(l: int, alpha: torch.Tensor) -> torch.Tensor:
    r"""The ``alpha`` part :math:`S^l(\alpha)` of :func:`spherical_harmonics_alpha_beta`.

    Component ``m = -l..l``: :math:`\sqrt 2 \sin(|m| \alpha)` for ``m < 0``, ``1`` for ``m = 0`` and
    :math:`\sqrt 2 \cos(m \alpha)` for ``m > 0``.

    Parameters
    ----------
    l : int
        The degree.
    alpha : torch.Tensor
        ``(...)``.

    Returns
    -------
    torch.Tensor
        ``(..., 2 l + 1)``

    Examples
    --------
    >>> spherical_harmonics_alpha(1, torch.tensor([0.0, math.pi / 4]))
    tensor([[0.0000, 1.0000, 1.4142],
            [1.0000, 1.0000, 1.0000]])
    """
    l = _check_degree(l)
    alpha = _check_tensor(alpha, "alpha")
    m = torch.arange(1, l + 1, dtype=alpha.dtype, device=alpha.device)
    angle = alpha.unsqueeze(-1) * m
    root2 = math.sqrt(2.0)
    return torch.cat(
        [root2 * torch.sin(angle).flip(-1), torch.ones_like(alpha).unsqueeze(-1), root2 * torch.cos(angle)],
        -1,
    )


class SphericalHarmonicsAlphaBeta(torch.nn.Module):
    """Module version of :func:`spherical_harmonics_alpha_beta` (as e3nn 0.6.0's; empty ``state_dict``).

    Parameters
    ----------
    l : int or list of int or Irreps
        The degrees.
    normalization : {"integral", "component", "norm"}

    Attributes
    ----------
    normalization : str
    legendre : Legendre
        The ``beta`` part.

    Examples
    --------
    >>> sh = SphericalHarmonicsAlphaBeta([0, 1], normalization="component")
    >>> sh(torch.zeros(2), torch.zeros(2))
    tensor([[1.0000, 0.0000, 1.7321, 0.0000],
            [1.0000, 0.0000, 1.7321, 0.0000]])
    """

    def __init__(self, l: LType, normalization: str = "integral") -> None:
        super().__init__()
        ls = _degrees(l)
        self.normalization = _check_normalization(normalization)
        self._ls_list = ls
        self._lmax = max(ls)
        self.legendre = Legendre(ls)
        scales = []
        for deg in ls:
            scale = {
                "integral": 1.0,
                "component": math.sqrt(4 * math.pi),
                "norm": math.sqrt(4 * math.pi / (2 * deg + 1)),
            }[normalization]
            scales += [scale] * (2 * deg + 1)
        # column -> (degree slot, m): the alpha part of every output column
        alpha_index = [self._lmax + m for deg in ls for m in range(-deg, deg + 1)]
        self.register_buffer("_scale", torch.tensor(scales, dtype=torch.float64), persistent=False)
        self.register_buffer("_alpha_index", torch.tensor(alpha_index, dtype=torch.long), persistent=False)

    def forward(self, alpha: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
        """``alpha: (...)``, ``beta: (...)`` (broadcast together) to ``(..., sum(2 l + 1))``."""
        alpha = _check_tensor(alpha, "alpha")
        beta = _check_tensor(beta, "beta")
        alpha, beta = torch.broadcast_tensors(alpha, beta)
        sha = spherical_harmonics_alpha(self._lmax, alpha).index_select(-1, self._alpha_index)
        shb = self.legendre(torch.cos(beta), torch.sin(beta))
        return sha * shb * self._scale.to(dtype=shb.dtype)


def spherical_harmonics_alpha_beta(
    l: LType, alpha: torch.Tensor, beta: torch.Tensor, *, normalization: str = "integral"
) -> torch.Tensor:
    r"""Spherical harmonics of the point :math:`R_y(\alpha) R_x(\beta) e_y`, as :math:`S^l(\alpha) P^l(\cos\beta)`.

    Equal to ``spherical_harmonics(l, angles_to_xyz(alpha, beta), True, normalization)``, computed from the
    angles (the stable Legendre recursion in ``cos(beta)`` and ``sin``/``cos`` of multiples of ``alpha``).

    Parameters
    ----------
    l : int or list of int or Irreps
        The degrees.
    alpha, beta : torch.Tensor
        ``(...)``, broadcast together.
    normalization : {"integral", "component", "norm"}

    Returns
    -------
    torch.Tensor
        ``(..., sum(2 l + 1))``

    Examples
    --------
    >>> y = spherical_harmonics_alpha_beta([0, 1], torch.tensor(0.0), torch.tensor(0.0), normalization="component")
    >>> y  # the north pole e_y
    tensor([1.0000, 0.0000, 1.7321, 0.0000])
    """
    return SphericalHarmonicsAlphaBeta(l, normalization=normalization)(alpha, beta)
