"""One irreducible representation of O(3), :class:`Irrep`; the terms ``mul x ir``; parsing irreps strings.

``Irrep`` is the immutable tuple ``(l, p)`` and a term the pair ``(mul, Irrep)``, so equality, hashing and ordering
are those of tuples, exactly as in e3nn 0.6.0. The direct sum :class:`~e3torch.o3.Irreps` is defined in
:mod:`e3torch.o3._irreps`, which stays the import path of both classes (``from e3torch.o3._irreps import Irrep,
Irreps``) and the ``__module__`` that their pickles name, as before the two were split into two files.

Errors: a bad value raises ``ValueError``; a bad type raises ``TypeError``. Where e3nn 0.6.0 raises
``ValueError`` for what is really a bad type (``Irrep(1.5, 1)``), the error raised here is an instance of both
``TypeError`` and ``ValueError``, so code written for either library keeps working.
"""

from __future__ import annotations

import functools
import operator
import types
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Union

import torch

if TYPE_CHECKING:
    from e3torch.o3._irreps import Irreps

__all__ = ["Irrep"]


class _BadTypeError(TypeError, ValueError):
    """A bad type where e3nn raises ``ValueError``: catchable as either."""


def _describe(x: object) -> str:
    return f"{x!r} (type {type(x).__name__})"


def _as_nonneg_int(x: object, what: str) -> int:
    """``x`` as a non-negative ``int`` (Python ints, bools, numpy/torch integers); else raise."""
    if type(x) is not int:
        if isinstance(x, (float, complex, str, bytes)):
            raise _BadTypeError(f"{what} must be a non-negative integer, got {_describe(x)}")
        try:
            x = operator.index(x)
        except TypeError:
            raise _BadTypeError(f"{what} must be a non-negative integer, got {_describe(x)}") from None
    if x < 0:
        raise ValueError(f"{what} must be a non-negative integer, got {x}")
    return x


_PARITY_OF_LETTER = {"e": 1, "o": -1}
_LETTER_OF_PARITY = {1: "e", -1: "o"}
_IRREP_CACHE: dict[tuple[int, int], Irrep] = {}
_IRREP_CACHE_LMAX = 128

IrrepLike = Union["Irrep", str, tuple[int, int]]


class _FromRotations:
    """``D_from_quaternion``, ``D_from_matrix`` and ``D_from_axis_angle``, through ``self.D_from_angles``."""

    __slots__ = ()

    def D_from_quaternion(self, q: torch.Tensor, k: torch.Tensor | None = None) -> torch.Tensor:
        """The representation of the rotation given by the unit quaternion ``q: (..., 4)`` (times inversion^k).

        Returns
        -------
        torch.Tensor
            Shape ``(..., dim, dim)``.

        Examples
        --------
        >>> from e3torch.o3 import Irreps
        >>> q = torch.tensor([1.0, 0.0, 0.0, 0.0], dtype=torch.float64)
        >>> Irreps("0e + 1o").D_from_quaternion(q).round(decimals=6).abs().sum().item()
        4.0
        """
        from e3torch.o3._rotation_quaternion import quaternion_to_angles

        return self.D_from_angles(*quaternion_to_angles(q), k)

    def D_from_matrix(self, R: torch.Tensor) -> torch.Tensor:
        """The representation of the orthogonal matrix ``R: (..., 3, 3)``; ``det R = -1`` includes the inversion.

        Returns
        -------
        torch.Tensor
            Shape ``(..., dim, dim)``.

        Examples
        --------
        >>> from e3torch.o3 import Irrep, Irreps
        >>> R = -torch.eye(3, dtype=torch.float64)
        >>> Irreps("0e + 0o + 1o").D_from_matrix(R).diagonal().round(decimals=6).tolist()
        [1.0, -1.0, -1.0, -1.0, -1.0]
        >>> Irrep("1e").D_from_matrix(R).round(decimals=6).abs().sum().item()
        3.0
        """
        from e3torch.o3._rotation import matrix_to_angles

        d = torch.det(R).sign()
        R = d[..., None, None] * R
        k = (1 - d) / 2
        return self.D_from_angles(*matrix_to_angles(R), k)

    def D_from_axis_angle(self, axis: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
        """The representation of the rotation by ``angle: (...)`` around ``axis: (..., 3)``.

        Returns
        -------
        torch.Tensor
            Shape ``(..., dim, dim)``.

        Examples
        --------
        >>> from e3torch.o3 import Irreps
        >>> axis = torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64)
        >>> Irreps("2x1e").D_from_axis_angle(axis, torch.tensor(1.0, dtype=torch.float64)).shape
        torch.Size([6, 6])
        """
        from e3torch.o3._rotation import axis_angle_to_angles

        return self.D_from_angles(*axis_angle_to_angles(axis, angle))


class Irrep(_FromRotations, tuple):
    r"""Irreducible representation of O(3): degree ``l`` (dimension ``2 l + 1``) and parity ``p``.

    Parameters
    ----------
    l : int or str or Irrep or tuple
        The degree ``l >= 0``; or a string ``"1o"``, ``"2e"``, ``"2y"`` (``y``: parity ``(-1)^l``, as for
        spherical harmonics); or an :class:`Irrep`; or a pair ``(l, p)``.
    p : {1, -1}, optional
        The parity: ``1`` (even, ``e``) or ``-1`` (odd, ``o``). Required when ``l`` is an integer.

    Examples
    --------
    >>> Irrep(1, -1), Irrep("1o"), Irrep("2y"), Irrep((0, 1))
    (1o, 1o, 2e, 0e)
    >>> Irrep("1o").dim, Irrep("1o").l, Irrep("1o").p
    (3, 1, -1)
    >>> Irrep("1o") == (1, -1), sorted([Irrep("1e"), Irrep("0e"), Irrep("1o"), Irrep("0o")])
    (True, [0o, 0e, 1o, 1e])
    """

    __slots__ = ()
    # defined here, but imported from and pickled as e3torch.o3._irreps (its home before the split), so that
    # pickles load both in older e3torch and here; doctest finds the methods' examples through __test__ below
    __module__ = "e3torch.o3._irreps"

    def __new__(cls, l: int | str | Irrep | tuple[int, int], p: int | None = None) -> Irrep:
        if cls is Irrep:  # fast paths: already-built irreps are shared (they are immutable)
            t = type(l)
            hit = None
            try:
                if p is None:
                    if t is Irrep:
                        return l
                    if t is str:
                        return _parse_irrep(l)
                    if t is tuple and len(l) == 2 and type(l[0]) is int:
                        hit = _IRREP_CACHE.get(l)
                elif t is int:
                    hit = _IRREP_CACHE.get((l, p))
            except TypeError:  # unhashable p: the general path below says what is wrong
                pass
            if hit is not None:
                return hit
        if p is None:
            if isinstance(l, Irrep):
                return l
            if isinstance(l, str):
                ir = _parse_irrep(str(l))
                return ir if cls is Irrep else tuple.__new__(cls, (ir[0], ir[1]))
            if not isinstance(l, tuple):
                raise _BadTypeError(
                    f"expected an Irrep, a string like '1o', a pair (l, p) or Irrep(l, p), got {_describe(l)}"
                )
            if tuple.__len__(l) != 2:
                raise ValueError(f"expected a pair (l, p), got a tuple of length {tuple.__len__(l)}: {l!r}")
            l, p = tuple.__getitem__(l, 0), tuple.__getitem__(l, 1)
        l = _as_nonneg_int(l, "l")
        try:
            good = p == 1 or p == -1
        except Exception:  # noqa: BLE001 - any failing comparison means "not a parity"
            good = False
        if not good or isinstance(p, (str, bytes)):
            raise ValueError(f"parity p must be one of (-1, 1), got {p!r}")
        p = 1 if p == 1 else -1
        ir = tuple.__new__(cls, (l, p))
        if cls is Irrep and l <= _IRREP_CACHE_LMAX:
            _IRREP_CACHE[(l, p)] = ir
        return ir

    l = property(operator.itemgetter(0), doc="The degree :math:`l \\geq 0`.")  # noqa: E741
    p = property(operator.itemgetter(1), doc="The parity, ``1`` (even) or ``-1`` (odd).")

    @property
    def dim(self) -> int:
        """The dimension ``2 l + 1``.

        Examples
        --------
        >>> Irrep("2e").dim
        5
        """
        return 2 * self[0] + 1

    def is_scalar(self) -> bool:
        """Whether this is the trivial representation ``0e``.

        Examples
        --------
        >>> Irrep("0e").is_scalar(), Irrep("0o").is_scalar()
        (True, False)
        """
        return self[0] == 0 and self[1] == 1

    def __repr__(self) -> str:
        return f"{self[0]}{_LETTER_OF_PARITY[self[1]]}"

    @staticmethod
    def iterator(lmax: int | None = None) -> Iterator[Irrep]:
        """All irreps in the order ``0e, 0o, 1o, 1e, 2e, 2o, ...`` (parity ``(-1)^l`` first), up to ``lmax``.

        Parameters
        ----------
        lmax : int, optional
            The last degree; ``None`` iterates forever.

        Examples
        --------
        >>> list(Irrep.iterator(2))
        [0e, 0o, 1o, 1e, 2e, 2o]
        """
        l = 0
        while True:
            sign = 1 if l % 2 == 0 else -1
            yield Irrep(l, sign)
            yield Irrep(l, -sign)
            if l == lmax:
                return
            l += 1

    def __mul__(self, other: object) -> Any:
        """``ir1 * ir2``: generator of the irreps in the tensor product; ``ir * n``: :class:`Irreps`.

        Examples
        --------
        >>> list(Irrep("1o") * Irrep("2o"))
        [1e, 2e, 3e]
        >>> Irrep("1o") * 3, 2 * Irrep("0e")
        (3x1o, 2x0e)
        """
        if isinstance(other, Irrep):
            return _product(self, other)
        if isinstance(other, int):
            from e3torch.o3._irreps import Irreps

            return Irreps([(other, self)])
        return NotImplemented

    def __rmul__(self, other: object) -> Any:
        if isinstance(other, int):
            from e3torch.o3._irreps import Irreps

            return Irreps([(other, self)])
        return NotImplemented

    def __add__(self, other: object) -> Irreps:
        """``ir + other``: the :class:`Irreps` ``Irreps(ir) + Irreps(other)``.

        Examples
        --------
        >>> Irrep("1o") + Irrep("0e"), Irrep("1o") + "2x0e"
        (1x1o+1x0e, 1x1o+2x0e)
        """
        from e3torch.o3._irreps import Irreps

        return Irreps(self) + Irreps(other)

    def count(self, _value: object) -> int:
        """Not supported (ambiguous for an irrep), as in e3nn."""
        raise NotImplementedError("Irrep.count is not supported; compare ir.l and ir.p instead")

    def index(self, _value: object, *args: object) -> int:
        """Not supported (ambiguous for an irrep), as in e3nn."""
        raise NotImplementedError("Irrep.index is not supported; use ir.l and ir.p instead")

    def __contains__(self, _value: object) -> bool:
        raise NotImplementedError("'x in irrep' is not supported; compare ir.l and ir.p instead")

    def __len__(self) -> int:
        raise NotImplementedError("len(irrep) is not supported; use ir.dim for the dimension")

    def __reduce__(self) -> tuple[type, tuple[int, int]]:
        return (Irrep, (self[0], self[1]))

    def D_from_angles(
        self, alpha: torch.Tensor, beta: torch.Tensor, gamma: torch.Tensor, k: torch.Tensor | None = None
    ) -> torch.Tensor:
        r"""The representation of the rotation :math:`Y(\alpha) X(\beta) Y(\gamma)` (e3nn's convention, see
        :func:`e3torch.o3.wigner_D`) times the inversion to the power ``k``.

        Parameters
        ----------
        alpha, beta, gamma : torch.Tensor
            Euler angles, broadcastable shapes ``(...)``.
        k : torch.Tensor, optional
            Number of inversions (``0`` or ``1``), shape ``(...)``; default none.

        Returns
        -------
        torch.Tensor
            Shape ``(..., dim, dim)``.

        Examples
        --------
        >>> a = torch.tensor([0.1, 0.2], dtype=torch.float64)
        >>> D = Irrep("1o").D_from_angles(a, a, a, torch.tensor(1))
        >>> D.shape, torch.allclose(D @ D.transpose(-1, -2), torch.eye(3, dtype=torch.float64))
        (torch.Size([2, 3, 3]), True)
        """
        from e3torch.o3._wigner import wigner_D

        if k is None:
            k = torch.zeros_like(alpha)
        alpha, beta, gamma, k = torch.broadcast_tensors(alpha, beta, gamma, k)
        return wigner_D(self[0], alpha, beta, gamma) * self[1] ** k[..., None, None]


def _product(a: Irrep, b: Irrep) -> Iterator[Irrep]:
    p = a[1] * b[1]
    for l in range(abs(a[0] - b[0]), a[0] + b[0] + 1):
        yield Irrep(l, p)


_IRREP_HELP = "expected '<l><p>' with l a non-negative integer and p one of 'e', 'o', 'y' (e.g. '1o')"


def _irrep_from_str(text: str) -> Irrep | str:
    """The irrep written in ``text``, or a string saying what is wrong with it."""
    s = text.strip()
    if not s:
        return "the irrep is empty"
    letter = s[-1]
    if letter not in "eoy":
        return f"the parity {letter!r} is not one of 'e', 'o', 'y'"
    try:
        l = int(s[:-1])
    except ValueError:
        return f"the degree {s[:-1].strip()!r} is not an integer"
    if l < 0:
        return f"the degree must be >= 0, got {l}"
    p = _PARITY_OF_LETTER[letter] if letter != "y" else (1 if l % 2 == 0 else -1)
    return Irrep(l, p)


@functools.lru_cache(maxsize=1024)
def _parse_irrep(text: str) -> Irrep:
    ir = _irrep_from_str(text)
    if isinstance(ir, str):
        raise ValueError(f"unable to convert string {text!r} into an Irrep: {ir}; {_IRREP_HELP}")
    return ir


class _MulIr(tuple):
    """One term ``mul x ir`` of an :class:`Irreps`: a pair ``(mul, ir)``.

    Parameters
    ----------
    mul : int or tuple
        The multiplicity ``>= 0``, or the pair ``(mul, ir)``.
    ir : Irrep
        The irrep.

    Examples
    --------
    >>> x = Irreps("3x1o")[0]
    >>> x, x.mul, x.ir, x.dim
    (3x1o, 3, 1o, 9)
    >>> mul, ir = x
    """

    __slots__ = ()
    __module__ = "e3torch.o3._irreps"  # as for Irrep

    def __new__(cls, mul: int | tuple[int, Irrep], ir: Irrep | None = None) -> _MulIr:
        if ir is None:
            mul, ir = mul  # type: ignore[misc]
        mul = _as_nonneg_int(mul, "the multiplicity")
        if not isinstance(ir, Irrep):
            raise TypeError(f"expected ir to be an Irrep, got {_describe(ir)}")
        return tuple.__new__(cls, (mul, ir))

    mul = property(operator.itemgetter(0), doc="The multiplicity.")
    ir = property(operator.itemgetter(1), doc="The irrep.")

    @property
    def dim(self) -> int:
        """``mul * ir.dim``."""
        return self[0] * (2 * self[1][0] + 1)

    def __repr__(self) -> str:
        return f"{self[0]}x{self[1]!r}"

    def count(self, _value: object) -> int:
        """Not supported, as in e3nn."""
        raise NotImplementedError("_MulIr.count is not supported; use .mul and .ir")

    def index(self, _value: object, *args: object) -> int:
        """Not supported, as in e3nn."""
        raise NotImplementedError("_MulIr.index is not supported; use .mul and .ir")


def _mul_ir(mul: int, ir: Irrep) -> _MulIr:
    return tuple.__new__(_MulIr, (mul, ir))


_IRREPS_HELP = "expected '[mul x] <l><p>' terms joined by '+', with p one of 'e', 'o', 'y' (e.g. '16x1e + 2x0o')"


@functools.lru_cache(maxsize=1024)
def _parse_irreps(text: str) -> tuple[_MulIr, ...]:
    """The terms of an irreps string (cached on the string). Errors are diagnosed by :func:`_bad_term`."""
    if not text.strip():
        return ()
    out = []
    cache = _IRREP_CACHE
    for term in text.split("+"):
        parts = term.split("x")
        try:
            if len(parts) == 1:
                mul, s = 1, term.strip()
            elif len(parts) == 2:
                mul, s = int(parts[0]), parts[1].strip()
            else:
                raise ValueError
            l = int(s[:-1])
            letter = s[-1]
            p = _PARITY_OF_LETTER[letter] if letter != "y" else (1 if l % 2 == 0 else -1)
            if mul < 0 or l < 0:
                raise ValueError
        except (ValueError, IndexError, KeyError):
            raise _bad_term(term, text) from None
        ir = cache.get((l, p))
        if ir is None:
            ir = Irrep(l, p)
        out.append(tuple.__new__(_MulIr, (mul, ir)))
    return tuple(out)


def _bad_term(term: str, text: str) -> ValueError:
    """The error for an invalid term of an irreps string, saying what is wrong with it."""
    parts = term.split("x")
    why = None
    if len(parts) > 2:
        why = "more than one 'x'"
    elif len(parts) == 2:
        try:
            mul = int(parts[0])
        except ValueError:
            why = f"the multiplicity {parts[0].strip()!r} is not an integer"
        else:
            if mul < 0:
                why = f"the multiplicity must be >= 0, got {mul}"
    if why is None:
        ir = _irrep_from_str(parts[-1])
        why = ir if isinstance(ir, str) else "invalid"
    return ValueError(f"invalid irrep {term.strip()!r} in {text!r}: {why}; {_IRREPS_HELP}")


# doctest collects a class's docstring in the module its __module__ names (e3torch.o3._irreps) and there only the
# members whose globals are that module's; the examples of the methods defined here are collected here instead.
__test__ = {
    f"{cls.__name__}.{name}": getattr(cls, name)
    for cls in (Irrep, _MulIr)
    for name, member in vars(cls).items()
    if isinstance(member, (types.FunctionType, staticmethod)) and getattr(cls, name).__doc__
}
