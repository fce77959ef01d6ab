"""Norm of each irrep copy: :class:`Norm`, and the state-only stand-in of e3nn's inner tensor products.

``Norm(irreps)`` maps ``(..., irreps.dim)`` to ``(..., irreps.num_irreps)``: the Euclidean norm (or its
square) of every copy of every irrep, an invariant. e3nn 0.6.0 computes it with an inner weightless tensor
product ``tp``; that submodule contributes two state_dict entries (``tp.weight``, empty, and
``tp.output_mask``), reproduced here by :class:`_TensorProductState` so that state_dicts load both ways. The
computation itself is a square, one sum per block of equal ``l`` and one concatenation.
"""

from __future__ import annotations

import dataclasses

import torch

from e3torch.o3._irreps import Irreps

__all__ = ["Norm", "safe_sqrt", "squared_norms"]


class _TensorProductState(torch.nn.Module):
    """Carries e3nn's ``weight`` (empty) and ``output_mask`` buffers of a weightless tensor product, and its
    repr.

    It computes nothing: the layer that owns it does the (elementwise) work directly.

    Examples
    --------
    >>> s = _TensorProductState("TensorProduct", "1x1o x 1x1o -> 1x0e | 1 paths | 0 weights", 1)
    >>> s, sorted(s.state_dict())
    (TensorProduct(1x1o x 1x1o -> 1x0e | 1 paths | 0 weights), ['output_mask', 'weight'])
    """

    def __init__(self, name: str, text: str, mask_size: int) -> None:
        super().__init__()
        self._name, self._text = name, text
        self.register_buffer("weight", torch.Tensor())
        self.register_buffer("output_mask", torch.ones(mask_size))

    def _get_name(self) -> str:
        return self._name

    def extra_repr(self) -> str:
        return self._text

    def forward(self, *args: object) -> torch.Tensor:
        raise RuntimeError(
            f"{self._name} here only holds e3nn's state_dict entries; call the layer that owns it"
        )


@dataclasses.dataclass(frozen=True)
class _Group:
    """Consecutive terms of equal ``d = 2l+1``: components ``[start, stop)``, outputs ``[o0, o1)``."""

    d: int
    start: int
    stop: int
    o0: int
    o1: int


def _groups(irreps: Irreps) -> tuple[_Group, ...]:
    groups: list[_Group] = []
    start, o = 0, 0
    for mul, ir in irreps:
        if mul == 0:
            continue
        stop = start + mul * ir.dim
        if groups and groups[-1].d == ir.dim and groups[-1].stop == start:
            g = groups[-1]
            groups[-1] = _Group(g.d, g.start, stop, g.o0, o + mul)
        else:
            groups.append(_Group(ir.dim, start, stop, o, o + mul))
        start, o = stop, o + mul
    return tuple(groups)


def squared_norms(groups: tuple[_Group, ...], x: torch.Tensor) -> torch.Tensor:
    """``(..., dim) -> (..., num_irreps)``: the squared norm of each irrep copy, one sum per group.

    Examples
    --------
    >>> squared_norms(_groups(Irreps("0e + 1o")), torch.tensor([2.0, 1.0, 2.0, 2.0]))
    tensor([4., 9.])
    """
    sq = x * x
    sizes = [g.stop - g.start for g in groups]
    pieces = torch.split(sq, sizes, dim=-1) if len(sizes) > 1 else (sq,)
    parts = [p if g.d == 1 else p.unflatten(-1, (g.o1 - g.o0, g.d)).sum(-1) for g, p in zip(groups, pieces)]
    if not parts:
        return x.new_zeros(x.shape[:-1] + (0,))
    return torch.cat(parts, dim=-1) if len(parts) > 1 else parts[0]


def safe_sqrt(sq: torch.Tensor) -> torch.Tensor:
    """``sqrt`` of a non-negative tensor whose gradient is 0 (not NaN) where the input is 0, as e3nn's norms.

    Examples
    --------
    >>> x = torch.zeros(2, requires_grad=True)
    >>> safe_sqrt(x).sum().backward(); x.grad
    tensor([0., 0.])
    """
    return sq.relu().sqrt()


class Norm(torch.nn.Module):
    r"""Norm of each irrep copy: ``(..., irreps_in.dim) -> (..., irreps_in.num_irreps)``.

    Parameters
    ----------
    irreps_in : Irreps or str
        Input representation (simplified, as e3nn does).
    squared : bool
        Return the squared norms instead (cheaper, smooth at zero).

    Examples
    --------
    >>> norm = Norm("0e + 1o")
    >>> norm
    Norm(1x0e+1x1o)
    >>> norm(torch.tensor([-2.0, 1.0, 2.0, 2.0]))
    tensor([2., 3.])
    >>> Norm("0e + 1o", squared=True)(torch.tensor([-2.0, 1.0, 2.0, 2.0])), norm.irreps_out
    (tensor([4., 9.]), 2x0e)
    """

    def __init__(self, irreps_in: Irreps | str, squared: bool = False) -> None:
        super().__init__()
        if not isinstance(squared, bool):
            raise TypeError(f"expected squared to be a bool, got {squared!r} (type {type(squared).__name__})")
        self.irreps_in = Irreps(irreps_in).simplify()
        n = self.irreps_in.num_irreps
        self.irreps_out = Irreps(f"{n}x0e" if n > 0 else "")
        self.squared = squared
        self._groups = _groups(self.irreps_in)
        text = f"{self.irreps_in} x {self.irreps_in} -> {self.irreps_out} | {n} paths | 0 weights"
        self.tp = _TensorProductState("TensorProduct", text, n)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.irreps_in})"

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Norms of ``features``.

        Parameters
        ----------
        features : torch.Tensor
            ``(..., irreps_in.dim)``.

        Returns
        -------
        torch.Tensor
            ``(..., irreps_in.num_irreps)``.

        Examples
        --------
        >>> Norm("2x1o")(torch.ones(5, 6)).shape
        torch.Size([5, 2])
        """
        if not isinstance(features, torch.Tensor):
            raise TypeError(f"expected features to be a torch.Tensor, got {type(features).__name__}")
        if features.dim() == 0 or features.shape[-1] != self.irreps_in.dim:
            raise ValueError(
                f"expected input with last dimension {self.irreps_in.dim} (irreps {self.irreps_in}), "
                f"got shape {tuple(features.shape)}"
            )
        sq = squared_norms(self._groups, features)
        return sq if self.squared else safe_sqrt(sq)
