r"""Reduction of tensors with index-permutation symmetries into irreducible representations.

A tensor :math:`T_{ijk\dots}` whose indices carry representations (``i="1o"``, ...) and obey symmetries such as
``"ij=-ji"`` lives in the permutation-invariant subspace of :math:`V_i \otimes V_j \otimes \dots`. That subspace is a
direct sum of irreps; the change of basis :math:`Q` maps it to them.

Construction (all in float64, once per distinct argument set, cached). For a single index the basis is the identity,
one block per copy of each irrep. For ``f0 = f1 + k`` (the last index split off), the reduced bases of ``f1`` (with
the symmetries that fix ``k``) and of ``k`` are coupled with Clebsch-Gordan coefficients,

.. math::

    C^{(l)}_{m, AB} = \sqrt{2l + 1} \sum_{m_1 m_2} C^{l_1 l_2 l}_{m_1 m_2 m} Q^{(l_1)}_{m_1 A} Q^{(l_2)}_{m_2 B},

every candidate block is projected on the symmetric subspace (the group average of the signed permutations) and
orthonormalized by Gram-Schmidt, in generation order, against the blocks of the same irrep already kept; a block is
kept when its residual (per row) exceeds ``4 eps``. With ``filter_ir_mid`` the candidates span only part of the
space, and what is kept is the symmetric tensors inside their span (see ``_project_symmetric``). The blocks are then
sorted by irrep (stably). This reproduces
e3nn's change of basis, including the order of the copies and their signs.

The module also carries, under ``main``, the tree of two-input tensor products that expresses each output block
(e3nn 0.6.0 evaluates its forward with it; its ``state_dict`` holds their buffers). A *chain* is a leaf (one copy
of an irrep of the first index) or a coupling ``(left chain, copy of the next index, ir)``; its tensor
:math:`C = \sqrt{2l+1}\, C^{l_1 l_2 l} \cdot L \otimes R` is what :class:`~e3torch.o3.TensorProduct`
``(ir_1 x ir_2 -> ir, "uuu")`` computes, and the chains form an orthogonal basis (:math:`\langle C, C\rangle =
2l+1`). Each block is the sum of its projections on the chains with a nonzero coefficient; those chains, their
couplings and the order in which e3nn names (``tp0``, ``tp1``, ...) and registers them are what ``main`` holds.
Here the forward is one contraction with the change of basis (outer product of the inputs, one matrix product);
``main`` evaluates the same function by the tree (the naive path, used as the oracle in the tests).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import torch

from e3torch.math import germinate_formulas, perm
from e3torch.o3._irreps import Irrep, Irreps
from e3torch.o3._tensor_product import TensorProduct
from e3torch.o3._wigner_3j import wigner_3j

__all__ = ["ReducedTensorProducts"]

_Formulas = frozenset[tuple[int, tuple[int, ...]]]
_Blocks = tuple[tuple[Irrep, torch.Tensor], ...]


@dataclass(frozen=True)
class ReducedTensorProductsPlan:
    """Immutable description of a :class:`ReducedTensorProducts`.

    Attributes
    ----------
    formula : str
        the symmetry formula, e.g. ``"ij=-ji"``
    indices : str
        the indices, in order
    irreps_in : tuple of Irreps
        representation of each index
    irreps_out : Irreps
        the irreps of the reduced tensor
    dims : tuple of int
        the dimension of each index

    Examples
    --------
    >>> from e3torch.o3 import ReducedTensorProducts
    >>> ReducedTensorProducts("ij=ji", i="1o").plan.irreps_out
    1x0e+1x2e
    """

    formula: str
    indices: str
    irreps_in: tuple[Irreps, ...]
    irreps_out: Irreps
    dims: tuple[int, ...]


def _sub_formulas(formulas: _Formulas, n: int) -> _Formulas:
    """The signed permutations that fix the positions ``n..`` (restricted to ``0..n-1``)."""
    return frozenset((s, p[:n]) for s, p in formulas if all(p[k] == k for k in range(n, len(p))))


def _symmetrize(c: torch.Tensor, formulas: _Formulas) -> torch.Tensor:
    """Orthogonal projection of ``c: (m, d_1, ..., d_k)`` on the tensors obeying ``formulas`` (a group)."""
    total = torch.zeros_like(c)
    for s, p in formulas:
        total = total + s * c.permute(0, *[1 + k for k in perm.inverse(p)])
    return total / len(formulas)


def _project_symmetric(
    cs: list[torch.Tensor], formulas: _Formulas, ir: Irrep, filtered: bool
) -> list[torch.Tensor]:
    r"""Project the orthonormal candidates ``cs`` (one irrep) on the symmetric tensors within their span ``F``.

    Without an intermediate filter the symmetric projection :math:`P` maps ``F`` into itself and the projections are
    ``P c``. With one, ``F`` misses part of the symmetric space: the symmetric tensors inside ``F`` are the
    eigenvalue-1 eigenspace of :math:`M_{ij} = \langle c_i, P c_j \rangle / (2l+1)`; with :math:`\Pi` the
    projector on it, candidate ``i`` becomes :math:`\sum_j \Pi_{ij} c_j` (equal to ``P c_i`` when ``F`` is stable).
    """
    projected = [_symmetrize(c, formulas) for c in cs]
    if not filtered:
        return projected
    stack, pstack = torch.stack(cs), torch.stack(projected)
    m = torch.einsum("i...,j...->ij", stack, pstack) / ir.dim
    values, vectors = torch.linalg.eigh((m + m.T) / 2)
    keep = vectors[:, values > 1 - 1e-9]
    pi = keep @ keep.T
    return list(torch.einsum("ij,j...->i...", pi, stack))


def _base_blocks(irreps: Irreps, keep: frozenset[Irrep] | None, eps: float) -> list[tuple[Irrep, torch.Tensor]]:
    out = []
    if not 1.0 > 4 * eps:
        return out
    for (mul, ir), sl in zip(irreps, irreps.slices()):
        if keep is not None and ir not in keep:
            continue
        for u in range(mul):
            q = torch.zeros(ir.dim, irreps.dim, dtype=torch.float64)
            start = sl.start + u * ir.dim
            q[:, start : start + ir.dim] = torch.eye(ir.dim, dtype=torch.float64)
            out.append((ir, q))
    return out


@functools.lru_cache(maxsize=128)
def _reduce(
    formulas: _Formulas,
    irreps: tuple[Irreps, ...],
    filter_ir_out: frozenset[Irrep] | None,
    filter_ir_mid: frozenset[Irrep] | None,
    eps: float,
    top: bool,
) -> _Blocks:
    """Orthonormal equivariant blocks ``(ir, Q: (ir.dim, d_1, ..., d_k))`` of the symmetric tensors (float64)."""
    n = len(irreps)
    if n == 1:
        return tuple(_base_blocks(irreps[0], filter_ir_out if top else None, eps))
    dims = tuple(i.dim for i in irreps)
    left = _reduce(_sub_formulas(formulas, n - 1), irreps[:-1], None, filter_ir_mid, eps, False)
    right = _reduce(frozenset({(1, (0,))}), irreps[-1:], None, filter_ir_mid, eps, False)
    trivial = len(formulas) == 1
    candidates: dict[Irrep, list[torch.Tensor]] = {}
    for ir1, q1 in left:
        a = q1.reshape(ir1.dim, -1)
        for ir2, q2 in right:
            for ir in ir1 * ir2:
                if filter_ir_mid is not None and ir not in filter_ir_mid:
                    continue
                if top and filter_ir_out is not None and ir not in filter_ir_out:
                    continue
                w = wigner_3j(ir1.l, ir2.l, ir.l, dtype=torch.float64) * math.sqrt(ir.dim)
                c = torch.einsum("ijk,iA,jB->kAB", w, a, q2).reshape((ir.dim,) + dims)
                candidates.setdefault(ir, []).append(c)
    found: dict[Irrep, list[torch.Tensor]] = {}
    for ir, cs in candidates.items():
        if not trivial:
            cs = _project_symmetric(cs, formulas, ir, filtered=filter_ir_mid is not None)
        for c in cs:
            for b in found.get(ir, []):
                c = c - (c * b).sum() / ir.dim * b
            norm = c.norm() / math.sqrt(ir.dim)
            if norm > 4 * eps:
                found.setdefault(ir, []).append(c / norm)
    return tuple((ir, q) for ir in sorted(found) for q in found[ir])


def _parse_filter(name: str, value: Iterable | None) -> frozenset[Irrep] | None:
    if value is None:
        return None
    if isinstance(value, (str, Irrep, Irreps)) or not hasattr(value, "__iter__"):
        raise ValueError(f"{name} (={value}) must be an iterable of Irrep (e.g. ['0e', '2e']), got {type(value).__name__}")
    out = []
    for x in value:
        if isinstance(x, Irreps):
            raise ValueError(f"{name} (={value}) must be an iterable of Irrep, got an Irreps entry {x}")
        out.append(Irrep(x))
    return frozenset(out)


def _index_irreps(f0: str, formulas: _Formulas, given: dict[str, object]) -> dict[str, Irreps]:
    for c in given:
        if c not in f0:
            raise ValueError(f"index {c} has an irreps but does not appear in the formula {f0!r}")
    known = {c: Irreps(v) for c, v in given.items()}
    changed = True
    while changed:
        changed = False
        for _, p in formulas:
            for i, j in enumerate(p):
                a, b = f0[i], f0[j]
                if a in known and b in known:
                    if known[a] != known[b]:
                        a, b = sorted((a, b), key=f0.index)
                        raise ValueError(
                            f"irreps of {a} and {b} should be the same (the formula exchanges them), "
                            f"got {a}={known[a]} and {b}={known[b]}"
                        )
                elif a in known or b in known:
                    known[a] = known[b] = known[a] if a in known else known[b]
                    changed = True
    for c in f0:
        if c not in known:
            raise ValueError(f"index {c} has no irreps associated to it (pass {c}=<irreps>)")
    return known


@functools.lru_cache(maxsize=128)
def _change_of_basis(
    formula: str,
    irreps: tuple[tuple[str, Irreps], ...],
    filter_ir_out: frozenset[Irrep] | None,
    filter_ir_mid: frozenset[Irrep] | None,
    eps: float,
) -> tuple[str, tuple[Irreps, ...], Irreps, torch.Tensor, _TreePlan]:
    f0, formulas = germinate_formulas(formula)
    if len(f0) == 0:
        raise ValueError(f"expected a formula with at least one index, got {formula!r}")
    known = _index_irreps(f0, frozenset(formulas), dict(irreps))
    irreps_in = tuple(known[c] for c in f0)
    blocks = _reduce(frozenset(formulas), irreps_in, filter_ir_out, filter_ir_mid, float(eps), True)
    if not blocks:
        raise ValueError(
            f"ReducedTensorProducts({formula!r}) has no output irreps (irreps {dict(irreps)}, filter_ir_out="
            f"{None if filter_ir_out is None else sorted(filter_ir_out)}, filter_ir_mid="
            f"{None if filter_ir_mid is None else sorted(filter_ir_mid)}, eps={eps})"
        )
    irreps_out = Irreps([(1, ir) for ir, _ in blocks]).simplify()
    q = torch.cat([b for _, b in blocks]).reshape((-1,) + tuple(i.dim for i in irreps_in))
    return f0, irreps_in, irreps_out, q, _tree_plan(irreps_in, blocks, filter_ir_mid)


# --- the tree of tensor products (e3nn's ``main``) ---


class _Leaf(NamedTuple):
    """One copy of an irrep of the first index: ``x_0[..., start : start + ir.dim]``."""

    start: int
    ir: Irrep


class _Coupling(NamedTuple):
    """``TensorProduct(ir_left x ir_right -> ir)`` of a chain and one copy of the next index."""

    left: _Chain
    start: int
    ir_left: Irrep
    ir_right: Irrep
    ir: Irrep


_Chain = _Leaf | _Coupling
_Triple = tuple[Irrep, Irrep, Irrep]


def _copies(irreps: Irreps) -> list[tuple[int, Irrep]]:
    return [(sl.start + u * ir.dim, ir) for (mul, ir), sl in zip(irreps, irreps.slices()) for u in range(mul)]


def _reachable(irreps_in: Sequence[Irreps], filter_ir_mid: frozenset[Irrep] | None) -> list[frozenset[Irrep]]:
    """The irreps a chain can have after ``k + 1`` indices (intermediate ones in ``filter_ir_mid``)."""
    levels = [frozenset(ir for _, ir in irreps_in[0])]
    for irreps in irreps_in[1:]:
        levels.append(
            frozenset(
                ir
                for a in levels[-1]
                for _, b in irreps
                for ir in a * b
                if filter_ir_mid is None or ir in filter_ir_mid
            )
        )
    return levels


def _projections(
    t: torch.Tensor, ir: Irrep, irreps_in: Sequence[Irreps], reach: Sequence[frozenset[Irrep]], threshold: float
) -> dict[_Chain, float]:
    r"""``<t, C>`` for the chains ``C`` of irrep ``ir`` on the first ``k`` indices, ``t: (ir.dim, d_0, ..., d_{k-1})``.

    For a coupling, :math:`\langle t, C \rangle = \langle u, L \rangle` with
    :math:`u_a = \sqrt{2l+1} \sum_{bm} C^{l_1 l_2 l}_{abm} t_{m, \dots, s+b}`, so the recursion peels off the last
    index; branches whose ``u`` is below ``threshold`` are dropped (all their projections are smaller).
    """
    k = t.dim() - 1
    out: dict[_Chain, float] = {}
    if k == 1:
        for start, ir0 in _copies(irreps_in[0]):
            if ir0 == ir:
                value = float(torch.diagonal(t[:, start : start + ir.dim]).sum())
                if abs(value) > threshold:
                    out[_Leaf(start, ir)] = value
        return out
    for start, ir_right in _copies(irreps_in[k - 1]):
        tr = t[..., start : start + ir_right.dim]
        for ir_left in sorted(reach[k - 2]):
            if ir not in ir_left * ir_right:
                continue
            w = wigner_3j(ir_left.l, ir_right.l, ir.l, dtype=torch.float64) * math.sqrt(ir.dim)
            u = torch.einsum("abm,m...b->a...", w, tr)
            if float(u.norm()) <= threshold:
                continue
            for left, value in _projections(u, ir_left, irreps_in, reach, threshold).items():
                out[_Coupling(left, start, ir_left, ir_right, ir)] = value
    return out


def _chain_order(chain: _Chain) -> tuple:
    """e3nn's order of the chains of one block: by irrep, then left chain, then copy of the last index."""
    if isinstance(chain, _Leaf):
        return (chain.start,)
    return (chain.ir, _chain_order(chain.left), chain.start)


def _triples_outside_in(chain: _Chain) -> list[_Triple]:
    out = []
    while isinstance(chain, _Coupling):
        out.append((chain.ir_left, chain.ir_right, chain.ir))
        chain = chain.left
    return out


@dataclass(frozen=True)
class _TreePlan:
    """The tensor-product tree: for each output block, its ``(chain, coefficient)`` terms; the tensor products."""

    irreps_in: tuple[Irreps, ...]
    terms: tuple[tuple[tuple[_Chain, float], ...], ...]
    names: tuple[tuple[str, _Triple], ...]  # registration order (first use), e3nn's names


def _tree_plan(
    irreps_in: tuple[Irreps, ...],
    blocks: Sequence[tuple[Irrep, torch.Tensor]],
    filter_ir_mid: frozenset[Irrep] | None,
    threshold: float = 1e-8,
) -> _TreePlan:
    """Decompose each block ``(ir, Q: (ir.dim, d_0, ...))`` on the chains; name and order the tensor products."""
    reach = _reachable(irreps_in, filter_ir_mid)
    terms = []
    for ir, q in blocks:
        found = _projections(q.to(torch.float64), ir, irreps_in, reach, threshold * ir.dim)
        terms.append(tuple((c, found[c] / ir.dim) for c in sorted(found, key=_chain_order)))
    # e3nn numbers the tensor products in the iteration order of a hash set of their (l, p) triples, filled block by
    # block, chain by chain, from the outermost coupling in; reproduced by filling such a set the same way.
    numbering: set = set()
    for block in terms:
        for chain, _ in block:
            for triple in _triples_outside_in(chain):
                numbering.add(tuple((x.l, x.p) for x in triple))
    index = {key: k for k, key in enumerate(numbering)}
    # and registers them in the order its generated code first calls them: block by block, chain by chain, depth first
    names: dict[_Triple, str] = {}
    seen: set = set()

    def visit(chain: _Chain) -> None:
        if isinstance(chain, _Leaf) or chain in seen:
            return
        visit(chain.left)
        seen.add(chain)
        triple = (chain.ir_left, chain.ir_right, chain.ir)
        if triple not in names:
            names[triple] = f"tp{index[tuple((x.l, x.p) for x in triple)]}"

    for block in terms:
        for chain, _ in block:
            visit(chain)
    return _TreePlan(irreps_in, tuple(terms), tuple((name, triple) for triple, name in names.items()))


class _TensorProductTree(torch.nn.Module):
    """e3nn's ``main``: the tensor products ``tp<k>`` of the tree, and its (naive) evaluation.

    Examples
    --------
    >>> from e3torch.o3 import ReducedTensorProducts
    >>> [name for name, _ in ReducedTensorProducts("ij=ji", i="1o").main.named_children()]
    ['tp1', 'tp0']
    """

    def __init__(self, plan: _TreePlan) -> None:
        super().__init__()
        self.plan = plan
        self._names = {triple: name for name, triple in plan.names}
        for name, (a, b, c) in plan.names:
            tp = TensorProduct(Irreps([(1, a)]), Irreps([(1, b)]), Irreps([(1, c)]), [(0, 0, 0, "uuu", False)])
            self.add_module(name, tp)

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        """Evaluate every block as its sum of coefficient times chain (inputs of one batch shape).

        Examples
        --------
        >>> import torch
        >>> from e3torch.o3 import ReducedTensorProducts
        >>> tp = ReducedTensorProducts("ijk=jik", i="1o", k="0e")
        >>> x, y, z = torch.randn(2, 3), torch.randn(2, 3), torch.randn(2, 1)
        >>> torch.allclose(tp.main(x, y, z), tp(x, y, z), atol=1e-6)
        True
        """
        cache: dict[_Chain, torch.Tensor] = {}

        def value(chain: _Chain, depth: int) -> torch.Tensor:
            if chain not in cache:
                if isinstance(chain, _Leaf):
                    cache[chain] = xs[0].narrow(-1, chain.start, chain.ir.dim)
                else:
                    tp = getattr(self, self._names[(chain.ir_left, chain.ir_right, chain.ir)])
                    right = xs[depth].narrow(-1, chain.start, chain.ir_right.dim)
                    cache[chain] = tp(value(chain.left, depth - 1), right)
            return cache[chain]

        depth = len(self.plan.irreps_in) - 1
        outs = [sum(c * value(chain, depth) for chain, c in block) for block in self.plan.terms]
        return torch.cat(outs, dim=-1)


class ReducedTensorProducts(torch.nn.Module):
    r"""Reduce a tensor with index symmetries into irreducible representations.

    Parameters
    ----------
    formula : str
        letters, ``-`` and ``=`` describing the symmetries of the tensor: ``"ij=ji"`` means that the tensor is
        unchanged when its two indices are exchanged, ``"ij=-ji"`` that it changes sign
    filter_ir_out : list of `e3torch.o3.Irrep`, optional
        the irreps allowed in the output
    filter_ir_mid : list of `e3torch.o3.Irrep`, optional
        the irreps allowed in the intermediate couplings (and in the output)
    eps : float
        threshold below which a candidate block is considered dependent
    **irreps : `e3torch.o3.Irreps`
        the representation of each index; an index exchanged with another by the formula can be omitted

    Attributes
    ----------
    irreps_in : list of `e3torch.o3.Irreps`
        the representation of each index
    irreps_out : `e3torch.o3.Irreps`
        the output representation
    change_of_basis : `torch.Tensor`
        buffer of shape ``(irreps_out.dim, irreps_in[0].dim, ..., irreps_in[-1].dim)``, orthonormal rows
    main : `torch.nn.Module`
        the tensor products (``main.tp<k>``, as in e3nn 0.6.0's ``state_dict``) of the tree that expresses each
        output block; ``main(*xs)`` evaluates the same function as the module, by the tree (slower)
    plan : ReducedTensorProductsPlan
        immutable description

    Examples
    --------
    >>> import torch
    >>> from e3torch.o3 import ReducedTensorProducts
    >>> tp = ReducedTensorProducts("ij=-ji", i="1o")
    >>> x, y = torch.tensor([1.0, 0.0, 0.0]), torch.tensor([0.0, 1.0, 0.0])
    >>> tp(x, y) + tp(y, x)
    tensor([0., 0., 0.])
    >>> ReducedTensorProducts("ijkl=jikl=ikjl=ijlk", i="1e").irreps_out
    1x0e+1x2e+1x4e
    >>> tp = ReducedTensorProducts("ij=ji", i="1o")
    >>> tp.change_of_basis.shape
    torch.Size([6, 3, 3])
    """

    change_of_basis: torch.Tensor

    def __init__(
        self,
        formula: str,
        filter_ir_out: Iterable | None = None,
        filter_ir_mid: Iterable | None = None,
        eps: float = 1e-9,
        **irreps: object,
    ) -> None:
        super().__init__()
        if not isinstance(formula, str):
            raise TypeError(f"expected formula to be a str, got {type(formula).__name__}")
        out_filter = _parse_filter("filter_ir_out", filter_ir_out)
        mid_filter = _parse_filter("filter_ir_mid", filter_ir_mid)
        given = tuple(sorted((c, Irreps(v)) for c, v in irreps.items()))
        f0, irreps_in, irreps_out, q, tree = _change_of_basis(formula, given, out_filter, mid_filter, float(eps))
        self._setup(formula, f0, irreps_in, irreps_out, q, tree)

    def _setup(
        self,
        formula: str,
        indices: str,
        irreps_in: tuple[Irreps, ...],
        irreps_out: Irreps,
        q: torch.Tensor,
        tree: _TreePlan,
    ) -> None:
        dims = tuple(i.dim for i in irreps_in)
        self.plan = ReducedTensorProductsPlan(formula, indices, irreps_in, irreps_out, dims)
        self.irreps_in = list(irreps_in)
        self.irreps_out = irreps_out
        self.register_buffer("change_of_basis", q.to(dtype=torch.get_default_dtype(), copy=True))
        self.main = _TensorProductTree(tree)

    @classmethod
    def _from_change_of_basis(
        cls, irreps_in: Sequence[object], irreps_out: object, change_of_basis: torch.Tensor, formula: str
    ) -> ReducedTensorProducts:
        """The module of a given change of basis (e.g. unpickled from e3nn, which does not record the formula).

        ``main`` is rebuilt from the change of basis: its blocks are decomposed on the chains.

        Examples
        --------
        >>> from e3torch.o3 import ReducedTensorProducts
        >>> a = ReducedTensorProducts("ijk=jik", i="1o", k="1e")
        >>> b = ReducedTensorProducts._from_change_of_basis(a.irreps_in, a.irreps_out, a.change_of_basis, "?")
        >>> list(b.state_dict()) == list(a.state_dict())
        True
        """
        irreps_in = tuple(Irreps(i) for i in irreps_in)
        irreps_out = Irreps(irreps_out)
        dims = (irreps_out.dim,) + tuple(i.dim for i in irreps_in)
        if tuple(change_of_basis.shape) != dims:
            raise ValueError(f"expected a change of basis of shape {dims}, got {tuple(change_of_basis.shape)}")
        q = change_of_basis.detach().to(device="cpu", dtype=torch.float64)
        blocks, row = [], 0
        for mul, ir in irreps_out:
            for _ in range(mul):
                blocks.append((ir, q[row : row + ir.dim]))
                row += ir.dim
        threshold = max(1e-8, 1e3 * torch.finfo(change_of_basis.dtype).eps)
        module = cls.__new__(cls)
        torch.nn.Module.__init__(module)
        indices = "".join(chr(ord("a") + k) for k in range(len(irreps_in)))
        module._setup(formula, indices, irreps_in, irreps_out, q, _tree_plan(irreps_in, blocks, None, threshold))
        return module

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        r"""Contract the change of basis with one vector per index.

        Parameters
        ----------
        *xs : `torch.Tensor`
            ``xs[k]: (..., irreps_in[k].dim)``, batch dimensions broadcast together

        Returns
        -------
        `torch.Tensor`
            ``(..., irreps_out.dim)``: :math:`\sum Q_{z, a b \dots} x_a y_b \dots`

        Examples
        --------
        >>> import torch
        >>> from e3torch.o3 import ReducedTensorProducts
        >>> tp = ReducedTensorProducts("ij=ji", i="1o")
        >>> tp(torch.randn(5, 3), torch.randn(5, 3)).shape
        torch.Size([5, 6])
        """
        if len(xs) != len(self.plan.irreps_in):
            raise ValueError(
                f"expected {len(self.plan.irreps_in)} inputs (irreps {' times '.join(map(str, self.plan.irreps_in))}), "
                f"got {len(xs)}"
            )
        for k, (x, d) in enumerate(zip(xs, self.plan.dims)):
            if x.dim() == 0 or x.shape[-1] != d:
                raise ValueError(
                    f"expected input {k} with last dimension {d} (irreps {self.plan.irreps_in[k]}), "
                    f"got shape {tuple(x.shape)}"
                )
        # outer product of the inputs (batch dimensions broadcast), then one matrix product with the flat change
        # of basis: one GEMM with K = prod(dims) (a generic einsum costs far more at the sizes of this module)
        y = xs[0]
        for x in xs[1:]:
            y = (y.unsqueeze(-1) * x.unsqueeze(-2)).flatten(-2)
        q = self.change_of_basis
        return torch.matmul(y, q.reshape(q.shape[0], -1).t())

    def __repr__(self) -> str:
        ins = " times ".join(str(i) for i in self.plan.irreps_in)
        return f"{self.__class__.__name__}(\n    in: {ins}\n    out: {self.plan.irreps_out}\n)"

