"""The plan of a tensor product: pure, immutable data that every executor runs.

A plan lists the blocks of the three operands (e3nn's ``mul``-outer / ``m``-inner layout), and one :class:`Path` per
instruction with its connection mode, its place in the flat weight vector, its full scalar coefficient and the
nonzero Clebsch-Gordan (Wigner 3j) entries. It is built once, in float64, by :func:`build_plan`.

For a path with coefficient ``c``, CG tensor ``C`` and weights ``W``, the contribution to the output block is (the
``u < v`` pairs are taken in row-major order, ``(0, 1), (0, 2), ..., (1, 2), ...``)::

    uvw    out[w, k]        += c sum_{u v i j} W[u, v, w] x1[u, i] x2[v, j] C[i, j, k]
    uvu    out[u, k]        += c sum_{v i j}   W[u, v]    x1[u, i] x2[v, j] C[i, j, k]
    uvv    out[v, k]        += c sum_{u i j}   W[u, v]    x1[u, i] x2[v, j] C[i, j, k]
    uuw    out[w, k]        += c sum_{u i j}   W[u, w]    x1[u, i] x2[u, j] C[i, j, k]
    uuu    out[u, k]        += c sum_{i j}     W[u]       x1[u, i] x2[u, j] C[i, j, k]
    uvuv   out[u * V + v, k] += c sum_{i j}    W[u, v]    x1[u, i] x2[v, j] C[i, j, k]
    uvu<v  out[(u<v), k]    += c sum_{i j}     W[(u<v)]   x1[u, i] x2[v, j] C[i, j, k]
    u<vw   out[w, k]        += c sum_{u<v i j} W[(u<v), w] x1[u, i] x2[v, j] C[i, j, k]

Without weights ``W`` is 1 (and ``w`` has a single value for ``uuw``).

``C`` is ``wigner_3j(l1, l2, l_out, convention=wigner_3j_convention)``: the plan's CG entries already carry the sign
of the chosen convention (e3nn >= 0.5 by default, or e3nn 0.4.x), so every executor uses it without knowing of it.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import torch

from e3torch.o3._tensor_product._instruction import Instruction, normalize_instructions, num_elements
from e3torch.o3._wigner_3j import check_wigner_3j_convention, wigner_3j

__all__ = ["IRREP_NORMALIZATIONS", "PATH_NORMALIZATIONS", "Block", "Path", "TensorProductPlan", "build_plan"]

IRREP_NORMALIZATIONS: tuple[str, ...] = ("component", "norm", "none")
PATH_NORMALIZATIONS: tuple[str, ...] = ("element", "path", "none")

_CG_TOLERANCE = 1e-12


@dataclass(frozen=True)
class Block:
    """One ``(mul, ir)`` entry of an operand: ``mul`` copies of the irrep ``(l, p)`` starting at ``offset``.

    Examples
    --------
    >>> b = Block(mul=2, l=1, p=-1, offset=3)
    >>> b.dim, b.size, b.stop, b.ir
    (3, 6, 9, '1o')
    """

    mul: int
    l: int
    p: int
    offset: int

    @property
    def dim(self) -> int:
        """Dimension ``2 l + 1`` of the irrep."""
        return 2 * self.l + 1

    @property
    def size(self) -> int:
        """Number of features of the block, ``mul * dim``."""
        return self.mul * self.dim

    @property
    def stop(self) -> int:
        """End (exclusive) of the block in the flat feature dimension."""
        return self.offset + self.size

    @property
    def ir(self) -> str:
        """The irrep as a string, e.g. ``'1o'``."""
        return f"{self.l}{'e' if self.p == 1 else 'o'}"


@dataclass(frozen=True)
class Path:
    """One instruction of the plan.

    Examples
    --------
    >>> p = Path(0, 0, 0, "uvw", True, 0, (1, 1, 1), 1.0, ((0, 0, 0, 1.0),))
    >>> p.weight_numel, p.nnz
    (1, 1)
    """

    i_in1: int
    i_in2: int
    i_out: int
    mode: str
    has_weight: bool
    weight_offset: int
    weight_shape: tuple[int, ...]
    coefficient: float
    cg: tuple[tuple[int, int, int, float], ...] = field(repr=False)

    @property
    def weight_numel(self) -> int:
        """Number of weights of the path (0 without weights)."""
        return math.prod(self.weight_shape) if self.has_weight else 0

    @property
    def nnz(self) -> int:
        """Number of nonzero Clebsch-Gordan entries."""
        return len(self.cg)


@dataclass(frozen=True)
class TensorProductPlan:
    """Immutable description of a tensor product: operand blocks, paths and the flat weight size.

    Examples
    --------
    >>> from e3torch.o3._irreps import Irreps
    >>> plan = build_plan(Irreps("1o"), Irreps("1o"), Irreps("0e"), [(0, 0, 0, "uvw", True)])
    >>> plan
    TensorProductPlan(3 x 3 -> 1 | 1 paths | 1 weights)
    >>> round(plan.paths[0].coefficient, 6), plan.dense_cg(plan.paths[0]).shape
    (1.0, torch.Size([3, 3, 1]))
    """

    in1: tuple[Block, ...]
    in2: tuple[Block, ...]
    out: tuple[Block, ...]
    paths: tuple[Path, ...]
    weight_numel: int
    wigner_3j_convention: str = "e3nn"

    @property
    def dim_in1(self) -> int:
        """Dimension of the first input."""
        return sum(b.size for b in self.in1)

    @property
    def dim_in2(self) -> int:
        """Dimension of the second input."""
        return sum(b.size for b in self.in2)

    @property
    def dim_out(self) -> int:
        """Dimension of the output."""
        return sum(b.size for b in self.out)

    def dense_cg(self, path: Path) -> torch.Tensor:
        """The dense float64 CG tensor ``(d1, d2, d_out)`` of ``path``, rebuilt from its nonzero entries.

        Parameters
        ----------
        path : Path
            A path of this plan.

        Returns
        -------
        torch.Tensor
            float64 tensor of shape ``(2 l1 + 1, 2 l2 + 1, 2 l_out + 1)``.

        Examples
        --------
        >>> from e3torch.o3._irreps import Irreps
        >>> plan = build_plan(Irreps("0e"), Irreps("1o"), Irreps("1o"), [(0, 0, 0, "uvw", True)])
        >>> (plan.dense_cg(plan.paths[0])[0] * 3**0.5).round(decimals=9).tolist()
        [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
        """
        shape = (self.in1[path.i_in1].dim, self.in2[path.i_in2].dim, self.out[path.i_out].dim)
        dense = torch.zeros(shape, dtype=torch.float64)
        for i, j, k, value in path.cg:
            dense[i, j, k] = value
        return dense

    def __repr__(self) -> str:
        return (
            f"TensorProductPlan({self.dim_in1} x {self.dim_in2} -> {self.dim_out} | "
            f"{len(self.paths)} paths | {self.weight_numel} weights)"
        )

    def __str__(self) -> str:
        def name(blocks: tuple[Block, ...], i: int) -> str:
            return f"{i}:{blocks[i].mul}x{blocks[i].ir}"

        rows = [("#", "in1", "in2", "out", "mode", "weights", "coefficient", "nnz")]
        for n, p in enumerate(self.paths):
            weights = f"{p.weight_offset}+{p.weight_shape}" if p.has_weight else "-"
            rows.append(
                (
                    str(n), name(self.in1, p.i_in1), name(self.in2, p.i_in2), name(self.out, p.i_out), p.mode,
                    weights, f"{p.coefficient:.6g}", str(p.nnz),
                )
            )  # fmt: skip
        widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
        lines = [repr(self)] + ["  ".join(s.ljust(w) for s, w in zip(r, widths)).rstrip() for r in rows]
        return "\n".join(lines)


def _blocks(irreps: Iterable[tuple[int, Any]]) -> tuple[Block, ...]:
    blocks, offset = [], 0
    for mul, ir in irreps:
        block = Block(int(mul), int(ir.l), int(ir.p), offset)
        blocks.append(block)
        offset = block.stop
    return tuple(blocks)


@functools.cache
def cg_entries(
    l1: int, l2: int, l3: int, convention: str = "e3nn"
) -> tuple[tuple[int, int, int, float], ...]:
    """Sorted nonzero entries ``(i, j, k, value)`` of ``wigner_3j(l1, l2, l3, convention=convention)`` in float64.

    Examples
    --------
    >>> [(i, j, k, round(v, 6)) for i, j, k, v in cg_entries(1, 1, 0)]
    [(0, 0, 0, 0.57735), (1, 1, 0, 0.57735), (2, 2, 0, 0.57735)]
    >>> cg_entries(1, 2, 2, "e3nn-0.4")[0][3] == -cg_entries(1, 2, 2)[0][3]
    True
    """
    c = wigner_3j(l1, l2, l3, dtype=torch.float64, device="cpu", convention=convention)
    nonzero = (c.abs() > _CG_TOLERANCE).nonzero().tolist()
    return tuple((i, j, k, float(c[i, j, k])) for i, j, k in nonzero)


def _variances(name: str, var: Any, n: int) -> list[float]:
    if var is None:
        return [1.0] * n
    values = [float(v) for v in (var.tolist() if isinstance(var, torch.Tensor) else var)]
    if len(values) != n:
        raise ValueError(f"{name} must have one variance per irrep: expected length {n}, got {len(values)}")
    return values


def _alpha(ins: Instruction, b1: Block, b2: Block, bo: Block, irrep_normalization: str) -> Fraction:
    if irrep_normalization == "component":
        return Fraction(bo.dim)
    if irrep_normalization == "norm":
        return Fraction(b1.dim * b2.dim)
    return Fraction(1)


def build_plan(
    irreps_in1: Sequence[tuple[int, Any]],
    irreps_in2: Sequence[tuple[int, Any]],
    irreps_out: Sequence[tuple[int, Any]],
    instructions: Iterable[Sequence[Any]],
    in1_var: Sequence[float] | torch.Tensor | None = None,
    in2_var: Sequence[float] | torch.Tensor | None = None,
    out_var: Sequence[float] | torch.Tensor | None = None,
    irrep_normalization: str | None = None,
    path_normalization: str | None = None,
    wigner_3j_convention: str = "e3nn",
) -> TensorProductPlan:
    """Validate the instructions and build the :class:`TensorProductPlan`.

    The coefficient of a path is ``sqrt(alpha * out_var[i_out] * path_weight / x)`` where ``alpha`` is
    ``d_out`` (``"component"``), ``d1 * d2`` (``"norm"``) or 1 (``"none"``), and ``x`` (when positive) is the sum of
    ``in1_var * in2_var * num_elements`` over all paths into the same output (``"element"``), that product for the
    path times the number of paths into the same output (``"path"``), or 1 (``"none"``).

    Parameters
    ----------
    irreps_in1, irreps_in2, irreps_out : sequence of ``(mul, ir)``
        The irreps (e.g. :class:`~e3torch.o3.Irreps`); each ``ir`` has attributes ``l`` and ``p``.
    instructions : iterable of tuple
        ``(i_in1, i_in2, i_out, mode, has_weight[, path_weight])`` or :class:`Instruction`.
    in1_var, in2_var, out_var : sequence of float or Tensor, optional
        Variance of each entry of the operands; default 1.
    irrep_normalization : {"component", "norm", "none"}, optional
        Default ``"component"``.
    path_normalization : {"element", "path", "none"}, optional
        Default ``"element"``.
    wigner_3j_convention : {"e3nn", "e3nn-0.4"}
        Sign convention of the Wigner 3j symbols: e3nn >= 0.5 (default) or e3nn 0.4.x (see
        :func:`~e3torch.o3._wigner_3j.wigner_3j_sign`).

    Returns
    -------
    TensorProductPlan

    Examples
    --------
    >>> from e3torch.o3._irreps import Irreps
    >>> plan = build_plan(Irreps("2x1o"), Irreps("3x1o"), Irreps("2x0e"), [(0, 0, 0, "uvu", True)])
    >>> print(plan)
    TensorProductPlan(6 x 9 -> 2 | 1 paths | 6 weights)
    #  in1    in2    out    mode  weights   coefficient  nnz
    0  0:2x1o  0:3x1o  0:2x0e  uvu   0+(2, 3)  0.57735      3
    """
    if irrep_normalization is None:
        irrep_normalization = "component"
    if path_normalization is None:
        path_normalization = "element"
    if irrep_normalization not in IRREP_NORMALIZATIONS:
        raise ValueError(
            f"irrep_normalization must be one of {IRREP_NORMALIZATIONS}, got {irrep_normalization!r}"
        )
    if path_normalization not in PATH_NORMALIZATIONS:
        raise ValueError(
            f"path_normalization must be one of {PATH_NORMALIZATIONS}, got {path_normalization!r}"
        )
    convention = check_wigner_3j_convention(wigner_3j_convention)
    in1, in2, out = _blocks(irreps_in1), _blocks(irreps_in2), _blocks(irreps_out)
    ins_list = normalize_instructions(
        [(b.mul, b) for b in in1], [(b.mul, b) for b in in2], [(b.mul, b) for b in out], instructions
    )
    var1 = _variances("in1_var", in1_var, len(in1))
    var2 = _variances("in2_var", in2_var, len(in2))
    var_out = _variances("out_var", out_var, len(out))

    def fan_in(ins: Instruction) -> Fraction:
        n = num_elements(ins.connection_mode, in1[ins.i_in1].mul, in2[ins.i_in2].mul)
        return Fraction(var1[ins.i_in1]) * Fraction(var2[ins.i_in2]) * n

    paths, offset = [], 0
    for ins in ins_list:
        b1, b2, bo = in1[ins.i_in1], in2[ins.i_in2], out[ins.i_out]
        alpha = _alpha(ins, b1, b2, bo, irrep_normalization)
        siblings = [other for other in ins_list if other.i_out == ins.i_out]
        if path_normalization == "element":
            x = sum((fan_in(other) for other in siblings), Fraction(0))
        elif path_normalization == "path":
            x = fan_in(ins) * len(siblings)
        else:
            x = Fraction(1)
        if x > 0:
            alpha /= x
        alpha *= Fraction(var_out[ins.i_out]) * Fraction(ins.path_weight)
        shape = tuple(ins.path_shape) if ins.has_weight else ()
        path = Path(
            ins.i_in1, ins.i_in2, ins.i_out, ins.connection_mode, ins.has_weight, offset if ins.has_weight else 0,
            shape, math.sqrt(alpha), cg_entries(b1.l, b2.l, bo.l, convention),
        )  # fmt: skip
        offset += path.weight_numel
        paths.append(path)
    return TensorProductPlan(in1, in2, out, tuple(paths), offset, convention)
