"""Python side of the compiled Linear: path table, fake implementations, autograd.

The C++ operators (``linear.cpp``) are

* ``e3torch_linear::forward(x, w, tab, dim, transpose)``: ``y = F(x, w)``, the equivariant linear map in
  the ``(Z, mul * (2l+1))`` layout, or (``transpose``) its adjoint ``F^T(g, w)`` (the gradient of the input);
* ``e3torch_linear::grad_weight(x, g, tab, nw)``: ``G(x, g)``, the gradient of the weights.

``<g, F(x, w)> = <F^T(g, w), x> = <G(x, g), w>`` is bilinear, so every derivative of these operators is again
one of them (with an operand replaced by the incoming gradient): their autograd formulas, registered in C++ (no
Python per call), call the same operators and are themselves differentiable to any order. This module adds the
fake implementations that ``torch.compile`` and ``torch.export`` trace with.
"""

from __future__ import annotations

import functools

import torch

__all__ = ["linear", "path_table", "register"]


def path_table(rows: list[tuple[int, int, int, int, int, int, float]]) -> torch.Tensor:
    """The ``(P, 7)`` int64 table read by the kernels.

    Parameters
    ----------
    rows : list of tuple
        ``(in_offset, mul_in, out_offset, mul_out, 2l+1, weight_offset, path_weight)`` per weight block.

    Returns
    -------
    torch.Tensor
        One row per block; the last column holds the bits of the float64 path weight, so that ``.to(dtype)``
        leaves the table exact.

    Examples
    --------
    >>> tab = path_table([(0, 2, 0, 3, 1, 0, 0.5)])
    >>> tab[:, :6].tolist(), tab[:, 6:].view(torch.float64).tolist()
    ([[0, 2, 0, 3, 1, 0]], [[0.5]])
    """
    alpha = torch.tensor([float(r[6]) for r in rows], dtype=torch.float64).view(torch.int64)
    tab = torch.tensor([list(r[:6]) for r in rows], dtype=torch.int64).reshape(len(rows), 6)
    return torch.cat([tab, alpha.unsqueeze(1)], dim=1).contiguous()


def _fake_forward(
    x: torch.Tensor, w: torch.Tensor, tab: torch.Tensor, dim: int, transpose: bool
) -> torch.Tensor:
    return x.new_empty(x.shape[0], dim)


def _fake_grad_weight(x: torch.Tensor, g: torch.Tensor, tab: torch.Tensor, nw: int) -> torch.Tensor:
    return x.new_empty(nw)


@functools.cache
def register() -> None:
    """Register the fake (meta) implementations of the Linear operators (once; their autograd is in C++).

    Examples
    --------
    >>> from e3torch._kernels import kernels_available
    >>> kernels_available("linear") in (True, False)
    True
    """
    torch.library.register_fake("e3torch_linear::forward")(_fake_forward)
    torch.library.register_fake("e3torch_linear::grad_weight")(_fake_grad_weight)


def linear(x: torch.Tensor, weight: torch.Tensor, tab: torch.Tensor, dim: int) -> torch.Tensor:
    """The map ``(Z, dim_in) -> (Z, dim)`` through the compiled operator (differentiable to any order).

    Parameters
    ----------
    x : torch.Tensor
        ``(Z, dim_in)``, CPU, float32 or float64.
    weight : torch.Tensor
        ``(weight_numel,)``, same dtype.
    tab : torch.Tensor
        The table of :func:`path_table`.
    dim : int
        Output width.

    Returns
    -------
    torch.Tensor

    Examples
    --------
    >>> from e3torch._kernels import kernels_available
    >>> if kernels_available("linear"):
    ...     tab = path_table([(0, 1, 0, 2, 3, 0, 1.0)])
    ...     y = linear(torch.ones(4, 3), torch.tensor([1.0, 2.0]), tab, 6)
    ...     print(y[0].tolist())
    ... else:
    ...     print([1.0, 1.0, 1.0, 2.0, 2.0, 2.0])
    [1.0, 1.0, 1.0, 2.0, 2.0, 2.0]
    """
    return torch.ops.e3torch_linear.forward(x, weight, tab, dim, False)
