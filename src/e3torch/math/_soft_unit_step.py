"""The smooth unit step :math:`x \\mapsto \\theta(x) e^{-1/x}`."""

from __future__ import annotations

import torch

__all__ = ["soft_unit_step"]


def soft_unit_step(x: torch.Tensor) -> torch.Tensor:
    r"""Smooth :math:`C^\infty` version of the unit step function.

    .. math::

        x \mapsto \theta(x) e^{-1/x}

    The gradient is exact everywhere (it is :math:`e^{-1/x} / x^2` for :math:`x > 0` and zero elsewhere) and the
    function is twice differentiable with ``torch.autograd``; no NaN appears at :math:`x \le 0`.

    Parameters
    ----------
    x : `torch.Tensor`
        tensor of shape :math:`(...)`

    Returns
    -------
    `torch.Tensor`
        tensor of shape :math:`(...)`, same dtype and device as ``x``

    Examples
    --------
    >>> import torch
    >>> from e3torch.math import soft_unit_step
    >>> soft_unit_step(torch.tensor([-1.0, 0.0, 0.5, 2.0])).round(decimals=4)
    tensor([0.0000, 0.0000, 0.1353, 0.6065])
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"soft_unit_step expected a torch.Tensor, got {type(x).__name__}")
    positive = x > 0
    # evaluate exp(-1/x) only where it is finite, so that the masked branch carries no NaN gradient
    safe = torch.where(positive, x, torch.ones_like(x))
    return torch.where(positive, torch.exp(-1.0 / safe), torch.zeros_like(x))
