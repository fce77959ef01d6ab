"""Python side of the compiled tensor product: plan encoding, fake implementation, autograd.

The C++ operator ``e3torch_tp::apply(x1, x2, g, w, tab_i, tab_f, mask, shared, weighted_only, d1, d2, d3, nw)``
evaluates, in one pass, the partial derivatives of the scalar ``Phi = <g, TP(x1, x2, w)>`` with respect to the
operands (roles 0: ``x1``, 1: ``x2``, 2: ``g``, 3: ``w``) set in ``mask``: role 2 is the product itself, the
others its transposes. It returns four tensors in role order (empty for roles not in ``mask``); with
``weighted_only`` only the paths with weights take part. Because ``Phi`` is multilinear, the derivative of the
output for role ``t`` with respect to an operand ``s`` is again such a derivative, of ``Phi`` with operand ``t``
replaced by the incoming gradient, so the autograd formula below calls the same operator and is itself
differentiable to any order.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:  # the plan types only annotate; importing them here would make a cycle with e3torch.o3
    from e3torch.o3._tensor_product._plan import Path, TensorProductPlan

__all__ = ["apply", "encode_plan", "register", "tensor_product"]

VERSION = 3
HEADER = 16
PATH_RECORD = 40
DIRECT_FOLD, DIRECT_ELEM, WEIGHT_FOLD, WEIGHT_ELEM, WEIGHT_SCALAR = 0, 1, 2, 3, 4

Entry = tuple[int, int, int, int]  # (channel of A, channel of B, channel of the target, weight index or -1)


def _pair_index(m: int) -> dict[tuple[int, int], int]:
    return {(u, v): n for n, (u, v) in enumerate((u, v) for u in range(m) for v in range(u + 1, m))}


def _layout(plan: TensorProductPlan, path: Path) -> tuple[int, int, int, list[tuple[int, list[Entry]]]]:
    """(kind, role of A, Q, groups): how the kernels walk the channels of ``path``.

    ``groups`` lists ``(b, entries)``: fold paths fold channel ``b`` of B into the CG values once per group;
    elementwise paths have one group with ``b = -1``. For weighted paths the target channel is ``q``, the row of the
    ``(Q, mul_out)`` weight matrix, and the entries carry no weight.
    """
    m1, m2 = plan.in1[path.i_in1].mul, plan.in2[path.i_in2].mul
    mode, hw = path.mode, path.has_weight
    d1, d2, d3 = plan.in1[path.i_in1].dim, plan.in2[path.i_in2].dim, plan.out[path.i_out].dim
    if mode == "uvw" and 1 in (d1, d2) and d3 <= 64:
        # A scalar input B: contracting the weights with B first costs mB + d instead of mB * d per (a, w).
        role_b = 1 if d2 == 1 else 0
        mb = (m1, m2)[role_b]
        if mb + d3 < mb * d3:
            return WEIGHT_SCALAR, 1 - role_b, (m1, m2)[1 - role_b], []
    if mode == "uvw":
        if m2 <= m1:  # fold x2 (B = x2, A = x1)
            return WEIGHT_FOLD, 0, m1 * m2, [(v, [(u, v, u * m2 + v, -1) for u in range(m1)]) for v in range(m2)]
        return WEIGHT_FOLD, 1, m1 * m2, [(u, [(v, u, u * m2 + v, -1) for v in range(m2)]) for u in range(m1)]
    if mode == "u<vw":
        pairs = _pair_index(m1)
        groups = [(u, [(v, u, pairs[u, v], -1) for v in range(u + 1, m1)]) for u in range(m1)]
        return WEIGHT_FOLD, 1, len(pairs), groups
    if mode == "uuw":
        if hw:
            return WEIGHT_ELEM, 0, m1, [(-1, [(u, u, u, -1) for u in range(m1)])]
        return DIRECT_ELEM, 0, 0, [(-1, [(u, u, 0, -1) for u in range(m1)])]
    if mode == "uuu":
        return DIRECT_ELEM, 0, 0, [(-1, [(u, u, u, u if hw else -1) for u in range(m1)])]

    def wi(index: int) -> int:
        return index if hw else -1

    if mode == "uvu":
        return DIRECT_FOLD, 0, 0, [(v, [(u, v, u, wi(u * m2 + v)) for u in range(m1)]) for v in range(m2)]
    if mode == "uvv":
        return DIRECT_FOLD, 1, 0, [(u, [(v, u, v, wi(u * m2 + v)) for v in range(m2)]) for u in range(m1)]
    if mode == "uvuv":
        if m2 <= m1:
            groups = [(v, [(u, v, u * m2 + v, wi(u * m2 + v)) for u in range(m1)]) for v in range(m2)]
            return DIRECT_FOLD, 0, 0, groups
        return DIRECT_FOLD, 1, 0, [(u, [(v, u, u * m2 + v, wi(u * m2 + v)) for v in range(m2)]) for u in range(m1)]
    if mode == "uvu<v":
        pairs = _pair_index(m1)
        groups = [(u, [(v, u, pairs[u, v], wi(pairs[u, v])) for v in range(u + 1, m1)]) for u in range(m1)]
        return DIRECT_FOLD, 1, 0, groups
    raise ValueError(f"unknown connection mode {mode!r}")


def _starts(keys: list[int], n: int) -> list[int]:
    """Group starts (length n + 1) of a list sorted by ``keys`` with values in [0, n)."""
    counts = [0] * (n + 1)
    for key in keys:
        counts[key + 1] += 1
    for i in range(n):
        counts[i + 1] += counts[i]
    return counts


def encode_plan(plan: TensorProductPlan) -> tuple[torch.Tensor, torch.Tensor]:
    """The int32 and float64 tables of ``plan`` read by the C++ kernels.

    Parameters
    ----------
    plan : TensorProductPlan

    Returns
    -------
    tuple of torch.Tensor
        ``(tab_i, tab_f)``: the int32 layout (header, one fixed record per path, variable-length lists) and the
        CG values with the path coefficients folded in.

    Examples
    --------
    >>> from e3torch.o3._tensor_product._plan import Block, Path, TensorProductPlan
    >>> cg = tuple((i, i, 0, 3 ** -0.5) for i in range(3))
    >>> plan = TensorProductPlan((Block(2, 1, -1, 0),), (Block(1, 1, -1, 0),), (Block(2, 0, 1, 0),),
    ...                          (Path(0, 0, 0, "uvu", True, 0, (2, 1), 1.0, cg),), 2)
    >>> tab_i, tab_f = encode_plan(plan)
    >>> tab_i[:7].tolist(), tab_f.shape
    ([3, 1, 6, 3, 2, 2, 2], torch.Size([3]))
    """
    data: list[int] = []
    values: list[float] = []
    records: list[list[int]] = []
    base = HEADER + PATH_RECORD * len(plan.paths)
    nwd = max_pairs = max_t = max_gt = max_da = 0

    def put(items: list[int]) -> int:
        data.extend(items)
        return base + len(data) - len(items)

    for path in plan.paths:
        kind, role_a, q, groups = _layout(plan, path)
        blocks = (plan.in1[path.i_in1], plan.in2[path.i_in2])
        ba, bb, bo = blocks[role_a], blocks[1 - role_a], plan.out[path.i_out]
        da, db, d3 = ba.dim, bb.dim, bo.dim
        cg = [((i, j) if role_a == 0 else (j, i)) + (k, v * path.coefficient) for i, j, k, v in path.cg]
        pairs = sorted({(ia, k) for ia, _, k, _ in cg}, key=lambda p: (p[1], p[0]))
        pair_of = {p: n for n, p in enumerate(pairs)}
        first = len(values)
        values.extend(v for *_, v in cg)
        nnz = [(ia, ib, k, pair_of[ia, k], first + n) for n, (ia, ib, k, _) in enumerate(cg)]
        by_k = sorted(nnz, key=lambda e: (e[2], e[0], e[1]))
        by_a = sorted(nnz, key=lambda e: (e[0], e[2], e[1]))
        by_b = sorted(nnz, key=lambda e: (e[1], e[0], e[2]))
        pia = sorted(range(len(pairs)), key=lambda n: pairs[n])
        entries: list[int] = []
        group_rows: list[int] = []
        for b, group in groups:
            group_rows += [b, len(entries) // 4, len(group)]
            for entry in group:
                entries.extend(entry)
        weighted = kind in (WEIGHT_FOLD, WEIGHT_ELEM, WEIGHT_SCALAR)
        wexp = -1
        if path.has_weight and not weighted:
            wexp, nwd = nwd, nwd + path.weight_numel
        max_pairs = max(max_pairs, len(pairs))
        max_da = max(max_da, da)
        if kind in (WEIGHT_FOLD, WEIGHT_ELEM):
            max_t, max_gt = max(max_t, q * d3), max(max_gt, d3 * bo.mul)
        scalar = [0, 0, ba.mul, bb.mul]  # weight strides of a and b, channel counts (WEIGHT_SCALAR only)
        if kind == WEIGHT_SCALAR:
            m3 = bo.mul
            scalar[:2] = [bb.mul * m3, m3] if role_a == 0 else [m3, ba.mul * m3]
        record = [
            kind, role_a, ba.offset, da, bb.offset, db, bo.offset, d3, bo.mul, q, int(path.has_weight),
            path.weight_offset, wexp, len(nnz),
            put([x for e in by_k for x in e]), put([x for e in by_a for x in e]), put([x for e in by_b for x in e]),
            put(_starts([e[2] for e in by_k], d3)), put(_starts([e[0] for e in by_a], da)),
            put(_starts([e[1] for e in by_b], db)),
            len(pairs), put([x for p in pairs for x in p]), put(_starts([p[1] for p in pairs], d3)),
            put(pia), put(_starts([pairs[n][0] for n in pia], da)),
            len(groups), put(group_rows), len(entries) // 4, put(entries), path.weight_numel, *scalar,
        ]  # fmt: skip
        records.append(record + [0] * (PATH_RECORD - len(record)))
    header = [VERSION, len(plan.paths), plan.dim_in1, plan.dim_in2, plan.dim_out, plan.weight_numel, nwd,
              max_pairs, max_t, max_gt, max_da, HEADER]  # fmt: skip
    table = header + [0] * (HEADER - len(header)) + [x for r in records for x in r] + data
    if max(table, default=0) >= 2**31:
        raise ValueError(f"tensor product too large for the kernels' int32 tables (an index reaches {max(table)})")
    return torch.tensor(table, dtype=torch.int32), torch.tensor(values, dtype=torch.float64)


Operand = torch.Tensor | None


def _fake(
    x1: Operand, x2: Operand, g: Operand, w: Operand, tab_i: torch.Tensor, tab_f: torch.Tensor, mask: int,
    shared: bool, weighted_only: bool, d1: int, d2: int, d3: int, nw: int,
) -> tuple[torch.Tensor, ...]:  # fmt: skip
    data = next(t for t in (x1, x2, g) if t is not None)
    z = data.shape[0]
    shapes = ((z, d1), (z, d2), (z, d3), (nw,) if shared else (z, nw))
    return tuple(data.new_empty(shapes[r] if (mask >> r) & 1 else (0,)) for r in range(4))


def _setup_context(ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
    x1, x2, g, w, tab_i, tab_f, mask, shared, weighted_only, d1, d2, d3, nw = inputs
    ctx.save_for_backward(x1, x2, g, w, tab_i, tab_f)
    ctx.meta = (mask, shared, weighted_only, d1, d2, d3, nw)
    ctx.set_materialize_grads(False)


def _backward(ctx: Any, *grads: Operand, _apply: Any = None) -> tuple[Operand, ...]:
    apply_op = torch.ops.e3torch_tp.apply if _apply is None else _apply
    *operands, tab_i, tab_f = ctx.saved_tensors
    mask, shared, weighted_only, d1, d2, d3, nw = ctx.meta
    result: list[torch.Tensor | None] = [None] * 4
    for t in range(4):
        if not (mask >> t) & 1 or grads[t] is None:
            continue
        # d<h_t, dPhi/dt>/ds = dPhi/ds with operand t replaced by h_t (s != t; dPhi/dt does not depend on t).
        targets = [s for s in range(4) if s != t and ctx.needs_input_grad[s] and operands[s] is not None]
        if not targets:
            continue
        args = list(operands)
        args[t] = grads[t]
        # Paths without weights do not depend on w: a derivative that goes through w sees only weighted paths.
        only = weighted_only or t == 3
        outs = apply_op(
            *args, tab_i, tab_f, sum(1 << s for s in targets), shared, only, d1, d2, d3, nw
        )
        for s in targets:
            result[s] = outs[s] if result[s] is None else result[s] + outs[s]
    return (*result, None, None, None, None, None, None, None, None, None)


@functools.lru_cache(maxsize=None)
def register() -> None:
    """Register the fake (meta) implementation and the autograd formula of ``e3torch_tp::apply`` (once).

    Examples
    --------
    >>> from e3torch._kernels import tensor_product_ops_available
    >>> tensor_product_ops_available() in (True, False)
    True
    """
    torch.library.register_fake("e3torch_tp::apply")(_fake)
    torch.library.register_autograd("e3torch_tp::apply", _backward, setup_context=_setup_context)


class _EagerApply(torch.autograd.Function):
    """``e3torch_tp::apply`` for eager autograd without the per-call cost of torch.library's generic wrapper.

    The operator's registered autograd (above) is what ``torch.compile`` and ``torch.export`` see. In eager mode
    its generic Python wrapper re-reads the 13-argument schema on every call that records a graph (hundreds of
    microseconds at MACE's sizes). This Function runs the same kernels below the autograd key and the same backward
    formula (:func:`_backward`, through this Function again, so it is differentiable to any order): same numbers,
    less overhead. Used only in eager mode outside functorch transforms (see :func:`apply`).
    """

    @staticmethod
    def forward(ctx: Any, *args: Any) -> tuple[torch.Tensor, ...]:  # type: ignore[override]
        # ctx-style forward (no setup_context): Function.apply then skips binding the arguments by signature
        with torch._C._AutoDispatchBelowAutograd():
            outputs = torch.ops.e3torch_tp.apply(*args)
        _setup_context(ctx, args, outputs)
        return outputs

    @staticmethod
    def backward(ctx: Any, *grads: Operand) -> tuple[Operand, ...]:  # type: ignore[override]
        return _backward(ctx, *grads, _apply=apply)


def apply(*args: Any) -> tuple[torch.Tensor, ...]:
    """``torch.ops.e3torch_tp.apply(*args)``, with the lighter eager path where it gives the same result.

    Under ``torch.compile``/``torch.export`` (and any other tracing) it is the registered operator itself; in eager
    mode with autograd recording it is :class:`_EagerApply`; with no gradient to record it calls the kernel
    directly, below the autograd key.

    Examples
    --------
    >>> from e3torch._kernels import tensor_product_ops_available
    >>> tensor_product_ops_available() in (True, False)
    True
    """
    if torch.compiler.is_compiling() or torch._C._are_functorch_transforms_active():
        return torch.ops.e3torch_tp.apply(*args)
    if torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in args[:4]):
        return _EagerApply.apply(*args)
    with torch._C._AutoDispatchBelowAutograd():
        return torch.ops.e3torch_tp.apply(*args)


def tensor_product(
    x1: torch.Tensor,
    x2: torch.Tensor,
    weight: torch.Tensor,
    tab_i: torch.Tensor,
    tab_f: torch.Tensor,
    dims: tuple[int, int, int, int],
) -> torch.Tensor:
    """The product ``(Z, dim_out)`` through the compiled operator (differentiable to any order).

    Parameters
    ----------
    x1, x2 : torch.Tensor
        ``(Z, dim_in1)`` and ``(Z, dim_in2)``, CPU, float32 or float64.
    weight : torch.Tensor
        ``(weight_numel,)`` or ``(Z, weight_numel)``, same dtype.
    tab_i, tab_f : torch.Tensor
        The tables of :func:`encode_plan` (``tab_f`` as float64, or viewed as int64).
    dims : tuple of int
        ``(dim_in1, dim_in2, dim_out, weight_numel)`` of the plan the tables encode.

    Returns
    -------
    torch.Tensor

    Examples
    --------
    >>> from e3torch._kernels import tensor_product_ops_available
    >>> tensor_product_ops_available() in (True, False)
    True
    """
    outputs = apply(x1, x2, None, weight, tab_i, tab_f, 1 << 2, weight.dim() == 1, False, *dims)
    return outputs[2]
