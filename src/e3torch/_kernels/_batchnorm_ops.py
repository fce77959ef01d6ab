"""Python side of the fused batch normalization: fake implementations and the autograd formula.

The C++ operator ``e3torch_bn::forward(x, weight, bias, running_mean, running_var, comp_channel, scalar_cols,
num_channels, component, eps, training)`` normalizes ``x`` ``(n, dim)`` in two passes (column statistics, then
the output written once) and returns ``(out, mean, field)``: the batch means of the ``0e`` components and the
biased batch second moment of every channel (empty in eval, where the running statistics are used).
``e3torch_bn::backward`` is its fused vector-Jacobian product (two passes as well). Under
``create_graph=True`` the backward is instead written with differentiable torch ops (the statistics recomputed
from ``x``), so that derivatives of any order are available; without it the fused operator runs.
"""

from __future__ import annotations

import functools
from typing import Any

import torch

__all__ = ["batch_norm", "reference", "register"]


def _fake_forward(
    x: torch.Tensor, weight: torch.Tensor | None, bias: torch.Tensor | None,
    running_mean: torch.Tensor | None, running_var: torch.Tensor | None, comp_channel: torch.Tensor,
    scalar_cols: torch.Tensor, num_channels: int, component: bool, eps: float, training: bool,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:  # fmt: skip
    num_scalar = scalar_cols.shape[0] if training else 0
    return x.new_empty(x.shape), x.new_empty(num_scalar), x.new_empty(num_channels if training else 0)


def _fake_backward(
    g: torch.Tensor, x: torch.Tensor, weight: torch.Tensor | None, mean: torch.Tensor, field: torch.Tensor,
    comp_channel: torch.Tensor, scalar_cols: torch.Tensor, num_channels: int, component: bool, eps: float,
    training: bool, need_x: bool, need_w: bool, need_b: bool,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:  # fmt: skip
    return (
        x.new_empty(x.shape if need_x else (0, 0)),
        x.new_empty(num_channels if need_w else 0),
        x.new_empty(scalar_cols.shape[0] if need_b else 0),
    )


def reference(
    x: torch.Tensor,
    weight: torch.Tensor | None,
    bias: torch.Tensor | None,
    mean: torch.Tensor | None,
    field: torch.Tensor | None,
    comp_channel: torch.Tensor,
    scalar_cols: torch.Tensor,
    num_channels: int,
    component: bool,
    eps: float,
    training: bool,
) -> torch.Tensor:
    """The normalized output with differentiable torch ops (the formula the operators evaluate).

    Parameters
    ----------
    x : torch.Tensor
        ``(n, dim)``.
    weight, bias : torch.Tensor, optional
        ``(num_channels,)`` and ``(len(scalar_cols),)``.
    mean, field : torch.Tensor, optional
        The running statistics (eval); ignored in training, where they are computed from ``x``.
    comp_channel, scalar_cols : torch.Tensor
        The channel of every component and the components of the ``0e`` copies (int64).
    num_channels : int
    component : bool
        Divide each channel's second moment by its number of components.
    eps : float
    training : bool

    Returns
    -------
    torch.Tensor
        ``(n, dim)``.

    Examples
    --------
    >>> x = torch.tensor([[1.0, 3.0, 4.0], [3.0, 0.0, 0.0]])
    >>> cc, sc = torch.tensor([0, 1, 1]), torch.tensor([0])
    >>> reference(x, None, None, None, None, cc, sc, 2, False, 0.0, True)
    tensor([[-1.0000,  0.8485,  1.1314],
            [ 1.0000,  0.0000,  0.0000]])
    """
    n, dim = x.shape
    if training:
        mean = x.index_select(1, scalar_cols).mean(0)
    xc = x - x.new_zeros(dim).index_copy(0, scalar_cols, mean) if scalar_cols.numel() else x
    if training:
        divisor = torch.bincount(comp_channel, minlength=num_channels).to(x.dtype) if component else 1.0
        field = x.new_zeros(num_channels).index_add(0, comp_channel, (xc * xc).sum(0)) / (divisor * n)
    scale = (field + eps).pow(-0.5)
    if weight is not None:
        scale = scale * weight
    out = xc * scale.index_select(0, comp_channel)
    if bias is not None:
        out = out + x.new_zeros(dim).index_copy(0, scalar_cols, bias)
    return out


def _setup_context(ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
    x, weight, bias, running_mean, running_var, comp_channel, scalar_cols = inputs[:7]
    num_channels, component, eps, training = inputs[7:]
    _, mean, field = output
    if not training:
        mean, field = running_mean, running_var
    ctx.save_for_backward(x, weight, mean, field, comp_channel, scalar_cols)
    ctx.meta = (num_channels, component, eps, training, bias is not None)
    if training:
        ctx.mark_non_differentiable(output[1], output[2])
    ctx.set_materialize_grads(False)


def _backward(ctx: Any, g: torch.Tensor | None, *_: Any) -> tuple[torch.Tensor | None, ...]:
    x, weight, mean, field, comp_channel, scalar_cols = ctx.saved_tensors
    num_channels, component, eps, training, has_bias = ctx.meta
    need_x, need_w, need_b = ctx.needs_input_grad[:3]
    need_w, need_b = need_w and weight is not None, need_b and has_bias
    none = (None,) * 8
    if g is None or not (need_x or need_w or need_b):
        return (None, None, None, *none)
    if torch.is_grad_enabled():  # create_graph: differentiable ops, statistics recomputed from x
        grad_b = g.index_select(1, scalar_cols).sum(0) if need_b else None
        wrt = [t for t, need in ((x, need_x), (weight, need_w)) if need]
        grads: list[torch.Tensor | None] = [None, None]
        if wrt:
            args = (mean, field, comp_channel, scalar_cols, num_channels, component, eps, training)
            out = reference(x, weight, None, *args)
            found = iter(torch.autograd.grad(out, wrt, g, create_graph=True))
            grads = [next(found) if need else None for need in (need_x, need_w)]
        return (grads[0], grads[1], grad_b, *none)
    gx, gw, gb = torch.ops.e3torch_bn.backward(
        g, x, weight, mean, field, comp_channel, scalar_cols, num_channels, component, eps, training,
        need_x, need_w, need_b,
    )  # fmt: skip
    return (gx if need_x else None, gw if need_w else None, gb if need_b else None, *none)


@functools.cache
def register() -> None:
    """Register the fake (meta) implementations and the autograd formula of ``e3torch_bn::forward`` (once).

    Examples
    --------
    >>> from e3torch._kernels import kernels_available
    >>> kernels_available("batchnorm") in (True, False)
    True
    """
    torch.library.register_fake("e3torch_bn::forward")(_fake_forward)
    torch.library.register_fake("e3torch_bn::backward")(_fake_backward)
    torch.library.register_autograd("e3torch_bn::forward", _backward, setup_context=_setup_context)


def batch_norm(
    x: torch.Tensor,
    weight: torch.Tensor | None,
    bias: torch.Tensor | None,
    running_mean: torch.Tensor | None,
    running_var: torch.Tensor | None,
    comp_channel: torch.Tensor,
    scalar_cols: torch.Tensor,
    num_channels: int,
    component: bool,
    eps: float,
    training: bool,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Normalize ``x`` ``(n, dim)`` through the compiled operator (differentiable to any order).

    Parameters
    ----------
    x : torch.Tensor
        ``(n, dim)``, CPU, float32 or float64.
    weight, bias : torch.Tensor, optional
        ``(num_channels,)`` and ``(len(scalar_cols),)``, same dtype.
    running_mean, running_var : torch.Tensor, optional
        The running statistics, used in eval (``training=False``).
    comp_channel, scalar_cols : torch.Tensor
        The channel of every component and the components of the ``0e`` copies (int64).
    num_channels : int
    component : bool
        Divide each channel's second moment by its number of components (else: the norm's square).
    eps : float
    training : bool
        Use (and return) the batch statistics.

    Returns
    -------
    tuple of torch.Tensor
        ``(out, mean, field)``: the output and, in training, the batch means of the ``0e`` components and the
        biased batch second moments of the channels (constants for autograd); empty in eval.

    Examples
    --------
    >>> from e3torch._kernels import kernels_available
    >>> if kernels_available("batchnorm"):
    ...     x = torch.tensor([[1.0, 3.0, 4.0], [3.0, 0.0, 0.0]])
    ...     cc, sc = torch.tensor([0, 1, 1]), torch.tensor([0])
    ...     out, mean, field = batch_norm(x, None, None, None, None, cc, sc, 2, False, 0.0, True)
    ...     print(mean, field)
    tensor([2.]) tensor([ 1.0000, 12.5000])
    """
    return torch.ops.e3torch_bn.forward(
        x, weight, bias, running_mean, running_var, comp_channel, scalar_cols, num_channels, component, eps,
        training,
    )  # fmt: skip
