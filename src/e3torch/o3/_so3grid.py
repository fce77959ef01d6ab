"""Signals on the rotation group sampled on an ``(alpha, beta, gamma)`` grid: :class:`SO3Grid` (as in e3nn 0.6.0).

A signal on SO(3) with degrees up to ``lmax`` is ``f(R) = sum_l <F^l, sqrt(2l+1) D^l(R)>``: its coefficients are
the ``(2l+1) x (2l+1)`` blocks ``F^l``, flattened and concatenated (:func:`flat_wigner`). The grid is uniform in
``alpha`` and ``gamma`` and the Kostelec-Rockmore grid in ``beta``, whose quadrature makes :meth:`SO3Grid.from_grid`
the inverse of :meth:`SO3Grid.to_grid`.
"""

from __future__ import annotations

import math

import torch

from e3torch.o3._legendre import _check_degree
from e3torch.o3._s2grid import _quadrature_weights, s2_grid
from e3torch.o3._wigner import wigner_D

__all__ = ["SO3Grid", "flat_wigner"]


def flat_wigner(lmax: int, alpha: torch.Tensor, beta: torch.Tensor, gamma: torch.Tensor) -> torch.Tensor:
    r"""``sqrt(2l+1) D^l(alpha, beta, gamma)`` for ``l = 0..lmax``, flattened and concatenated.

    Parameters
    ----------
    lmax : int
    alpha, beta, gamma : torch.Tensor
        ``(...)``, broadcast together.

    Returns
    -------
    torch.Tensor
        ``(..., sum_l (2 l + 1)^2)``

    Examples
    --------
    >>> zero = torch.zeros((), dtype=torch.float64)
    >>> flat_wigner(1, zero, zero, zero).abs().round(decimals=4)  # the identity rotation
    tensor([1.0000, 1.7321, 0.0000, 0.0000, 0.0000, 1.7321, 0.0000, 0.0000, 0.0000, 1.7321],
           dtype=torch.float64)
    """
    lmax = _check_degree(lmax, "lmax")
    alpha, beta, gamma = torch.broadcast_tensors(alpha, beta, gamma)
    blocks = [math.sqrt(2 * l + 1) * wigner_D(l, alpha, beta, gamma).flatten(-2) for l in range(lmax + 1)]
    return torch.cat(blocks, dim=-1)


class SO3Grid(torch.nn.Module):
    r"""The grid on SO(3) and the transforms between coefficients and sampled signals (as e3nn 0.6.0's).

    ``res_beta = 2 resolution``, ``res_alpha = res_gamma = aspect_ratio * res_beta``; ``alpha`` and ``gamma`` are
    ``2 pi k / res``, ``beta`` the grid of :func:`~e3torch.o3.s2_grid`.

    Parameters
    ----------
    lmax : int
        Coefficients ``[(2l+1) x (l, p)]`` for ``l = 0..lmax``, of dimension ``sum (2l+1)^2``.
    resolution : int
    normalization : {"component"}
        The only one e3nn 0.6.0 implements.
    aspect_ratio : int

    Attributes
    ----------
    D, qw, alpha, beta, gamma : torch.Tensor
        Buffers: :func:`flat_wigner` on the grid ``(res_alpha, res_beta, res_gamma, dim)``, the quadrature
        weights ``(res_beta,)`` and the three axes.

    Examples
    --------
    >>> grid = SO3Grid(2, 4)
    >>> grid
    SO3Grid (2)
    >>> x = torch.randn(3, 35)
    >>> grid.to_grid(x).shape
    torch.Size([3, 16, 8, 16])
    >>> bool((grid.from_grid(grid.to_grid(x)) - x).abs().max() < 1e-4)
    True
    """

    def __init__(
        self, lmax: int, resolution: int, *, normalization: str = "component", aspect_ratio: int = 2
    ) -> None:
        super().__init__()
        if normalization != "component":
            raise ValueError(
                f"expected normalization 'component' (the only one of e3nn's SO3Grid), got {normalization!r}"
            )
        self.lmax = _check_degree(lmax, "lmax")
        resolution = _check_degree(resolution, "resolution")
        aspect_ratio = _check_degree(aspect_ratio, "aspect_ratio")
        if resolution < 1 or aspect_ratio < 1:
            raise ValueError(
                f"expected a positive resolution and aspect_ratio, got {resolution} and {aspect_ratio}"
            )
        self.res_beta = 2 * resolution
        self.res_alpha = self.res_gamma = aspect_ratio * self.res_beta
        betas, alphas = s2_grid(self.res_beta, self.res_alpha, dtype=torch.float64)
        gammas = alphas
        a, b, c = torch.meshgrid(alphas, betas, gammas, indexing="ij")
        dtype = torch.get_default_dtype()
        qw = _quadrature_weights(self.res_beta // 2, dtype=torch.float64)
        qw = qw * self.res_beta**2 / (self.res_alpha * self.res_gamma)
        self.register_buffer("D", flat_wigner(self.lmax, a, b, c).to(dtype))
        self.register_buffer("qw", qw.to(dtype))
        self.register_buffer("alpha", alphas.to(dtype))
        self.register_buffer("beta", betas.to(dtype))
        self.register_buffer("gamma", gammas.to(dtype))

    def __repr__(self) -> str:
        return f"{self.__class__.__name__} ({self.lmax})"

    @property
    def dim(self) -> int:
        """The dimension of the coefficients, ``sum_l (2 l + 1)^2``."""
        return self.D.shape[-1]

    def to_grid(self, features: torch.Tensor) -> torch.Tensor:
        """Coefficients ``(..., dim)`` to the signal ``(..., res_alpha, res_beta, res_gamma)``.

        ``f(R) = <F, flat_wigner(R)> / sqrt(dim)``.
        """
        dim = self.dim
        if features.dim() == 0 or features.shape[-1] != dim:
            raise ValueError(
                f"expected input with last dimension {dim} (lmax = {self.lmax}), got shape {tuple(features.shape)}"
            )
        grid = self.D.shape[:3]
        out = torch.mm(features.reshape(-1, dim), self.D.reshape(-1, dim).T) / math.sqrt(dim)
        return out.reshape(*features.shape[:-1], *grid)

    def from_grid(self, features: torch.Tensor) -> torch.Tensor:
        """The signal ``(..., res_alpha, res_beta, res_gamma)`` to coefficients ``(..., dim)`` (quadrature)."""
        grid = tuple(self.D.shape[:3])
        if features.dim() < 3 or tuple(features.shape[-3:]) != grid:
            raise ValueError(
                f"expected input with last dimensions {grid} (alpha, beta, gamma), got shape {tuple(features.shape)}"
            )
        dim = self.dim
        weighted = features.reshape(-1, *grid) * self.qw[:, None]
        out = torch.mm(weighted.reshape(weighted.shape[0], -1), self.D.reshape(-1, dim)) * math.sqrt(dim)
        return out.reshape(*features.shape[:-3], dim)
