"""Exact constants behind the Wigner matrices, in rational arithmetic.

Every constant here is a signed square root of a rational number, ``t * sqrt(r)`` with ``t`` and ``r`` of type
:class:`fractions.Fraction`. It is computed exactly and rounded to a float once, by :func:`signed_sqrt`.

The real basis of e3nn (and e3torch) is related to the complex basis of the spherical harmonics
:math:`|l, m\\rangle` by the unitary matrix ``Q = change_basis_real_to_complex(l)``, indexed ``Q[m, i]``
(complex index ``m`` first, real index ``i`` second, both running over ``-l..l``). Its only non-zero entries
are ``Q[m, i]`` with ``|m| = |i|``, and each is ``(-i)**l * i**p / sqrt(2)`` (``1`` for ``m = i = 0``) for the
integer ``p`` given by :func:`real_basis_phase`. Because the magnitude of every Clebsch-Gordan coefficient and
of every entry of the small Wigner matrix :math:`d^l(\\pi/2)` only depends on ``|m|``, the few complex terms
that combine into one real-basis entry share one square root, so the real-basis entries stay exact.
"""

from __future__ import annotations

import math
from fractions import Fraction

__all__ = ["real_basis_phase", "real_d_half_pi_entries", "real_wigner_3j_entries", "signed_sqrt"]

_RE = (1, 0, -1, 0)  # real part of i**p for p = 0, 1, 2, 3
_IM = (0, 1, 0, -1)  # imaginary part of i**p


def real_basis_phase(m: int, i: int) -> int | None:
    """The exponent ``p`` (mod 4) of the unit ``i**p`` in ``Q[m, i]``, or ``None`` where ``Q[m, i] = 0``.

    Parameters
    ----------
    m : int
        complex-basis index (the magnetic number)
    i : int
        real-basis index, ``-l <= i <= l``

    Returns
    -------
    int or None

    Examples
    --------
    >>> [real_basis_phase(m, -1) for m in (-1, 0, 1)]
    [3, None, 3]
    """
    mu = abs(i)
    if abs(m) != mu:
        return None
    if mu == 0:
        return 0
    if i < 0:
        return 3 if m < 0 else (1 + 2 * mu) % 4
    return 0 if m < 0 else (2 * mu) % 4


def signed_sqrt(t: Fraction, r: Fraction) -> float:
    """``t * sqrt(r)`` rounded to the nearest float (within one unit in the last place).

    Examples
    --------
    >>> signed_sqrt(Fraction(-1), Fraction(1, 4))
    -0.5
    """
    if t == 0 or r == 0:
        return 0.0
    return math.copysign(math.sqrt(t * t * r), t)


def _signs(mu: int) -> tuple[int, ...]:
    return (0,) if mu == 0 else (-mu, mu)


def _cg_sum(j1: int, m1: int, j2: int, m2: int, j3: int) -> Fraction:
    """The alternating sum in Racah's formula for :math:`\\langle j_1 m_1 j_2 m_2 | j_3, m_1+m_2\\rangle`."""
    f = math.factorial
    kmin = max(0, j2 - j3 - m1, j1 - j3 + m2)
    kmax = min(j1 + j2 - j3, j1 - m1, j2 + m2)
    total = Fraction(0)
    for k in range(kmin, kmax + 1):
        den = (
            f(k)
            * f(j1 + j2 - j3 - k)
            * f(j1 - m1 - k)
            * f(j2 + m2 - k)
            * f(j3 - j2 + m1 + k)
            * f(j3 - j1 - m2 + k)
        )
        total += Fraction(-1 if k % 2 else 1, den)
    return total


def _cg_radicand(j1: int, m1: int, j2: int, m2: int, j3: int) -> Fraction:
    """The rational under the square root of Racah's formula, divided by ``2 j3 + 1``."""
    f = math.factorial
    m3 = m1 + m2
    triangle = Fraction(f(j3 + j1 - j2) * f(j3 - j1 + j2) * f(j1 + j2 - j3), f(j1 + j2 + j3 + 1))
    return triangle * f(j3 + m3) * f(j3 - m3) * f(j1 - m1) * f(j1 + m1) * f(j2 - m2) * f(j2 + m2)


def real_wigner_3j_entries(l1: int, l2: int, l3: int) -> list[tuple[int, int, int, float]]:
    """The non-zero entries ``(i1, i2, i3, value)`` of the real-basis, unit-norm Wigner 3j tensor.

    The tensor is ``C[i1, i2, i3] = sum CG[m1, m2, m3] Q1[m1, i1] Q2[m2, i2] conj(Q3[m3, i3])``
    ``/ sqrt(2 l3 + 1)`` with ``CG`` the Clebsch-Gordan coefficients
    :math:`\\langle l_1 m_1 l_2 m_2 | l_3 m_3\\rangle` (Condon-Shortley phase); it is real and of unit
    Frobenius norm. Indices run over ``-l..l``. The triple must satisfy the triangle condition (checked by the
    caller).

    Examples
    --------
    >>> [(i1, i2, i3, round(v, 4)) for i1, i2, i3, v in real_wigner_3j_entries(1, 1, 0)]
    [(-1, -1, 0, 0.5774), (0, 0, 0, 0.5774), (1, 1, 0, 0.5774)]
    """
    phase0 = (3 * l1 + 3 * l2 + l3) % 4  # from (-i)**l1 (-i)**l2 conj((-i)**l3)
    sums: dict[tuple[int, int], Fraction] = {}
    entries = []
    for i1 in range(-l1, l1 + 1):
        for i2 in range(-l2, l2 + 1):
            mu1, mu2 = abs(i1), abs(i2)
            mu3s = {mu1 + mu2, abs(mu1 - mu2)}
            for i3 in sorted({s * mu for mu in mu3s if mu <= l3 for s in (-1, 1)}):
                re = Fraction(0)
                im = Fraction(0)
                for m1 in _signs(mu1):
                    for m2 in _signs(mu2):
                        m3 = m1 + m2
                        if abs(m3) != abs(i3):
                            continue
                        if (m1, m2) not in sums:
                            sums[m1, m2] = _cg_sum(l1, m1, l2, m2, l3)
                        p1 = real_basis_phase(m1, i1)
                        p2 = real_basis_phase(m2, i2)
                        p3 = real_basis_phase(m3, i3)
                        p = (phase0 + p1 + p2 - p3) % 4
                        re += sums[m1, m2] * _RE[p]
                        im += sums[m1, m2] * _IM[p]
                if im != 0:  # pragma: no cover - a broken convention, not a user error
                    raise RuntimeError(f"wigner_3j({l1}, {l2}, {l3}) is not real at {(i1, i2, i3)}")
                if re == 0:
                    continue
                n_complex = (mu1 != 0) + (mu2 != 0) + (abs(i3) != 0)
                radicand = _cg_radicand(l1, mu1, l2, mu2 if mu1 + mu2 == abs(i3) else -mu2, l3)
                entries.append((i1, i2, i3, signed_sqrt(re, radicand / 2**n_complex)))
    return entries


def _d_half_pi_sum(l: int, m1: int, m2: int) -> Fraction:
    """The alternating sum in Wigner's formula for :math:`d^l_{m_1 m_2}(\\pi/2)`."""
    f = math.factorial
    total = Fraction(0)
    for k in range(max(0, m2 - m1), min(l + m2, l - m1) + 1):
        sign = -1 if (m1 - m2 + k) % 2 else 1
        total += Fraction(sign, f(l + m2 - k) * f(k) * f(m1 - m2 + k) * f(l - m1 - k))
    return total


def real_d_half_pi_entries(l: int) -> list[list[float]]:
    """The real-basis matrix ``Q^H d^l(pi/2) Q``: the representation of a rotation by ``pi/2`` about ``x``.

    Here ``d^l(beta) = exp(-i beta J_y)`` is the small Wigner matrix (Condon-Shortley phase) and ``Q`` the
    change of basis :func:`~e3torch.o3.change_basis_real_to_complex`. Rows and columns run over ``-l..l``.

    Examples
    --------
    >>> [[round(x, 4) for x in row] for row in real_d_half_pi_entries(1)]
    [[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]]
    """
    f = math.factorial
    out = []
    for a in range(-l, l + 1):
        row = []
        for b in range(-l, l + 1):
            re = Fraction(0)
            im = Fraction(0)
            for m1 in _signs(abs(a)):
                for m2 in _signs(abs(b)):
                    s = _d_half_pi_sum(l, m1, m2)
                    p = (real_basis_phase(m2, b) - real_basis_phase(m1, a)) % 4
                    re += s * _RE[p]
                    im += s * _IM[p]
            if im != 0:  # pragma: no cover - a broken convention, not a user error
                raise RuntimeError(f"d^{l}(pi/2) is not real in the real basis at {(a, b)}")
            radicand = Fraction(f(l + a) * f(l - a) * f(l + b) * f(l - b), 2 ** (2 * l + (a != 0) + (b != 0)))
            row.append(signed_sqrt(re, radicand))
        out.append(row)
    return out
