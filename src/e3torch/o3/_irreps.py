"""Irreducible representations of O(3): :class:`Irrep` (one irrep) and :class:`Irreps` (a direct sum).

Both are immutable tuples, so equality, hashing and ordering are those of tuples, exactly as in e3nn 0.6.0:
``Irrep`` is the tuple ``(l, p)`` and ``Irreps`` the tuple of ``(mul, Irrep)`` pairs. This module is the import
path of both (``from e3torch.o3._irreps import Irrep, Irreps``) and the one their pickles name; ``Irrep``, the
terms ``mul x ir`` and the parsing of irreps strings are implemented in :mod:`e3torch.o3._irrep`.

Errors: a bad value raises ``ValueError``; a bad type raises ``TypeError``. Where e3nn 0.6.0 raises
``ValueError`` for what is really a bad type (``Irrep(1.5, 1)``), the error raised here is an instance of both
``TypeError`` and ``ValueError``, so code written for either library keeps working.
"""

from __future__ import annotations

import functools
from collections import namedtuple
from collections.abc import Callable, Iterable
from typing import Any, Union

import torch

from e3torch.o3._irrep import (  # noqa: F401 - _parse_irrep(s): imported from here by benchmarks/bench_irreps.py
    Irrep,
    IrrepLike,
    _as_nonneg_int,
    _describe,
    _FromRotations,
    _mul_ir,
    _MulIr,
    _parse_irrep,
    _parse_irreps,
)

__all__ = ["Irrep", "Irreps"]

IrrepsLike = Union["Irreps", "Irrep", str, Iterable[Any], None]


def _entries(items: Iterable[Any]) -> list[_MulIr]:
    out = []
    for x in items:
        if type(x) is tuple and len(x) == 2 and type(x[0]) is int and x[0] >= 0:  # fast path: (mul, ir)
            ir = x[1]
            out.append(tuple.__new__(_MulIr, (x[0], ir if type(ir) is Irrep else Irrep(ir))))
        elif type(x) is _MulIr:
            out.append(x)
        elif isinstance(x, str):
            out.append(_mul_ir(1, Irrep(x)))
        elif isinstance(x, Irrep):
            out.append(_mul_ir(1, x))
        elif isinstance(x, _MulIr):
            out.append(_mul_ir(x[0], x[1]))
        else:
            try:
                n = len(x)
            except TypeError:
                raise TypeError(
                    "expected each entry to be an Irrep, a string like '1o' or a pair (mul, irrep), "
                    f"got {_describe(x)}"
                ) from None
            if n != 2:
                raise ValueError(f"expected each entry to be a pair (mul, irrep), got {x!r} of length {n}")
            mul, ir = x
            out.append(_mul_ir(_as_nonneg_int(mul, f"the multiplicity in {x!r}"), Irrep(ir)))
    return out


_Sort = namedtuple("sort", ["irreps", "p", "inv"])


class Irreps(_FromRotations, tuple):
    r"""Direct sum of irreducible representations of O(3): a tuple of ``mul x ir`` terms.

    Parameters
    ----------
    irreps : str or Irreps or Irrep or iterable, optional
        A string ``"16x1e + 32x2o"`` (``mul x`` may be omitted for 1; spaces are ignored), an :class:`Irrep`,
        or an iterable of irreps, strings ``"1o"`` and pairs ``(mul, ir)`` with ``ir`` anything :class:`Irrep`
        accepts. ``None`` or ``""``: the empty direct sum.

    Examples
    --------
    >>> x = Irreps("100x0e + 50x1e + 0x2e")
    >>> x, x.dim, x.num_irreps, x.lmax
    (100x0e+50x1e+0x2e, 250, 150, 1)
    >>> Irreps([(2, (1, -1)), "0e", Irrep("2y")])
    2x1o+1x0e+1x2e
    >>> x[0], x[0].mul, x[0].ir, x[1:]
    (100x0e, 100, 0e, 50x1e+0x2e)
    >>> Irrep("2e") in x, Irreps(), Irreps("0e") == Irreps([(1, (0, 1))])
    (True, , True)
    """

    def __new__(cls, irreps: IrrepsLike = None) -> Irreps:
        if type(irreps) is str:
            return tuple.__new__(cls, _parse_irreps(irreps))
        if type(irreps) is Irreps and cls is Irreps:  # immutable: share it (as Irrep(ir) returns ir)
            return irreps
        if isinstance(irreps, Irreps):
            return tuple.__new__(cls, irreps)
        if irreps is None:
            return tuple.__new__(cls)
        if isinstance(irreps, Irrep):
            return tuple.__new__(cls, (_mul_ir(1, irreps),))
        if isinstance(irreps, str):
            return tuple.__new__(cls, _parse_irreps(str(irreps)))
        try:
            items = iter(irreps)
        except TypeError:
            raise TypeError(
                "expected irreps as a string like '2x0e + 1x1o', an Irrep, an Irreps or an iterable of "
                f"(mul, irrep) pairs, got {_describe(irreps)}"
            ) from None
        return tuple.__new__(cls, _entries(items))

    @functools.cached_property
    def dim(self) -> int:
        """The total dimension ``sum(mul * (2 l + 1))``.

        Examples
        --------
        >>> Irreps("2x0e + 1x1o").dim
        5
        """
        return sum(mul * (2 * ir[0] + 1) for mul, ir in self)

    @functools.cached_property
    def num_irreps(self) -> int:
        """The number of irreps, the sum of the multiplicities.

        Examples
        --------
        >>> Irreps("2x0e + 1x1o").num_irreps
        3
        """
        return sum(mul for mul, _ in self)

    @property
    def ls(self) -> list[int]:
        """The degree of every irrep, each repeated by its multiplicity.

        Examples
        --------
        >>> Irreps("2x0e + 1x1o + 0x2e").ls
        [0, 0, 1]
        """
        return [ir[0] for mul, ir in self for _ in range(mul)]

    @property
    def lmax(self) -> int:
        """The largest degree among the irreps of nonzero multiplicity.

        Examples
        --------
        >>> Irreps("2x0e + 1x1o + 0x2e").lmax
        1
        """
        ls = [ir[0] for mul, ir in self if mul > 0]
        if not ls:
            raise ValueError(
                f"Cannot get lmax of empty Irreps (got {str(self)!r}, with no irrep of nonzero multiplicity)"
            )
        return max(ls)

    def is_scalar(self) -> bool:
        """Whether every irrep is the scalar ``0e`` (an e3torch addition; ``True`` for the empty sum).

        Examples
        --------
        >>> Irreps("3x0e").is_scalar(), Irreps("3x0e + 1x0o").is_scalar()
        (True, False)
        """
        return all(ir[0] == 0 and ir[1] == 1 for _, ir in self)

    def __repr__(self) -> str:
        return "+".join([f"{mul}x{ir!r}" for mul, ir in self])

    __str__ = __repr__

    def slices(self) -> list[slice]:
        """The slice of the features of each term, in order.

        Examples
        --------
        >>> Irreps("2x0e + 1x1o").slices()
        [slice(0, 2, None), slice(2, 5, None)]
        """
        out = []
        i = 0
        for mul, ir in self:
            j = i + mul * (2 * ir[0] + 1)
            out.append(slice(i, j))
            i = j
        return out

    def randn(
        self,
        *size: int,
        normalization: str = "component",
        requires_grad: bool = False,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
    ) -> torch.Tensor:
        """Random features, with the ``-1`` in ``size`` replaced by :attr:`dim`.

        Parameters
        ----------
        *size : int
            The shape, with exactly one ``-1``.
        normalization : {"component", "norm"}
            ``"component"``: standard normal entries; ``"norm"``: every irrep has unit norm.
        requires_grad : bool
        dtype, device : optional
            As for :func:`torch.randn`.

        Returns
        -------
        torch.Tensor
            Shape ``size`` with ``-1`` replaced by ``dim``.

        Examples
        --------
        >>> x = Irreps("2x1o").randn(5, -1, normalization="norm", dtype=torch.float64)
        >>> x.shape, x.reshape(5, 2, 3).norm(dim=-1).round(decimals=6).unique().tolist()
        (torch.Size([5, 6]), [1.0])
        """
        if size.count(-1) != 1:
            raise ValueError(f"size must contain -1 exactly once (it stands for dim={self.dim}), got {size}")
        di = size.index(-1)
        lsize, rsize = size[:di], size[di + 1 :]
        if normalization == "component":
            return torch.randn(
                *lsize, self.dim, *rsize, requires_grad=requires_grad, dtype=dtype, device=device
            )
        if normalization != "norm":
            raise ValueError(f"normalization must be 'component' or 'norm', got {normalization!r}")
        x = torch.zeros(*lsize, self.dim, *rsize, dtype=dtype, device=device)
        with torch.no_grad():
            for s, (mul, ir) in zip(self.slices(), self):
                r = torch.randn(*lsize, mul, ir.dim, *rsize, dtype=dtype, device=device)
                r.div_(r.norm(dim=di + 1, keepdim=True))
                x.narrow(di, s.start, s.stop - s.start).copy_(r.reshape(*lsize, -1, *rsize))
        return x.requires_grad_(requires_grad)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return tuple.__new__(Irreps, tuple.__getitem__(self, i))
        return tuple.__getitem__(self, i)

    def __contains__(self, ir: object) -> bool:
        """``ir in irreps``: whether the irrep occurs (even with multiplicity 0).

        Examples
        --------
        >>> "1o" in Irreps("2x0e + 0x1o"), (1, 1) in Irreps("1o")
        (True, False)
        """
        ir = Irrep(ir)
        return any(i == ir for _, i in self)

    def count(self, ir: IrrepLike) -> int:
        """The total multiplicity of the irrep ``ir``.

        Examples
        --------
        >>> Irreps("1o + 3x2e + 1o").count("1o")
        2
        """
        ir = Irrep(ir)
        return sum(mul for mul, i in self if i == ir)

    def index(self, _value: object, *args: object) -> int:
        """Not supported (ambiguous), as in e3nn: use :meth:`slices` or ``enumerate``."""
        raise NotImplementedError("Irreps.index is not supported; use enumerate(irreps) or irreps.slices()")

    def __add__(self, other: IrrepsLike) -> Irreps:
        """Concatenation: ``Irreps("0e") + "1o"`` is ``1x0e+1x1o`` (no simplification).

        Examples
        --------
        >>> Irreps("0e") + "1o" + Irrep("0e")
        1x0e+1x1o+1x0e
        """
        return tuple.__new__(Irreps, tuple.__add__(self, Irreps(other)))

    def __mul__(self, other: object) -> Irreps:
        """Repetition: ``Irreps("0e + 1o") * 2`` is ``1x0e+1x1o+1x0e+1x1o``.

        Examples
        --------
        >>> Irreps("0e + 1o") * 2, 2 * Irreps("0e")
        (1x0e+1x1o+1x0e+1x1o, 1x0e+1x0e)
        """
        if isinstance(other, Irreps):
            raise NotImplementedError("Use o3.TensorProduct for this, see the documentation")
        if not isinstance(other, int):
            return NotImplemented
        return tuple.__new__(Irreps, tuple.__mul__(self, other))

    __rmul__ = __mul__

    def simplify(self) -> Irreps:
        """Merge neighbouring equal irreps and drop zero multiplicities.

        Examples
        --------
        >>> Irreps("1e + 1e + 0x2o + 0e + 1e").simplify()
        2x1e+1x0e+1x1e
        """
        out: list[list[Any]] = []
        for mul, ir in self:
            if out and out[-1][1] == ir:
                out[-1][0] += mul
            elif mul > 0:
                out.append([mul, ir])
        return tuple.__new__(Irreps, [_mul_ir(mul, ir) for mul, ir in out])

    def remove_zero_multiplicities(self) -> Irreps:
        """Drop the terms of multiplicity 0.

        Examples
        --------
        >>> Irreps("1e + 0x2o + 2x0e").remove_zero_multiplicities()
        1x1e+2x0e
        """
        return tuple.__new__(Irreps, [x for x in self if x[0] > 0])

    def sort(self) -> _Sort:
        """Sort the terms by irrep (stable), with the permutation.

        Returns
        -------
        irreps : Irreps
            The sorted irreps.
        p : tuple of int
            ``p[i]``: new position of term ``i``.
        inv : tuple of int
            ``inv[j]``: old position of the term now at ``j``.

        Examples
        --------
        >>> Irreps("2o + 1e + 0e + 1e").sort()
        sort(irreps=1x0e+1x1e+1x1e+1x2o, p=(3, 1, 0, 2), inv=(2, 1, 3, 0))
        """
        inv = tuple(sorted(range(len(self)), key=lambda i: self[i][1]))
        p = [0] * len(inv)
        for j, i in enumerate(inv):
            p[i] = j
        return _Sort(tuple.__new__(Irreps, [self[i] for i in inv]), tuple(p), inv)

    def regroup(self) -> Irreps:
        """Sort then simplify: one term per distinct irrep, in order.

        Examples
        --------
        >>> Irreps("1e + 0e + 1e + 0x2e").regroup()
        1x0e+2x1e
        """
        return self.sort().irreps.simplify()

    def filter(
        self,
        keep: IrrepsLike | Callable[[_MulIr], bool] = None,
        *,
        drop: IrrepsLike | Callable[[_MulIr], bool] = None,
        lmax: int | None = None,
    ) -> Irreps:
        """The terms whose irrep is in ``keep`` / not in ``drop`` / has ``l <= lmax`` (at most one of them).

        Parameters
        ----------
        keep, drop : Irreps-like or list of Irrep-like or callable, optional
            Irreps (a string, :class:`Irreps` or :class:`Irrep`), a list of irreps, or a predicate on the terms.
        lmax : int, optional
            The largest degree kept.

        Notes
        -----
        e3nn 0.6.0 documents this behaviour but, given a string, :class:`Irreps` or :class:`Irrep` for ``keep``
        or ``drop``, compares whole terms (``mul`` included) instead of irreps; here the documented behaviour
        holds. Lists of irreps, predicates and ``lmax`` behave the same in both.

        Examples
        --------
        >>> x = Irreps("1e + 2e + 0e")
        >>> x.filter(keep=["0e", "1e"]), x.filter(keep="2e + 2x1e"), x.filter(drop="2e + 2x1e"), x.filter(lmax=1)
        (1x1e+1x0e, 1x1e+1x2e, 1x0e, 1x1e+1x0e)
        """
        if keep is not None and drop is not None:
            raise ValueError("Cannot specify both keep and drop")
        if keep is not None and lmax is not None:
            raise ValueError("Cannot specify both keep and lmax")
        if drop is not None and lmax is not None:
            raise ValueError("Cannot specify both drop and lmax")
        if keep is not None:
            if callable(keep):
                return tuple.__new__(Irreps, [x for x in self if keep(x)])
            irs = _irrep_set(keep)
            return tuple.__new__(Irreps, [x for x in self if x[1] in irs])
        if drop is not None:
            if callable(drop):
                return tuple.__new__(Irreps, [x for x in self if not drop(x)])
            irs = _irrep_set(drop)
            return tuple.__new__(Irreps, [x for x in self if x[1] not in irs])
        if lmax is not None:
            return tuple.__new__(Irreps, [x for x in self if x[1][0] <= lmax])
        return tuple.__new__(Irreps, self)

    @property
    def slice_by_mul(self) -> _SliceByMul:
        """Index the irreps by multiplicity: ``irreps.slice_by_mul[a:b]`` keeps the copies ``a`` to ``b - 1``.

        As in e3nn, terms of multiplicity 0 are kept when they lie within the slice (boundaries included), and an
        empty slice strictly inside a term gives that term with multiplicity 0.

        Examples
        --------
        >>> Irreps("4x0e + 4x1o").slice_by_mul[2:5]
        2x0e+1x1o
        """
        return _SliceByMul(self)

    @staticmethod
    def spherical_harmonics(lmax: int, p: int = -1) -> Irreps:
        """The irreps of the spherical harmonics of degrees ``0 ... lmax``: ``1x0e+1x1o+1x2e+...`` for ``p=-1``.

        Examples
        --------
        >>> Irreps.spherical_harmonics(3), Irreps.spherical_harmonics(2, p=1)
        (1x0e+1x1o+1x2e+1x3o, 1x0e+1x1e+1x2e)
        """
        return Irreps([(1, (l, p**l)) for l in range(lmax + 1)])

    def D_from_angles(
        self, alpha: torch.Tensor, beta: torch.Tensor, gamma: torch.Tensor, k: torch.Tensor | None = None
    ) -> torch.Tensor:
        r"""Block-diagonal matrix of the representation (see :meth:`Irrep.D_from_angles`): ``(..., dim, dim)``.

        Examples
        --------
        >>> a = torch.tensor(0.3, dtype=torch.float64)
        >>> D = Irreps("2x0e + 1o").D_from_angles(a, a, a)
        >>> D.shape, D[:2, :2].round(decimals=12).tolist(), D[:2, 2:].abs().sum().item()
        (torch.Size([5, 5]), [[1.0, 0.0], [0.0, 1.0]], 0.0)
        """
        if k is None:
            k = torch.zeros_like(alpha)
        alpha, beta, gamma, k = torch.broadcast_tensors(alpha, beta, gamma, k)
        out = alpha.new_zeros(*alpha.shape, self.dim, self.dim)
        for s, (mul, ir) in zip(self.slices(), self):
            if mul == 0:
                continue
            D = ir.D_from_angles(alpha, beta, gamma, k).to(out.dtype)
            d = ir.dim
            for u in range(mul):
                i = s.start + u * d
                out[..., i : i + d, i : i + d] = D
        return out


def _irrep_set(irreps: Any) -> set[Irrep]:
    if isinstance(irreps, (str, Irrep, Irreps)):
        return {ir for _, ir in Irreps(irreps)}
    try:
        items = iter(irreps)
    except TypeError:
        raise TypeError(
            f"expected irreps, a list of irreps or a predicate for keep/drop, got {_describe(irreps)}"
        ) from None
    return {Irrep(x) for x in items}


class _SliceByMul:
    """``irreps.slice_by_mul[a:b]``: see :attr:`Irreps.slice_by_mul`."""

    __slots__ = ("irreps",)

    def __init__(self, irreps: Irreps) -> None:
        self.irreps = irreps

    def __getitem__(self, s: slice) -> Irreps:
        if not isinstance(s, slice):
            raise IndexError(f"Irreps.slice_by_mul only supports slices like [a:b], got {_describe(s)}")
        if s.step not in (None, 1):
            raise NotImplementedError(f"Irreps.slice_by_mul does not support strides, got step {s.step}")
        start, stop, _ = s.indices(self.irreps.num_irreps)
        out = []
        i = 0
        for mul, ir in self.irreps:
            if mul == 0:
                if start <= i <= stop:
                    out.append(_mul_ir(0, ir))
            elif start <= stop:
                n = min(stop, i + mul) - max(start, i)
                if n > 0 or i < start < i + mul:
                    out.append(_mul_ir(max(n, 0), ir))
            i += mul
        return tuple.__new__(Irreps, out)


# doctest does not look into cached properties: their examples are collected through this table
__test__ = {f"Irreps.{name}": getattr(Irreps, name).__doc__ for name in ("dim", "num_irreps")}
