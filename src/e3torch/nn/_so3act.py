"""Pointwise activation of a signal on the rotation group: :class:`SO3Activation` (as e3nn 0.6.0's)."""

from __future__ import annotations

from collections.abc import Callable

import torch

from e3torch.math import normalize2mom
from e3torch.o3._so3grid import SO3Grid

__all__ = ["SO3Activation"]


class SO3Activation(torch.nn.Module):
    r"""Apply a pointwise non-linearity to a signal on SO(3) given by its coefficients.

    ``from_grid_out(act(to_grid_in(x)))`` with two :class:`~e3torch.o3.SO3Grid` of the same resolution and the
    activation second-moment normalised. Equivariant up to the resolution of the grid.

    Parameters
    ----------
    lmax_in, lmax_out : int
        Coefficients ``[(2l+1) x l]`` for ``l = 0..lmax``: dimensions ``sum (2l+1)^2``.
    act : callable
        Elementwise.
    resolution : int
    normalization : {"component"}
    aspect_ratio : int

    Attributes
    ----------
    grid_in, grid_out : SO3Grid
    act : torch.nn.Module

    Examples
    --------
    >>> m = SO3Activation(1, 2, torch.tanh, 4)
    >>> m
    SO3Activation (1 -> 2)
    >>> m(torch.randn(5, 10)).shape
    torch.Size([5, 35])
    """

    def __init__(
        self,
        lmax_in: int,
        lmax_out: int,
        act: Callable[[torch.Tensor], torch.Tensor],
        resolution: int,
        *,
        normalization: str = "component",
        aspect_ratio: int = 2,
    ) -> None:
        super().__init__()
        self.grid_in = SO3Grid(lmax_in, resolution, normalization=normalization, aspect_ratio=aspect_ratio)
        self.grid_out = SO3Grid(lmax_out, resolution, normalization=normalization, aspect_ratio=aspect_ratio)
        self.act = normalize2mom(act)
        self.lmax_in = self.grid_in.lmax
        self.lmax_out = self.grid_out.lmax

    def __repr__(self) -> str:
        return f"{self.__class__.__name__} ({self.lmax_in} -> {self.lmax_out})"

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """``features: (..., sum_{l <= lmax_in} (2l+1)^2)`` to ``(..., sum_{l <= lmax_out} (2l+1)^2)``."""
        return self.grid_out.from_grid(self.act(self.grid_in.to_grid(features)))
