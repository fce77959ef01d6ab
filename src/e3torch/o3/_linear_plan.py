"""The execution plan of :class:`~e3torch.o3.Linear`: its instructions, blocks, paths and path weights.

Built once, in ``Linear.__init__``, from the irreps and instructions (everything checked here, with the error
messages); immutable; read by the executors of :mod:`e3torch.o3._linear_exec` and by the compiled operator. The
classes keep ``e3torch.o3._linear`` as their ``__module__`` (where they were defined before this module was split
off), so pickles of :class:`~e3torch.o3.Linear` are unchanged and old ones load.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import torch

from e3torch.o3._irreps import Irrep, Irreps

__all__ = ["Instruction", "LinearPlan", "LinearSlices"]

_SCALAR = Irrep(0, 1)


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
    >>> from e3torch.o3 import Linear
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


for _cls in (Instruction, LinearSlices, _Path, _Block, _Out, LinearPlan):
    _cls.__module__ = "e3torch.o3._linear"
