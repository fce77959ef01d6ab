"""The pure-torch executors of a :class:`~e3torch.o3._linear_plan.LinearPlan`.

:func:`linear_naive` is the obviously correct ``einsum`` executor kept as the oracle in tests; ``_linear_fast`` is
the pure-torch fast path of :class:`~e3torch.o3.Linear` (every input block brought once into the ``(batch *
(2l+1), mul)`` layout, one ``addmm`` per output block, ``bmm`` for per-sample weights). The compiled operator is
in :mod:`e3torch._kernels._linear_ops`.
"""

from __future__ import annotations

import math

import torch

from e3torch.o3._linear_plan import LinearPlan, _Block, _Path

__all__ = ["linear_naive"]

def _weight_block(plan: LinearPlan, path: _Path, weight: torch.Tensor, batched: bool) -> torch.Tensor:
    """Path block of ``weight`` ``(Z?, fi, fo, numel)`` as ``(Z?, fi * mul_in, fo * mul_out)``, scaled."""
    fi, fo = plan.f_in or 1, plan.f_out or 1
    w = weight[..., path.start : path.stop]
    if batched:
        w = w.reshape(-1, fi, fo, path.mul_in, path.mul_out).permute(0, 1, 3, 2, 4)
        w = w.reshape(-1, fi * path.mul_in, fo * path.mul_out)
    else:
        w = w.reshape(fi, fo, path.mul_in, path.mul_out).permute(0, 2, 1, 3).reshape(fi * path.mul_in, -1)
    return w * path.weight


def _blocks_of(
    plan: LinearPlan, x: torch.Tensor, wblocks: list[torch.Tensor], bias: torch.Tensor | None, batched: bool
) -> list[tuple[_Block, torch.Tensor | None]]:
    """Every output block of ``x`` ``(Z, fi, dim_in)`` as a ``(Z, fo, mul, d)`` view (None: no contribution).

    ``wblocks[k]``: the scaled weight block of path ``k`` (only non-empty paths are used).
    """
    z, fi, fo = x.shape[0], plan.f_in or 1, plan.f_out or 1
    sizes = [b.stop - b.start for b in plan.inputs]
    pieces = torch.split(x, sizes, dim=-1) if len(sizes) > 1 else (x,)
    cache: dict[int, torch.Tensor] = {}

    # (Z*d, fi*mul) or, batched, (Z, d, fi*mul): one copy per input block
    def transposed(i: int) -> torch.Tensor:
        if i not in cache:
            b = plan.inputs[i]
            t = pieces[i].reshape(z, fi, b.mul, b.d).permute(0, 3, 1, 2)
            cache[i] = t.reshape(z, b.d, fi * b.mul) if batched else t.reshape(z * b.d, fi * b.mul)
        return cache[i]

    results = []
    for out in plan.outputs:
        b = out.block
        if b.mul == 0:
            continue
        acc = None
        if out.bias is not None and bias is not None:
            acc = bias[..., out.bias[0] : out.bias[1]]  # (fo, mul) or batched (Z, fo, mul)
            acc = acc.reshape(z, 1, fo * b.mul) if batched else acc.reshape(fo * b.mul)
        for k in out.paths:
            xt, w = transposed(plan.paths[k].i_in), wblocks[k]
            if batched:
                acc = torch.bmm(xt, w) if acc is None else torch.baddbmm(acc, xt, w)
            else:
                acc = torch.mm(xt, w) if acc is None else torch.addmm(acc, xt, w)
        if acc is not None and b.d == 1:
            acc = acc.reshape(-1, fo * b.mul).expand(z, fo * b.mul).reshape(z, fo, b.mul, 1)
        elif acc is not None:
            acc = acc.reshape(z, b.d, fo, b.mul).permute(0, 2, 3, 1)
        results.append((b, acc))
    return results


def _chunk_rows(plan: LinearPlan, z: int) -> int:
    """Rows per chunk without autograd, on one thread: the widest transposed block of a chunk stays in cache
    (~512 KB), at most 4 chunks. With several threads (each op synchronizes them) or under compilation: one
    chunk; measured here, the extra synchronizations then cost more than the cache reuse gains."""
    if torch.compiler.is_compiling() or torch.get_num_threads() > 1:  # (this order: compilable)
        return z
    width = max([b.stop - b.start for b in plan.inputs + tuple(o.block for o in plan.outputs)] + [1])
    width *= max(plan.f_in or 1, plan.f_out or 1)
    return max(32, 2 ** round(math.log2(max(1.0, 131072 / width))), -(-z // 4))


def _linear_fast(
    plan: LinearPlan, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, batched: bool
) -> torch.Tensor:
    """``x``: ``(Z, fi, dim_in)``; weight ``(fi, fo, numel)`` or, if batched, ``(Z, fi, fo, numel)``."""
    z, fo = x.shape[0], plan.f_out or 1
    wblocks = [
        _weight_block(plan, p, weight, batched) if p.mul_in * p.mul_out else weight for p in plan.paths
    ]
    needs_grad = x.requires_grad or weight.requires_grad or (bias is not None and bias.requires_grad)
    if torch.is_grad_enabled() and needs_grad:  # autograd: one concatenation (its backward is free)
        parts = [
            x.new_zeros(z, fo, b.mul * b.d) if acc is None else acc.reshape(z, fo, b.mul * b.d)
            for b, acc in _blocks_of(plan, x, wblocks, bias, batched)
        ]
        if not parts:
            return x.new_zeros(z, fo, plan.dim_out)
        return torch.cat(parts, dim=-1) if len(parts) > 1 else parts[0]
    # no autograd: each block written once, into place (on one thread by chunks of rows that stay in cache)
    y = x.new_empty(z, fo, plan.dim_out)
    rows = z if batched else _chunk_rows(plan, z)
    for s in range(0, z, rows) if z > rows else [0]:
        xs = x if z <= rows else x[s : s + rows]
        ys = y if z <= rows else y[s : s + rows]
        for b, acc in _blocks_of(plan, xs, wblocks, bias, batched):
            dst = ys[:, :, b.start : b.stop].unflatten(-1, (b.mul, b.d))
            dst.zero_() if acc is None else dst.copy_(acc)
    return y


def linear_naive(
    plan: LinearPlan, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None
) -> torch.Tensor:
    """Reference executor of a :class:`LinearPlan`: one ``einsum`` per instruction, no layout tricks.

    Parameters
    ----------
    plan : LinearPlan
        The plan, e.g. ``Linear(...).plan``.
    x : torch.Tensor
        ``(..., [f_in,] dim_in)``.
    weight : torch.Tensor
        ``(..., [f_in, f_out,] weight_numel)``, broadcast against the batch of ``x``.
    bias : torch.Tensor, optional
        ``(..., [f_out,] bias_numel)``.

    Returns
    -------
    torch.Tensor
        ``(..., [f_out,] dim_out)``.

    Examples
    --------
    >>> from e3torch.o3 import Linear
    >>> lin = Linear("2x0e + 1o", "0e + 1o")
    >>> x = torch.randn(4, 5)
    >>> torch.allclose(linear_naive(lin.plan, x, lin.weight), lin(x), atol=1e-6)
    True
    """
    if plan.f_in is None:
        x, weight = x.unsqueeze(-2), weight.unsqueeze(-2).unsqueeze(-2)
        bias = None if bias is None else bias.unsqueeze(-2)
    outs = []
    for out in plan.outputs:
        b = out.block
        shape = torch.broadcast_shapes(x.shape[:-2], weight.shape[:-3])
        y = x.new_zeros(shape + (weight.shape[-2], b.mul, b.d))
        for path in plan.paths:
            if plan.outputs[path.i_out] is not out:
                continue
            bi = plan.inputs[path.i_in]
            xi = x[..., bi.start : bi.stop].reshape(x.shape[:-1] + (bi.mul, bi.d))
            w = weight[..., path.start : path.stop].reshape(weight.shape[:-1] + (path.mul_in, path.mul_out))
            y = y + path.weight * torch.einsum("...fud,...fguw->...gwd", xi, w)
        if out.bias is not None and bias is not None:
            y = y + bias[..., out.bias[0] : out.bias[1]].unsqueeze(-1)
        outs.append(y.reshape(y.shape[:-2] + (b.mul * b.d,)))
    y = torch.cat(outs, dim=-1)
    return y.squeeze(-2) if plan.f_in is None else y
