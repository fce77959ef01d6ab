"""Associated Legendre functions: exact constants and the :class:`Legendre` module.

Conventions (those of e3nn 0.6.0). For degree ``l`` and order ``0 <= m <= l``, ``P_l^{(m)}`` is the ``m``-th
derivative of the Legendre polynomial ``P_l`` (no Condon-Shortley phase), and the associated Legendre function is
``P_l^m(cos b) = sin(b)^m P_l^{(m)}(cos b)``. The *integral* normalisation multiplies it by

    sqrt((2 l + 1) / (4 pi) * (l - m)! / (l + m)!)

Everything here is computed from the mathematics: rational numbers (:class:`fractions.Fraction`) where the
constant is rational (or the square root of a rational), converted to float64 once, and the zeros of
``P_l^{(m)}`` as the eigenvalues of the symmetric Jacobi matrix of the Gegenbauer polynomials
``C_{l-m}^{(m + 1/2)}`` (which ``P_l^{(m)}`` is proportional to), accurate to a few units in the last place.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Sequence
from fractions import Fraction

import torch

__all__ = [
    "Legendre",
    "legendre_derivative_roots",
    "legendre_leading_coefficient",
    "legendre_recursion_coefficients",
    "normalization_squared",
]


def _check_degree(l: object, what: str = "l") -> int:
    """``l`` as a non-negative Python int, or raise (``TypeError`` for a non-integer, ``ValueError`` if < 0)."""
    if isinstance(l, bool) or not isinstance(l, int):
        try:
            import operator

            if isinstance(l, (float, complex, str, bytes)):
                raise TypeError
            l = operator.index(l)  # numpy / torch integers
        except TypeError:
            raise TypeError(
                f"expected {what} to be a non-negative int, got {l!r} (type {type(l).__name__})"
            ) from None
    if l < 0:
        raise ValueError(f"expected {what} to be a non-negative int, got {l}")
    return int(l)


def normalization_squared(l: int, m: int) -> Fraction:
    """The square of the integral normalisation of ``P_l^m``, without its ``1 / (4 pi)``: ``(2l+1)(l-m)!/(l+m)!``.

    Parameters
    ----------
    l, m : int
        Degree and order, ``0 <= m <= l``.

    Returns
    -------
    fractions.Fraction

    Examples
    --------
    >>> normalization_squared(2, 1)
    Fraction(5, 6)
    """
    m = abs(m)
    return Fraction((2 * l + 1) * math.factorial(l - m), math.factorial(l + m))


def legendre_leading_coefficient(l: int, m: int) -> Fraction:
    """The leading coefficient of ``P_l^{(m)}(t)`` (the coefficient of ``t^(l-m)``): ``(2l)! / (2^l l! (l-m)!)``.

    Examples
    --------
    >>> legendre_leading_coefficient(2, 0), legendre_leading_coefficient(3, 3)
    (Fraction(3, 2), Fraction(15, 1))
    """
    m = abs(m)
    return Fraction(math.factorial(2 * l), 2**l * math.factorial(l) * math.factorial(l - m))


@functools.cache
def legendre_derivative_roots(l: int, m: int) -> tuple[float, ...]:
    """The positive zeros of ``P_l^{(m)}`` (in increasing order), in float64.

    ``P_l^{(m)}`` has ``l - m`` simple zeros in ``(-1, 1)``, symmetric about 0 (0 itself is one when ``l - m`` is
    odd); these are the eigenvalues of the Jacobi matrix of the Gegenbauer polynomial ``C_{l-m}^{(m+1/2)}``: zero
    diagonal and off-diagonal ``sqrt(k (k + 2a - 1) / (4 (k + a) (k + a - 1)))``, ``a = m + 1/2``.

    Parameters
    ----------
    l, m : int
        Degree and order, ``0 <= m <= l``.

    Returns
    -------
    tuple of float
        The ``(l - m) // 2`` positive zeros.

    Examples
    --------
    >>> [round(t, 12) for t in legendre_derivative_roots(2, 0)]  # P_2 = (3 t^2 - 1) / 2
    [0.57735026919]
    >>> legendre_derivative_roots(3, 2)  # P_3'' = 15 t: only the zero at 0
    ()
    """
    n = l - abs(m)
    if n < 2:
        return ()
    a = Fraction(2 * abs(m) + 1, 2)
    off = [math.sqrt(Fraction(k * (k + 2 * a - 1), 4 * (k + a) * (k + a - 1))) for k in range(1, n)]
    jacobi = torch.zeros(n, n, dtype=torch.float64)
    idx = torch.arange(n - 1)
    jacobi[idx, idx + 1] = torch.tensor(off, dtype=torch.float64)
    jacobi[idx + 1, idx] = jacobi[idx, idx + 1]
    eig = torch.linalg.eigvalsh(jacobi)
    # the spectrum is symmetric: average t and -t to remove the eigensolver's asymmetry
    pos = (eig.flip(0)[: n // 2] - eig[: n // 2]) / 2
    return tuple(sorted(float(t) for t in pos))


@functools.cache
def legendre_recursion_coefficients(lmax: int) -> tuple[tuple[tuple[float, float], ...], ...]:
    """Coefficients of the three-term recursion of the *normalised* ``P_l^{(m)}``.

    With ``Pbar_l^m = sqrt((2l+1)(l-m)!/(l+m)!) P_l^{(m)}`` (no ``1 / sqrt(4 pi)``), for ``l >= m + 1``:
    ``Pbar_l^m(t) = A t Pbar_{l-1}^m(t) - B Pbar_{l-2}^m(t)`` (the second term absent for ``l = m + 1``).
    The squares of ``A`` and ``B`` are rational; each is converted to float64 once.

    Parameters
    ----------
    lmax : int

    Returns
    -------
    tuple
        ``coef[l][m] = (A, B)`` for ``0 <= m < l <= lmax`` (``coef[0]`` is empty).

    Examples
    --------
    >>> a, b = legendre_recursion_coefficients(2)[2][0]  # sqrt(5)(3t^2 - 1)/2 = a t (sqrt(3) t) - b
    >>> round(a, 12), round(b, 12)  # sqrt(15) / 2, sqrt(5) / 2
    (1.936491673104, 1.11803398875)
    """
    out = []
    for l in range(lmax + 1):
        row = []
        for m in range(l):
            # Q_l = ((2l-1) t Q_{l-1} - (l+m-1) Q_{l-2}) / (l-m), Q = unnormalised P^{(m)}
            r1 = normalization_squared(l, m) / normalization_squared(l - 1, m)
            a = Fraction(2 * l - 1, l - m) ** 2 * r1
            if l - 2 >= m:
                r2 = normalization_squared(l, m) / normalization_squared(l - 2, m)
                b = Fraction(l + m - 1, l - m) ** 2 * r2
            else:
                b = Fraction(0)
            row.append((math.sqrt(a), math.sqrt(b)))
        out.append(tuple(row))
    return tuple(out)


def _diagonal_value(m: int) -> float:
    """``Pbar_m^m = sqrt((2m+1)/(2m)!) (2m-1)!!`` (a constant), from its exact square."""
    double_factorial = math.prod(range(1, 2 * m, 2))
    return math.sqrt(Fraction((2 * m + 1) * double_factorial**2, math.factorial(2 * m)))


@dataclasses.dataclass(frozen=True)
class LegendrePlan:
    """The immutable plan of :class:`Legendre`.

    Attributes
    ----------
    ls : tuple of int
        The degrees, in output order.
    lmax : int
    table_index : tuple of int
        For every output column, its position in the table of ``Pbar_l^m`` (``l <= lmax``, ``m <= l``, ordered by
        ``l`` then ``m``).
    power : tuple of int
        For every output column, the power ``|m|`` of ``y``.
    """

    ls: tuple[int, ...]
    lmax: int
    table_index: tuple[int, ...]
    power: tuple[int, ...]

    @property
    def dim(self) -> int:
        """The output dimension ``sum(2 l + 1)``."""
        return len(self.table_index)


def _table_position(l: int, m: int) -> int:
    return l * (l + 1) // 2 + m


def make_legendre_plan(ls: Sequence[int]) -> LegendrePlan:
    """The plan for degrees ``ls``: columns ``m = -l..l`` of every ``l``, holding ``Pbar_l^{|m|}``.

    Examples
    --------
    >>> make_legendre_plan([1]).power
    (1, 0, 1)
    """
    ls = tuple(_check_degree(l) for l in ls)
    lmax = max(ls, default=0)
    index, power = [], []
    for l in ls:
        for m in range(-l, l + 1):
            index.append(_table_position(l, abs(m)))
            power.append(abs(m))
    return LegendrePlan(ls, lmax, tuple(index), tuple(power))


def legendre_table(t: torch.Tensor, lmax: int) -> list[torch.Tensor]:
    """``Pbar_l^{(m)}(t)`` for all ``m <= l <= lmax``, by the three-term recursion in ``l`` (batched over ``m``).

    Parameters
    ----------
    t : torch.Tensor
        Any shape ``(...)``.
    lmax : int

    Returns
    -------
    list of torch.Tensor
        ``table[l]`` of shape ``(..., l + 1)``, column ``m`` holding ``sqrt((2l+1)(l-m)!/(l+m)!) P_l^{(m)}(t)``.

    Examples
    --------
    >>> tab = legendre_table(torch.tensor([0.5], dtype=torch.float64), 2)
    >>> [row.shape[-1] for row in tab], round(tab[1][0, 0].item(), 6)  # sqrt(3) * 0.5
    ([1, 2, 3], 0.866025)
    """
    coef = legendre_recursion_coefficients(lmax)
    t = t.unsqueeze(-1)
    table = [torch.ones_like(t)]
    for l in range(1, lmax + 1):
        a = t.new_tensor([c[0] for c in coef[l]])
        new = a * t * table[l - 1]
        if l >= 2:
            b = t.new_tensor([c[1] for c in coef[l][: l - 1]])
            low = torch.nn.functional.pad(b * table[l - 2], (0, 1))
            new = new - low
        diag = torch.full_like(t, _diagonal_value(l))
        table.append(torch.cat([new, diag], dim=-1))
    return table


class Legendre(torch.nn.Module):
    r"""The associated Legendre functions of degrees ``ls``, laid out as the columns of spherical harmonics.

    ``forward(z, y)`` returns, for every ``l`` in ``ls`` and ``m = -l..l``,

    .. math:: \sqrt{\tfrac{2l+1}{4\pi}\tfrac{(l-|m|)!}{(l+|m|)!}} \; P_l^{(|m|)}(z) \; y^{|m|}

    where :math:`P_l^{(m)}` is the ``m``-th derivative of the Legendre polynomial. With ``z = cos(beta)`` and
    ``y = sin(beta)`` this is the integral-normalised associated Legendre function ``P_l^{|m|}(cos beta)``, the
    ``beta`` part of :func:`spherical_harmonics_alpha_beta`. It is evaluated by the stable three-term recursion
    in ``l`` (not by expanded polynomials), so any degree works.

    Parameters
    ----------
    ls : list of int
        The degrees, in output order (repeats allowed).

    Examples
    --------
    >>> leg = Legendre([0, 1])
    >>> z, y = torch.tensor([1.0]), torch.tensor([0.0])  # beta = 0
    >>> leg(z, y).shape
    torch.Size([1, 4])
    >>> [round(v, 4) for v in leg(z, y)[0].tolist()]
    [0.2821, 0.0, 0.4886, 0.0]
    """

    def __init__(self, ls: Sequence[int]) -> None:
        super().__init__()
        if isinstance(ls, (str, bytes)) or not isinstance(ls, Sequence):
            raise TypeError(
                f"expected ls to be a list of non-negative ints, got {ls!r} (type {type(ls).__name__})"
            )
        self.plan = make_legendre_plan(ls)
        self.ls = list(self.plan.ls)
        self.register_buffer(
            "_index", torch.tensor(self.plan.table_index, dtype=torch.long), persistent=False
        )
        self.register_buffer("_power", torch.tensor(self.plan.power, dtype=torch.long), persistent=False)

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Evaluate at ``z: (...)`` and ``y: (...)`` (broadcast together); returns ``(..., sum(2 l + 1))``."""
        z, y = torch.broadcast_tensors(z, y)
        lmax = self.plan.lmax
        table = torch.cat(legendre_table(z, lmax), dim=-1) * (1 / math.sqrt(4 * math.pi))
        ypow = torch.cumprod(
            torch.cat([torch.ones_like(y).unsqueeze(-1), y.unsqueeze(-1).expand(*y.shape, lmax)], -1), -1
        )
        return table.index_select(-1, self._index) * ypow.index_select(-1, self._power)
