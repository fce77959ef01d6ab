"""Projection of a scalar on a family of smooth, localized basis functions spread over an interval."""

from __future__ import annotations

import math
from typing import Optional

import numpy as np
import torch

from e3torch.math._soft_unit_step import soft_unit_step

__all__ = ["soft_one_hot_linspace"]

_BASES = ("gaussian", "cosine", "smooth_finite", "fourier", "bessel")

# The smooth_finite prefactor 1.14136 e^2. e3nn evaluates it in torch's default dtype, so for bit-compatibility its
# value is rounded the same way (the float32 value differs from the exact one by ~8e-8, relatively).
_SMOOTH_FINITE = {
    torch.float64: 1.14136 * math.exp(2.0),
    torch.float32: float(np.float32(1.14136) * np.float32(math.exp(2.0))),
    torch.float16: float(np.float16(1.14136) * np.float16(math.exp(2.0))),
}
_NEEDS_STEP = ("gaussian", "cosine", "smooth_finite")


def soft_one_hot_linspace(
    x: torch.Tensor,
    start: float,
    end: float,
    number: int,
    basis: Optional[str] = None,
    cutoff: Optional[bool] = None,
) -> torch.Tensor:
    r"""Projection on a basis of functions.

    Returns :math:`\{y_i(x)\}_{i=1}^N` with :math:`y_i(x) = \frac{1}{Z} f_i(x)`, where :math:`f_i` is the
    :math:`i`-th basis function and the constant :math:`Z` is chosen (where possible) such that
    :math:`\langle \sum_{i=1}^N y_i(x)^2 \rangle_x \approx 1`.

    The centers are ``linspace(start, end, number)`` when ``cutoff=False``; when ``cutoff=True`` they are the
    ``number`` interior points of ``linspace(start, end, number + 2)``, so that every function vanishes outside
    ``(start, end)``. With :math:`d = (x - \mathrm{center}_i) / \mathrm{step}`:

    - ``gaussian``: :math:`e^{-d^2} / 1.12`
    - ``cosine``: :math:`\cos(\pi d / 2)` for :math:`|d| < 1`, else 0
    - ``smooth_finite``: :math:`1.14136\, e^2\, u(d + 1)\, u(1 - d)` with :math:`u` = :func:`soft_unit_step`;
      like e3nn, the prefactor is rounded to torch's default dtype
    - ``fourier``: with :math:`t = (x - \mathrm{start}) / (\mathrm{end} - \mathrm{start})`,
      :math:`\cos(\pi i t)` for :math:`i = 0..N-1` (no cutoff) or :math:`\sin(\pi i t)\, [0 < t < 1]` for
      :math:`i = 1..N` (cutoff), divided by :math:`\sqrt{1/4 + N/2}`
    - ``bessel``: with :math:`r = x - \mathrm{start}`, :math:`c = \mathrm{end} - \mathrm{start}`,
      :math:`\sqrt{2/c}\, \sin(i \pi r / c) / r` for :math:`i = 1..N` (times :math:`[0 < r < c]` with cutoff).
      Because of the :math:`1/r` factor it is not normalized like the others, and it is NaN at ``x == start``
      (as in e3nn).

    Parameters
    ----------
    x : `torch.Tensor`
        tensor of shape :math:`(...)`
    start : float
        minimum value spanned by the basis
    end : float
        maximum value spanned by the basis
    number : int
        number of basis functions :math:`N`
    basis : {'gaussian', 'cosine', 'smooth_finite', 'fourier', 'bessel'}
        choice of basis family (required)
    cutoff : bool
        if ``True``, all :math:`f_i(x) \approx 0` for :math:`x` outside of ``(start, end)`` (required)

    Returns
    -------
    `torch.Tensor`
        tensor of shape :math:`(..., N)`, same dtype and device as ``x``

    Examples
    --------
    >>> import torch
    >>> from e3torch.math import soft_one_hot_linspace
    >>> x = torch.tensor([0.0, 0.5, 1.0])
    >>> soft_one_hot_linspace(x, 0.0, 1.0, number=3, basis="cosine", cutoff=False).round(decimals=4) + 0.0
    tensor([[1., 0., 0.],
            [0., 1., 0.],
            [0., 0., 1.]])
    >>> soft_one_hot_linspace(x, 0.0, 1.0, number=4, basis="gaussian", cutoff=True).shape
    torch.Size([3, 4])
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"soft_one_hot_linspace expected x to be a torch.Tensor, got {type(x).__name__}")
    if basis not in _BASES:
        raise ValueError(f'basis="{basis}" is not a valid entry, expected one of {", ".join(_BASES)}')
    if cutoff is None:
        raise ValueError("cutoff must be specified (True or False), got None")
    if isinstance(number, bool) or not isinstance(number, int):
        raise TypeError(f"number must be an int, got {type(number).__name__}")
    if number < 0:
        raise ValueError(f"number must be >= 0, got {number}")
    if number == 0:
        return x.new_zeros(x.shape + (0,))

    if basis in _NEEDS_STEP:
        if cutoff:
            values = torch.linspace(start, end, number + 2, dtype=x.dtype, device=x.device)
            step = values[1] - values[0]
            values = values[1:-1]
        else:
            if number < 2:
                raise ValueError(f'basis="{basis}" with cutoff=False needs number >= 2, got number={number}')
            values = torch.linspace(start, end, number, dtype=x.dtype, device=x.device)
            step = values[1] - values[0]
        diff = (x[..., None] - values) / step

        if basis == "gaussian":
            return diff.pow(2).neg().exp().div(1.12)
        if basis == "cosine":
            return torch.cos(math.pi / 2 * diff) * (diff < 1) * (-1 < diff)
        c = _SMOOTH_FINITE.get(torch.get_default_dtype(), _SMOOTH_FINITE[torch.float64])
        return c * soft_unit_step(diff + 1) * soft_unit_step(1 - diff)

    if basis == "fourier":
        t = (x[..., None] - start) / (end - start)
        if not cutoff:
            i = torch.arange(0, number, dtype=x.dtype, device=x.device)
            return torch.cos(math.pi * i * t) / math.sqrt(0.25 + number / 2)
        i = torch.arange(1, number + 1, dtype=x.dtype, device=x.device)
        return torch.sin(math.pi * i * t) / math.sqrt(0.25 + number / 2) * (0 < t) * (t < 1)

    # bessel
    r = x[..., None] - start
    c = end - start
    roots = torch.arange(1, number + 1, dtype=x.dtype, device=x.device) * math.pi
    out = math.sqrt(2 / c) * torch.sin(roots * r / c) / r
    if not cutoff:
        return out
    return out * ((r / c) < 1) * (0 < r)
