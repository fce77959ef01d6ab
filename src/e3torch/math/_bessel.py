"""Radial Bessel basis :math:`\\sqrt{2/c}\\,\\sin(n \\pi x / c) / x`."""

from __future__ import annotations

import math

import torch

__all__ = ["bessel"]


def bessel(x: torch.Tensor, n: int, x_max: float = 1.0) -> torch.Tensor:
    r"""Bessel basis functions (Klicpera, Groß and Günnemann, ICLR 2020, equation 7).

    .. math::

        B_k(x) = \sqrt{\frac{2}{c}} \frac{\sin(k \pi x / c)}{x}, \qquad k = 1, \dots, n

    with :math:`c` = ``x_max``. They obey :math:`\int_0^c x^2 B_k(x) B_l(x) dx = \delta_{kl}`. At :math:`x = 0` the
    continuous limit :math:`\sqrt{2/c}\, k \pi / c` is returned (and its gradient, zero, is finite).

    Parameters
    ----------
    x : `torch.Tensor`
        input of shape :math:`(...)`
    n : int
        number of basis functions
    x_max : float
        maximum value of the input, :math:`c`

    Returns
    -------
    `torch.Tensor`
        basis functions of shape :math:`(..., n)`

    Examples
    --------
    >>> import torch
    >>> from e3torch.math import bessel
    >>> bessel(torch.tensor([0.0, 0.5]), 3).round(decimals=4) + 0.0
    tensor([[ 4.4429,  8.8858, 13.3286],
            [ 2.8284,  0.0000, -2.8284]])
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"bessel expected x to be a torch.Tensor, got {type(x).__name__}")
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"bessel expected n to be an int, got {type(n).__name__}")
    if n < 0:
        raise ValueError(f"bessel expected n >= 0, got n={n}")
    if not x_max > 0:
        raise ValueError(f"bessel expected x_max > 0, got x_max={x_max}")
    roots = torch.arange(1, n + 1, dtype=x.dtype, device=x.device) * math.pi / x_max
    arg = x[..., None] * roots
    return math.sqrt(2.0 / x_max) * roots * _sin_over(arg)


def _sin_over(a: torch.Tensor) -> torch.Tensor:
    """``sin(a) / a`` with its limit at 0; every branch is analytic so all derivatives are finite and exact."""
    small = a.abs() < 1e-3
    safe = torch.where(small, torch.ones_like(a), a)
    a2 = a * a
    series = 1 - a2 / 6 * (1 - a2 / 20 * (1 - a2 / 42))
    return torch.where(small, series, torch.sin(safe) / safe)
