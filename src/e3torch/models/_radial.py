"""Radial functions for interatomic potentials: a Bessel basis and a smooth polynomial cutoff."""

from __future__ import annotations

import math

import torch

__all__ = ["BesselBasis", "PolynomialCutoff", "RadialEmbedding"]


class BesselBasis(torch.nn.Module):
    r"""Spherical Bessel functions of order 0: :math:`b_n(r) = \sqrt{2/r_c}\, \sin(n \pi r / r_c) / r`.

    They vanish at :math:`r = r_c` and are orthonormal on :math:`[0, r_c]` with weight :math:`r^2`.

    Parameters
    ----------
    r_max : float
        Cutoff radius :math:`r_c` (> 0).
    num_basis : int
        Number of functions :math:`n = 1 .. N`.
    trainable : bool
        Learn the frequencies :math:`n \pi / r_c` (initialised at those values).
    dtype, device
        Of the frequency tensor (None: torch's defaults).

    Examples
    --------
    >>> basis = BesselBasis(5.0, num_basis=8)
    >>> basis(torch.tensor([1.0, 2.5])).shape
    torch.Size([2, 8])
    >>> round(float(basis(torch.tensor([5.0])).abs().max()), 6)
    0.0
    """

    def __init__(
        self,
        r_max: float,
        num_basis: int = 8,
        trainable: bool = False,
        *,
        dtype: torch.dtype | None = None,
        device: torch.device | None = None,
    ) -> None:
        super().__init__()
        if not r_max > 0:
            raise ValueError(f"expected a positive r_max, got {r_max}")
        if num_basis < 1:
            raise ValueError(f"expected num_basis >= 1, got {num_basis}")
        self.r_max = float(r_max)
        self.num_basis = int(num_basis)
        self.prefactor = math.sqrt(2.0 / self.r_max)
        freq = torch.arange(1, num_basis + 1, dtype=torch.float64) * (math.pi / self.r_max)
        freq = freq.to(dtype=dtype if dtype is not None else torch.get_default_dtype(), device=device)
        if trainable:
            self.frequencies = torch.nn.Parameter(freq)
        else:
            self.register_buffer("frequencies", freq)

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        """``r: (...)`` distances (> 0) -> ``(..., num_basis)``."""
        r = r.unsqueeze(-1)
        return self.prefactor * torch.sin(self.frequencies * r) / r

    def extra_repr(self) -> str:
        return f"r_max={self.r_max}, num_basis={self.num_basis}"


class PolynomialCutoff(torch.nn.Module):
    r"""Smooth cutoff envelope :math:`f(x)`, :math:`x = r / r_c`: 1 at 0; value, first and second derivative
    vanish at :math:`x = 1` (so energies and forces go smoothly to zero at the cutoff).

    .. math:: f(x) = 1 - \tfrac{(p+1)(p+2)}{2} x^p + p(p+2) x^{p+1} - \tfrac{p(p+1)}{2} x^{p+2}, \quad x < 1

    and :math:`f = 0` beyond.

    Parameters
    ----------
    r_max : float
        Cutoff radius (> 0).
    p : int
        Polynomial order (>= 2; default 6).

    Examples
    --------
    >>> cut = PolynomialCutoff(4.0, p=6)
    >>> [round(v, 4) for v in cut(torch.tensor([0.0, 2.0, 4.0, 5.0])).tolist()]
    [1.0, 0.8555, 0.0, 0.0]
    """

    def __init__(self, r_max: float, p: int = 6) -> None:
        super().__init__()
        if not r_max > 0:
            raise ValueError(f"expected a positive r_max, got {r_max}")
        if p < 2:
            raise ValueError(f"expected a polynomial order p >= 2, got {p}")
        self.r_max = float(r_max)
        self.p = int(p)
        self.c0 = (p + 1) * (p + 2) / 2.0
        self.c1 = float(p * (p + 2))
        self.c2 = p * (p + 1) / 2.0

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        """``r: (...)`` -> envelope ``(...)``."""
        x = r / self.r_max
        xp = x.pow(self.p)
        f = 1.0 - self.c0 * xp + self.c1 * xp * x - self.c2 * xp * x * x
        return torch.where(x < 1.0, f, torch.zeros_like(f))

    def extra_repr(self) -> str:
        return f"r_max={self.r_max}, p={self.p}"


class RadialEmbedding(torch.nn.Module):
    """Bessel basis times the polynomial cutoff: ``(..., num_basis)`` features that vanish smoothly at
    ``r_max``.

    Parameters
    ----------
    r_max : float
        Cutoff radius in Å.
    num_basis : int
        Number of Bessel functions.
    p : int
        Order of the polynomial cutoff.
    trainable : bool
        Learn the Bessel frequencies.

    Examples
    --------
    >>> emb = RadialEmbedding(5.0, num_basis=4)
    >>> emb(torch.tensor([1.0, 4.99, 6.0])).abs().sum(-1).gt(1e-6).tolist()
    [True, False, False]
    """

    def __init__(self, r_max: float, num_basis: int = 8, p: int = 6, trainable: bool = False) -> None:
        super().__init__()
        self.basis = BesselBasis(r_max, num_basis, trainable)
        self.cutoff = PolynomialCutoff(r_max, p)
        self.num_basis = int(num_basis)

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        """``r: (...)`` -> ``(..., num_basis)``."""
        return self.basis(r) * self.cutoff(r).unsqueeze(-1)
