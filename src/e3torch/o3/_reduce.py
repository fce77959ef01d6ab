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
kept when its residual (per row) exceeds ``4 eps``. The blocks are then sorted by irrep (stably). This reproduces
e3nn's change of basis, including the order of the copies and their signs.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Dict, FrozenSet, Iterable, List, Optional, Tuple

import torch

from e3torch.math import germinate_formulas, perm
from e3torch.o3._irreps import Irrep, Irreps
from e3torch.o3._wigner_3j import wigner_3j

__all__ = ["ReducedTensorProducts"]

_Formulas = FrozenSet[Tuple[int, Tuple[int, ...]]]
_Blocks = Tuple[Tuple[Irrep, torch.Tensor], ...]


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
    equation : str
        the einsum contracting the change of basis with the inputs

    Examples
    --------
    >>> from e3torch.o3 import ReducedTensorProducts
    >>> ReducedTensorProducts("ij=ji", i="1o").plan.irreps_out
    1x0e+1x2e
    """

    formula: str
    indices: str
    irreps_in: Tuple[Irreps, ...]
    irreps_out: Irreps
    equation: str


def _sub_formulas(formulas: _Formulas, n: int) -> _Formulas:
    """The signed permutations that fix the positions ``n..`` (restricted to ``0..n-1``)."""
    return frozenset((s, p[:n]) for s, p in formulas if all(p[k] == k for k in range(n, len(p))))


def _symmetrize(c: torch.Tensor, formulas: _Formulas) -> torch.Tensor:
    """Orthogonal projection of ``c: (m, d_1, ..., d_k)`` on the tensors obeying ``formulas`` (a group)."""
    total = torch.zeros_like(c)
    for s, p in formulas:
        total = total + s * c.permute(0, *[1 + k for k in perm.inverse(p)])
    return total / len(formulas)


def _base_blocks(irreps: Irreps, keep: Optional[FrozenSet[Irrep]], eps: float) -> List[Tuple[Irrep, torch.Tensor]]:
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
    irreps: Tuple[Irreps, ...],
    filter_ir_out: Optional[FrozenSet[Irrep]],
    filter_ir_mid: Optional[FrozenSet[Irrep]],
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
    found: Dict[Irrep, List[torch.Tensor]] = {}
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
                if not trivial:
                    c = _symmetrize(c, formulas)
                for b in found.get(ir, []):
                    c = c - (c * b).sum() / ir.dim * b
                norm = c.norm() / math.sqrt(ir.dim)
                if norm > 4 * eps:
                    found.setdefault(ir, []).append(c / norm)
    return tuple((ir, q) for ir in sorted(found) for q in found[ir])


def _parse_filter(name: str, value: Optional[Iterable]) -> Optional[FrozenSet[Irrep]]:
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


def _index_irreps(f0: str, formulas: _Formulas, given: Dict[str, object]) -> Dict[str, Irreps]:
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
    irreps: Tuple[Tuple[str, Irreps], ...],
    filter_ir_out: Optional[FrozenSet[Irrep]],
    filter_ir_mid: Optional[FrozenSet[Irrep]],
    eps: float,
) -> Tuple[str, Tuple[Irreps, ...], Irreps, torch.Tensor]:
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
    return f0, irreps_in, irreps_out, q


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
        filter_ir_out: Optional[Iterable] = None,
        filter_ir_mid: Optional[Iterable] = None,
        eps: float = 1e-9,
        **irreps: object,
    ) -> None:
        super().__init__()
        if not isinstance(formula, str):
            raise TypeError(f"expected formula to be a str, got {type(formula).__name__}")
        out_filter = _parse_filter("filter_ir_out", filter_ir_out)
        mid_filter = _parse_filter("filter_ir_mid", filter_ir_mid)
        given = tuple(sorted((c, Irreps(v)) for c, v in irreps.items()))
        f0, irreps_in, irreps_out, q = _change_of_basis(formula, given, out_filter, mid_filter, float(eps))
        letters = "".join(chr(ord("a") + k) for k in range(len(f0)))
        equation = f"z{letters}," + ",".join(f"...{c}" for c in letters) + "->...z"
        self.plan = ReducedTensorProductsPlan(formula, f0, irreps_in, irreps_out, equation)
        self.irreps_in = list(irreps_in)
        self.irreps_out = irreps_out
        self.register_buffer("change_of_basis", q.to(dtype=torch.get_default_dtype(), copy=True))
        self.register_load_state_dict_pre_hook(_drop_e3nn_internal_keys)

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
        for k, (x, ir) in enumerate(zip(xs, self.plan.irreps_in)):
            if x.dim() == 0 or x.shape[-1] != ir.dim:
                raise ValueError(
                    f"expected input {k} with last dimension {ir.dim} (irreps {ir}), got shape {tuple(x.shape)}"
                )
        return torch.einsum(self.plan.equation, self.change_of_basis, *xs)

    def __repr__(self) -> str:
        ins = " times ".join(str(i) for i in self.plan.irreps_in)
        return f"{self.__class__.__name__}(\n    in: {ins}\n    out: {self.plan.irreps_out}\n)"


def _drop_e3nn_internal_keys(module, state_dict, prefix, *args) -> None:  # noqa: ANN001
    """e3nn's state_dict also holds its internal tensor products (``main.*``, all constant): ignore them."""
    for key in [k for k in state_dict if k.startswith(prefix + "main.")]:
        del state_dict[key]
