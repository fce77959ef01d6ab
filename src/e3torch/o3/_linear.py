"""Equivariant linear map between direct sums of irreps: :class:`Linear`.

Only equal irreps connect: each instruction ``(i_in, i_out)`` is one ``mul_in x mul_out`` weight block that
mixes the copies of ``irreps_in[i_in]`` into those of ``irreps_out[i_out]``; scalar (``0e``) outputs may carry
a bias. Weights are drawn ``N(0, 1)`` and each block is scaled by a constant path weight (``1 /
sqrt(fan_in)``), so that unit-variance inputs give unit-variance outputs, as in e3nn 0.6.0 (same instructions,
flat weight layout and state_dict).

Execution plan: on the CPU, in float32 and float64, with shared weights and no ``f_in``/``f_out``, one compiled
operator (``e3torch._kernels._linear_ops``) does the whole map: for a chunk of samples it gathers the ``(mul,
2l+1)`` rows of each input block into a packed ``(samples * (2l+1), mul)`` panel in cache, multiplies it by the
weight block (path weight folded in) with a register-blocked GEMM and scatters the result into the ``(mul, 2l+1)``
layout of the output; its backward (input and weight gradients) and double backward are the same operators.
Otherwise (other devices or dtypes, per-sample weights, ``f_in``, no compiler) the pure-torch path: every input
block is brought once into the ``(batch * (2l+1), mul)`` layout, each output block is one matrix product
(``addmm`` over its instructions, the bias fused into the first one), and the output is concatenated once (under
autograd) or each block written once into its place (without; on one thread by chunks of rows that stay in
cache). Per-sample weights use ``bmm`` in the same layout. :func:`linear_naive` is the obviously correct
``einsum`` executor kept beside them as the oracle in tests.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

import torch

from e3torch import _kernels
from e3torch._kernels import _linear_ops
from e3torch.o3._irreps import Irrep, Irreps

__all__ = ["Instruction", "Linear", "LinearPlan", "LinearSlices", "linear_naive"]

_SCALAR = Irrep(0, 1)
_KERNEL_DTYPES = (torch.float32, torch.float64)


class Instruction(NamedTuple):
    """One block of a :class:`Linear`: ``irreps_in[i_in] -> irreps_out[i_out]`` (``i_in = -1``: a bias).

    Examples
    --------
    >>> Instruction(0, 1, (2, 3), 0.5)
    Instruction(i_in=0, i_out=1, path_shape=(2, 3), path_weight=0.5)
    """

    i_in: int
    i_out: int
    path_shape: tuple
    path_weight: float


class LinearSlices(NamedTuple):
    """Where an instruction's weights sit in the flat weight vector, and their 2D shape.

    Examples
    --------
    >>> LinearSlices(slice(0, 6), (2, 3)).shape_2D
    (2, 3)
    """

    slice_1D: slice
    shape_2D: tuple


@dataclasses.dataclass(frozen=True)
class _Path:
    i_in: int
    i_out: int
    mul_in: int
    mul_out: int
    start: int  # in the flat weight vector
    stop: int
    weight: float  # the path weight, a constant


@dataclasses.dataclass(frozen=True)
class _Block:
    mul: int
    d: int  # 2 l + 1
    start: int
    stop: int


@dataclasses.dataclass(frozen=True)
class _Out:
    block: _Block
    paths: tuple[int, ...]  # indices into LinearPlan.paths that contribute (non-empty weight blocks only)
    bias: tuple[int, int] | None  # slice of the flat bias vector


@dataclasses.dataclass(frozen=True)
class LinearPlan:
    """Immutable execution plan of a :class:`Linear` (all integers and float64 constants).

    Examples
    --------
    >>> plan = Linear("2x0e + 1o", "1o").plan
    >>> plan.weight_numel, plan.bias_numel, plan.dim_in, plan.dim_out, len(plan.paths)
    (1, 0, 5, 3, 1)
    """

    f_in: int | None
    f_out: int | None
    inputs: tuple[_Block, ...]
    outputs: tuple[_Out, ...]
    paths: tuple[_Path, ...]
    weight_numel: int
    bias_numel: int
    dim_in: int
    dim_out: int


def _blocks(irreps: Irreps) -> tuple[_Block, ...]:
    out, start = [], 0
    for mul, ir in irreps:
        out.append(_Block(mul, ir.dim, start, start + mul * ir.dim))
        start += mul * ir.dim
    return tuple(out)


def _check_f(f: Any, name: str) -> int | None:
    if f is None:
        return None
    if isinstance(f, bool) or not isinstance(f, int):
        raise TypeError(f"expected {name} to be None or a positive int, got {f!r} (type {type(f).__name__})")
    if f < 1:
        raise ValueError(f"expected {name} to be None or a positive int, got {f}")
    return f


def _check_instructions(instructions: Any, irreps_in: Irreps, irreps_out: Irreps) -> list[tuple[int, int]]:
    if instructions is None:
        return [
            (i, j)
            for i, (_, ir_in) in enumerate(irreps_in)
            for j, (_, ir_out) in enumerate(irreps_out)
            if ir_in == ir_out
        ]
    result = []
    for ins in instructions:
        if not isinstance(ins, (tuple, list)) or len(ins) != 2 or not all(type(i) is int for i in ins):
            raise TypeError(f"expected each instruction to be a pair of ints (i_in, i_out), got {ins!r}")
        i, j = ins
        if not 0 <= i < len(irreps_in):
            raise ValueError(f"expected i_in in [0, {len(irreps_in)}) for irreps_in {irreps_in}, got {i}")
        if not 0 <= j < len(irreps_out):
            raise ValueError(f"expected i_out in [0, {len(irreps_out)}) for irreps_out {irreps_out}, got {j}")
        if irreps_in[i].ir != irreps_out[j].ir:
            raise ValueError(
                f"instruction ({i}, {j}) connects {irreps_in[i]} to {irreps_out[j]}: expected equal irreps, "
                f"got {irreps_in[i].ir} and {irreps_out[j].ir}"
            )
        result.append((i, j))
    return result


def _check_trailing(t: torch.Tensor, shape: tuple[int, ...], name: str) -> None:
    if t.dim() < len(shape) or tuple(t.shape[t.dim() - len(shape) :]) != shape:
        raise ValueError(f"expected {name} with trailing shape {shape}, got shape {tuple(t.shape)}")


def _check_biases(biases: Any, irreps_out: Irreps) -> list[bool]:
    if isinstance(biases, bool):
        return [biases and ir == _SCALAR for _, ir in irreps_out]
    biases = list(biases)
    if len(biases) != len(irreps_out):
        raise ValueError(
            f"expected one bias flag per term of irreps_out {irreps_out} ({len(irreps_out)}), "
            f"got {len(biases)}"
        )
    for flag, (mul, ir) in zip(biases, irreps_out):
        if not isinstance(flag, bool):
            raise TypeError(f"expected biases to be bools, got {flag!r} (type {type(flag).__name__})")
        if flag and ir != _SCALAR:
            raise ValueError(f"expected biases only on 0e outputs, got a bias on {mul}x{ir}")
    return biases


def _path_weights(
    pairs: list[tuple[int, int]], irreps_in: Irreps, f_in: int, normalization: str
) -> list[float]:
    def inv_sqrt(n: int) -> float:
        return n**-0.5 if n > 0 else 1.0

    if normalization == "element":
        fan = {}
        for i, j in pairs:
            fan[j] = fan.get(j, 0) + f_in * irreps_in[i].mul
        return [inv_sqrt(fan[j]) for _, j in pairs]
    count = {}
    for _, j in pairs:
        count[j] = count.get(j, 0) + 1
    return [inv_sqrt(f_in * irreps_in[i].mul * count[j]) for i, j in pairs]


def _make_plan(
    irreps_in: Irreps,
    irreps_out: Irreps,
    f_in: int | None,
    f_out: int | None,
    pairs: list[tuple[int, int]],
    bias_flags: list[bool],
    normalization: str,
) -> tuple[LinearPlan, list[Instruction]]:
    weights = _path_weights(pairs, irreps_in, f_in or 1, normalization)
    paths, instructions, offset = [], [], 0
    for (i, j), w in zip(pairs, weights):
        mi, mo = irreps_in[i].mul, irreps_out[j].mul
        paths.append(_Path(i, j, mi, mo, offset, offset + mi * mo, w))
        instructions.append(Instruction(i, j, (mi, mo), w))
        offset += mi * mo
    bias_slices, boffset = {}, 0
    for j, flag in enumerate(bias_flags):
        if flag:
            instructions.append(Instruction(-1, j, (irreps_out[j].mul,), 1.0))
            bias_slices[j] = (boffset, boffset + irreps_out[j].mul)
            boffset += irreps_out[j].mul
    outs = []
    for j, block in enumerate(_blocks(irreps_out)):
        used = tuple(k for k, p in enumerate(paths) if p.i_out == j and p.mul_in * p.mul_out > 0)
        bias = bias_slices.get(j) if block.mul > 0 else None
        outs.append(_Out(block, used, bias))
    dims = (irreps_in.dim, irreps_out.dim)
    plan = LinearPlan(f_in, f_out, _blocks(irreps_in), tuple(outs), tuple(paths), offset, boffset, *dims)
    return plan, instructions


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


class Linear(torch.nn.Module):
    r"""Linear map equivariant to :math:`O(3)`, between two direct sums of irreps.

    Parameters
    ----------
    irreps_in : Irreps or str
        Input representation.
    irreps_out : Irreps or str
        Output representation.
    f_in, f_out : int, optional
        Extra channel dimensions (given together): the input is ``(..., f_in, dim_in)``, the output ``(...,
        f_out, dim_out)``, the weights ``(f_in, f_out, weight_numel)`` and the fan-in is multiplied by
        ``f_in``.
    internal_weights : bool, optional
        Whether the module holds its weights (default: ``True`` unless ``shared_weights=False``).
    shared_weights : bool, optional
        Whether one set of weights serves the whole batch (default ``True``). If ``False``, ``forward`` takes
        per-sample weights ``(..., weight_numel)``.
    instructions : list of (int, int), optional
        Pairs ``(i_in, i_out)`` of terms with equal irreps to connect (default: all such pairs).
    biases : bool or list of bool
        A bias on every ``0e`` output (``True``) or per term of ``irreps_out``.
    path_normalization : {"element", "path"}
        ``"element"``: each output gets path weight ``1 / sqrt(sum of f_in * mul_in over its inputs)``;
        ``"path"``: ``1 / sqrt(f_in * mul_in * number of paths into the output)`` per path.
    _optimize_einsums : bool, optional
        Accepted for compatibility with e3nn; ignored.

    Attributes
    ----------
    weight_numel, bias_numel : int
        Number of weights and biases (per ``(f_in, f_out)`` pair / per ``f_out``).
    instructions : list of Instruction
        Weight instructions, then one ``Instruction(-1, i_out, (mul,), 1.0)`` per bias.
    output_mask : torch.Tensor
        ``(dim_out,)``: 1 where the output can be non-zero.

    Examples
    --------
    >>> lin = Linear("0e + 1o", "2x0e + 2x1o")
    >>> lin
    Linear(1x0e+1x1o -> 2x0e+2x1o | 4 weights)
    >>> lin(torch.randn(10, 4)).shape
    torch.Size([10, 8])
    >>> Linear("4x0e + 3x0e", "4x0e + 3x0e", instructions=[(0, 0), (1, 1)]).weight_numel
    25
    """

    def __init__(
        self,
        irreps_in: Irreps | str,
        irreps_out: Irreps | str,
        *,
        f_in: int | None = None,
        f_out: int | None = None,
        internal_weights: bool | None = None,
        shared_weights: bool | None = None,
        instructions: Sequence[tuple[int, int]] | None = None,
        biases: bool | Sequence[bool] = False,
        path_normalization: str = "element",
        _optimize_einsums: bool | None = None,
    ) -> None:
        super().__init__()
        if path_normalization not in ("element", "path"):
            raise ValueError(f"expected path_normalization 'element' or 'path', got {path_normalization!r}")
        f_in, f_out = _check_f(f_in, "f_in"), _check_f(f_out, "f_out")
        if (f_in is None) != (f_out is None):
            raise ValueError(
                f"expected f_in and f_out both None or both given, got f_in={f_in}, f_out={f_out}"
            )
        if shared_weights is False and internal_weights is None:
            internal_weights = False
        internal_weights = True if internal_weights is None else internal_weights
        shared_weights = True if shared_weights is None else shared_weights
        if internal_weights and not shared_weights:
            raise ValueError(
                "expected shared_weights=True with internal_weights=True, got shared_weights=False"
            )

        self.irreps_in, self.irreps_out = Irreps(irreps_in), Irreps(irreps_out)
        pairs = _check_instructions(instructions, self.irreps_in, self.irreps_out)
        flags = _check_biases(biases, self.irreps_out)
        self.plan, self.instructions = _make_plan(
            self.irreps_in, self.irreps_out, f_in, f_out, pairs, flags, path_normalization
        )
        self.f_in, self.f_out = f_in, f_out
        self.internal_weights, self.shared_weights = internal_weights, shared_weights
        self.path_normalization, self._optimize_einsums = path_normalization, _optimize_einsums
        self.weight_numel, self.bias_numel = self.plan.weight_numel, self.plan.bias_numel

        f_shape = () if f_in is None else (f_in, f_out)
        if internal_weights and self.weight_numel > 0:
            self.weight = torch.nn.Parameter(torch.randn(f_shape + (self.weight_numel,)))
        else:
            self.register_buffer("weight", torch.Tensor())
        if internal_weights and self.bias_numel > 0:
            self.bias = torch.nn.Parameter(torch.zeros(f_shape[1:] + (self.bias_numel,)))
        else:
            self.register_buffer("bias", torch.Tensor())
        mask = torch.zeros(self.plan.dim_out)
        for out in self.plan.outputs:
            if out.paths or out.bias is not None:
                mask[out.block.start : out.block.stop] = 1.0
        self.register_buffer("output_mask", mask)
        self._setup_kernel()

    def _setup_kernel(self) -> None:
        """Precompute what the compiled path needs: its path table and the places of the biases."""
        plan = self.plan
        self._dim_in, self._dim_out = plan.dim_in, plan.dim_out
        self._zero = not any(out.paths or out.bias is not None for out in plan.outputs)
        self._use_kernel = plan.f_in is None and _kernels.kernels_available("linear")
        if self._use_kernel:
            rows = [
                (plan.inputs[p.i_in].start, p.mul_in, plan.outputs[p.i_out].block.start, p.mul_out,
                 plan.inputs[p.i_in].d, p.start, p.weight)
                for p in plan.paths
            ]  # fmt: skip
            self.register_buffer("_kernel_table", _linear_ops.path_table(rows), persistent=False)
            index = [
                out.block.start + c
                for out in plan.outputs
                if out.bias is not None
                for c in range(out.block.mul)
            ]
            self.register_buffer("_bias_index", torch.tensor(index, dtype=torch.int64), persistent=False)

    def __setstate__(self, state: dict) -> None:
        # A Linear unpickled in another process loads (or, without a compiler, gives up) the kernels there.
        super().__setstate__(state)
        if "_use_kernel" not in state:  # pickled before the kernels existed: plan them now
            self._setup_kernel()
        elif self._use_kernel and not _kernels.kernels_available("linear"):
            self._use_kernel = False

    @property
    def weight_index_slices(self) -> list[LinearSlices]:
        """Slices of the flat weight (then bias, continuing the offset) per instruction, with the block shape.

        Examples
        --------
        >>> Linear("2x0e", "3x0e", biases=True).weight_index_slices
        [LinearSlices(slice_1D=slice(0, 6, None), shape_2D=(2, 3)),
         LinearSlices(slice_1D=slice(6, 9, None), shape_2D=(3,))]
        """
        result, offset = [], 0
        for ins in self.instructions:
            result.append(LinearSlices(slice(offset, offset + math.prod(ins.path_shape)), ins.path_shape))
            offset += math.prod(ins.path_shape)
        return result

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.irreps_in} -> {self.irreps_out} | {self.weight_numel} weights)"

    def _resolve_weight(self, weight: torch.Tensor | None) -> torch.Tensor:
        if weight is None:
            if not self.internal_weights:
                raise ValueError("expected a weight argument: this Linear has internal_weights=False")
            return self.weight
        if not isinstance(weight, torch.Tensor):
            raise TypeError(f"expected weight to be a torch.Tensor, got {type(weight).__name__}")
        return weight

    def weight_view_for_instruction(
        self, instruction: int, weight: torch.Tensor | None = None
    ) -> torch.Tensor:
        """View of the weights of one (weight) instruction: ``(..., [f_in, f_out,] mul_in, mul_out)``.

        Parameters
        ----------
        instruction : int
            Index into ``instructions`` (a weight instruction, not a bias).
        weight : torch.Tensor, optional
            Weights as passed to ``forward`` (default: the internal weights).

        Returns
        -------
        torch.Tensor
            A view of the weights of that instruction.

        Examples
        --------
        >>> Linear("2x0e + 1o", "3x0e + 1o").weight_view_for_instruction(0).shape
        torch.Size([2, 3])
        """
        if not 0 <= instruction < len(self.plan.paths):
            raise ValueError(
                f"expected a weight instruction index in [0, {len(self.plan.paths)}), got {instruction}"
            )
        weight = self._resolve_weight(weight)
        path = self.plan.paths[instruction]
        return weight[..., path.start : path.stop].unflatten(-1, (path.mul_in, path.mul_out))

    def weight_views(
        self, weight: torch.Tensor | None = None, yield_instruction: bool = False
    ) -> Iterator[Any]:
        """Iterate over the weight views of all weight instructions.

        Parameters
        ----------
        weight : torch.Tensor, optional
            Weights as passed to ``forward`` (default: the internal weights).
        yield_instruction : bool
            Also yield the instruction index and the :class:`Instruction`.

        Yields
        ------
        torch.Tensor or (int, Instruction, torch.Tensor)
            The view (see :meth:`weight_view_for_instruction`), with its index and instruction if asked.

        Examples
        --------
        >>> [w.shape for w in Linear("2x0e + 1o", "3x0e + 1o").weight_views()]
        [torch.Size([2, 3]), torch.Size([1, 1])]
        """
        for k in range(len(self.plan.paths)):
            view = self.weight_view_for_instruction(k, weight)
            yield (k, self.instructions[k], view) if yield_instruction else view

    def forward(
        self, features: torch.Tensor, weight: torch.Tensor | None = None, bias: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Apply the linear map.

        Parameters
        ----------
        features : torch.Tensor
            ``(..., [f_in,] irreps_in.dim)``.
        weight : torch.Tensor, optional
            ``(weight_numel,)`` shared, or ``(..., weight_numel)`` per sample (``shared_weights=False``); with
            ``f_in``, ``([...,] f_in, f_out, weight_numel)``. Required if ``internal_weights=False``.
        bias : torch.Tensor, optional
            ``([...,] [f_out,] bias_numel)``; required if ``internal_weights=False`` and ``bias_numel > 0``.

        Returns
        -------
        torch.Tensor
            ``(..., [f_out,] irreps_out.dim)``.

        Examples
        --------
        >>> lin = Linear("1o", "2x1o", shared_weights=False)
        >>> lin(torch.randn(5, 3), torch.randn(5, 2)).shape
        torch.Size([5, 6])
        """
        if self._use_kernel and weight is None and bias is None and self.internal_weights:
            # the common case, checked with as little work per call as possible
            w = self.weight
            if (
                isinstance(features, torch.Tensor)
                and features.dim() > 0
                and features.shape[-1] == self._dim_in
                and features.dtype == w.dtype
                and features.dtype in _KERNEL_DTYPES
                and features.device.type == "cpu"
                and w.device.type == "cpu"
            ):
                return self._forward_kernel(features, w, self.bias if self.bias_numel else None)
        plan = self.plan
        nf = 0 if plan.f_in is None else 1
        if not isinstance(features, torch.Tensor):
            raise TypeError(f"expected features to be a torch.Tensor, got {type(features).__name__}")
        expect = (plan.dim_in,) if nf == 0 else (plan.f_in, plan.dim_in)
        if features.dim() < len(expect) or tuple(features.shape[features.dim() - len(expect) :]) != expect:
            raise ValueError(
                f"expected input with trailing shape {expect} (irreps {self.irreps_in}"
                f"{'' if nf == 0 else f', f_in={plan.f_in}'}), got shape {tuple(features.shape)}"
            )
        weight = self._resolve_weight(weight)
        w_shape = (plan.weight_numel,) if nf == 0 else (plan.f_in, plan.f_out, plan.weight_numel)
        _check_trailing(weight, w_shape, "weight")
        batched = weight.dim() > len(w_shape)
        if batched and self.shared_weights:
            raise ValueError(
                f"expected shared weights of shape {w_shape} (shared_weights=True), "
                f"got shape {tuple(weight.shape)}"
            )
        if plan.bias_numel > 0:
            if bias is None:
                if not self.internal_weights:
                    raise ValueError("expected a bias argument: this Linear has internal_weights=False")
                bias = self.bias
            b_shape = (plan.bias_numel,) if nf == 0 else (plan.f_out, plan.bias_numel)
            _check_trailing(bias, b_shape, "bias")
            batched = batched or bias.dim() > len(b_shape)
        else:
            bias = None

        if (
            not batched
            and self._use_kernel
            and features.dtype == weight.dtype
            and features.dtype in _KERNEL_DTYPES
            and (bias is None or bias.dtype == features.dtype)
            and all(t.device.type == "cpu" for t in (features, weight) + (() if bias is None else (bias,)))
        ):
            return self._forward_kernel(features, weight, bias)
        x = features if nf else features.unsqueeze(-2)
        batch = x.shape[:-2]
        if batched:
            batch = torch.broadcast_shapes(batch, weight.shape[: weight.dim() - len(w_shape)])
            if bias is not None:
                batch = torch.broadcast_shapes(batch, bias.shape[: bias.dim() - (1 + nf)])
            weight = weight.reshape(
                weight.shape[: weight.dim() - len(w_shape)] + (plan.f_in or 1, plan.f_out or 1, -1)
            )
            weight = weight.expand(batch + weight.shape[-3:]).reshape((math.prod(batch),) + weight.shape[-3:])
            if bias is not None:
                bias = bias.reshape(bias.shape[: bias.dim() - (1 + nf)] + (plan.f_out or 1, -1))
                bias = bias.expand(batch + bias.shape[-2:]).reshape((math.prod(batch),) + bias.shape[-2:])
            x = x.expand(batch + x.shape[-2:])
        elif nf == 0:
            weight = weight.reshape(1, 1, -1)
            bias = None if bias is None else bias.reshape(1, -1)
        z = math.prod(batch)
        y = _linear_fast(plan, x.reshape((z,) + x.shape[-2:]), weight, bias, batched)
        y = y.reshape(batch + y.shape[-2:])
        return y if nf else y.squeeze(-2)

    def _forward_kernel(
        self, features: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None
    ) -> torch.Tensor:
        """The compiled path: ``features`` ``(..., dim_in)``, shared ``weight`` ``(weight_numel,)``, ``bias``
        ``(bias_numel,)`` or None; dtypes and devices already checked."""
        dim_out = self._dim_out
        if self._zero:  # no instruction and no bias: a constant zero (no graph, as on the torch path)
            return features.new_zeros(features.shape[:-1] + (dim_out,))
        two_d = features.dim() == 2
        x = features if two_d else features.reshape(math.prod(features.shape[:-1]), self._dim_in)
        y = torch.ops.e3torch_linear.forward.default(x, weight, self._kernel_table, dim_out, False)
        if bias is not None:
            y = y + bias.new_zeros(dim_out).index_copy(0, self._bias_index, bias.reshape(-1))
        return y if two_d else y.reshape(features.shape[:-1] + (dim_out,))
