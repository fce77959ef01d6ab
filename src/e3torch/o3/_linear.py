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

import math
from collections.abc import Iterator, Sequence
from typing import Any

import torch

from e3torch import _kernels
from e3torch._kernels import _linear_ops
from e3torch.o3._irreps import Irreps
from e3torch.o3._linear_exec import _linear_fast, linear_naive
from e3torch.o3._linear_plan import (  # _Path, _Block, _Out: named by pickles as e3torch.o3._linear.*
    Instruction,
    LinearPlan,
    LinearSlices,
    _Block,
    _check_biases,
    _check_f,
    _check_instructions,
    _check_trailing,
    _make_plan,
    _Out,
    _Path,
)

__all__ = ["Instruction", "Linear", "LinearPlan", "LinearSlices", "linear_naive"]

_KERNEL_DTYPES = (torch.float32, torch.float64)
_PICKLED_NAMES = (_Block, _Out, _Path)  # kept importable from this module for pickles made before the split


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
