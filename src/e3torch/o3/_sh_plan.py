"""The plan of the spherical harmonics: every component as a product of quadratic forms.

Convention (e3nn 0.6.0): e3nn's ``(x, y, z)`` are the standard ``(Y, Z, X)`` axes, i.e. ``y`` is the polar axis
and ``w = z + i x`` the azimuthal plane. With the solid harmonics written as

    R_l^m(x) = Q_l^{|m|}(y, r) * (Re w^m  for m > 0,  1 for m = 0,  Im w^|m| for m < 0)

where ``Q_l^m(y, r) = r^(l-m) P_l^{(m)}(y / r)`` (``P_l^{(m)}`` the ``m``-th derivative of the Legendre polynomial),
e3nn's component-normalised harmonic of degree ``l`` and order ``m`` is
``sqrt((2l+1) (2 - [m = 0]) (l-|m|)! / (l+|m|)!) R_l^m``.

Every such polynomial factors exactly into real forms of degree one and two:

* ``P_l^{(m)}`` is real-rooted and of parity ``(-1)^(l-m)``, so
  ``Q_l^m = c * y^((l-m) mod 2) * prod_j (y^2 - t_j^2 r^2)`` over its positive zeros ``t_j``;
* ``Im w^m = 2^(m-1) prod_k (x cos(k pi/m) + z sin(k pi/m))`` and
  ``Re w^m = 2^(m-1) prod_k (x cos((2k+1) pi/(2m)) + z sin((2k+1) pi/(2m)))``.

Pairing the linear factors gives ``ceil(l / 2)`` homogeneous quadratic forms per component (the last one possibly
linear). A quadratic form is a linear combination of the 10 products ``u_i u_j`` (``i <= j``) of
``u = (x, y, z, 1)``, so each of the ``F = ceil(lmax / 2)`` factors of all the components is *one* matrix
product ``phi(x) @ W_k``: the whole forward is a few element-wise operations, one matrix product and ``F - 1``
element-wise products. Products of well-conditioned factors lose no precision (unlike expanded polynomials,
whose coefficients grow exponentially with ``l``), so any degree is accurate.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from fractions import Fraction

import torch

from e3torch.o3._legendre import (
    legendre_derivative_roots,
    legendre_leading_coefficient,
    normalization_squared,
)

__all__ = ["NORMALIZATIONS", "PAIRS", "SphericalHarmonicsPlan", "make_plan"]

NORMALIZATIONS = ("integral", "component", "norm")

#: the features ``phi_p = u_i u_j`` of ``u = (x, y, z, 1)``: the 6 quadratic monomials, the 3 linear ones, 1
PAIRS: tuple[tuple[int, int], ...] = (
    (0, 0),
    (0, 1),
    (0, 2),
    (1, 1),
    (1, 2),
    (2, 2),
    (0, 3),
    (1, 3),
    (2, 3),
    (3, 3),
)


@dataclasses.dataclass(frozen=True)
class SphericalHarmonicsPlan:
    """The immutable plan of the spherical harmonics of degrees ``ls``.

    Attributes
    ----------
    ls : tuple of int
        The degrees, in output order.
    normalization : str
        ``"integral"``, ``"component"`` or ``"norm"``.
    dim : int
        The output dimension ``sum(2 l + 1)``.
    num_factors : int
        ``F = max(1, ceil(lmax / 2))``: the number of quadratic factors of every component.
    weight : tuple of float
        Row-major ``(F, 10, dim)`` float64 array: ``weight[k, :, c]`` holds factor ``k`` of component ``c`` as
        coefficients of the features ``u_i u_j`` (see :data:`PAIRS`).
    """

    ls: tuple[int, ...]
    normalization: str
    dim: int
    num_factors: int
    weight: tuple[float, ...] = dataclasses.field(repr=False)

    def weight_tensor(
        self, dtype: torch.dtype | None = None, device: torch.device | None = None
    ) -> torch.Tensor:
        """The factor matrices as a ``(F, 10, dim)`` tensor: ``W[k]`` maps the features to factor ``k``.

        Examples
        --------
        >>> make_plan((0, 1, 2, 3), "component").weight_tensor(torch.float64).shape
        torch.Size([2, 10, 16])
        """
        w = torch.tensor(self.weight, dtype=torch.float64).reshape(self.num_factors, len(PAIRS), self.dim)
        return w.to(dtype=dtype if dtype is not None else torch.get_default_dtype(), device=device)


def _constant_squared(l: int, m: int, normalization: str) -> Fraction:
    """The square of the constant in front of the product of the (unscaled) factors, without ``1/(4 pi)``."""
    am = abs(m)
    c2 = normalization_squared(l, am) * (2 if am else 1) * legendre_leading_coefficient(l, am) ** 2
    if am:
        c2 *= Fraction(4**am, 4)  # (2^(m-1))^2
    if normalization == "norm":
        c2 /= 2 * l + 1
    return c2


def _linear(a: tuple[float, float, float, float]) -> torch.Tensor:
    """The quadratic form (4x4, symmetric) ``(a . u) * u_4`` with ``u_4 = 1``: a linear form."""
    v = torch.tensor(a, dtype=torch.float64)
    e = torch.tensor([0.0, 0.0, 0.0, 1.0], dtype=torch.float64)
    return (torch.outer(v, e) + torch.outer(e, v)) / 2


def _product(a: tuple[float, ...], b: tuple[float, ...]) -> torch.Tensor:
    """The quadratic form ``(a . u) (b . u)``."""
    va = torch.tensor(a, dtype=torch.float64)
    vb = torch.tensor(b, dtype=torch.float64)
    return (torch.outer(va, vb) + torch.outer(vb, va)) / 2


def _component_factors(l: int, m: int) -> list[torch.Tensor]:
    """The ``ceil(l / 2)`` quadratic forms (4x4) whose product is ``R_l^m`` up to its constant."""
    am = abs(m)
    linear: list[tuple[float, float, float, float]] = []
    if m > 0:
        angles = [(2 * k + 1) * math.pi / (2 * am) for k in range(am)]
    else:
        angles = [k * math.pi / am for k in range(am)]
    linear += [(math.cos(a), 0.0, math.sin(a), 0.0) for a in angles]
    if (l - am) % 2:
        linear.append((0.0, 1.0, 0.0, 0.0))
    quads = [
        torch.diag(torch.tensor([-t * t, 1 - t * t, -t * t, 0.0], dtype=torch.float64))
        for t in legendre_derivative_roots(l, am)
    ]
    for i in range(0, len(linear) - 1, 2):
        quads.append(_product(linear[i], linear[i + 1]))
    if len(linear) % 2:
        quads.append(_linear(linear[-1]))
    return quads


def _as_features(q: torch.Tensor) -> list[float]:
    """A symmetric 4x4 quadratic form as coefficients of the features ``u_i u_j``, ``i <= j``."""
    return [float(q[i, j]) if i == j else float(q[i, j] + q[j, i]) for i, j in PAIRS]


@functools.lru_cache(maxsize=256)
def make_plan(ls: tuple[int, ...], normalization: str) -> SphericalHarmonicsPlan:
    """The plan (factor matrix) for degrees ``ls`` (already validated) and ``normalization``.

    Parameters
    ----------
    ls : tuple of int
        Non-negative degrees, in output order.
    normalization : {"integral", "component", "norm"}

    Returns
    -------
    SphericalHarmonicsPlan

    Examples
    --------
    >>> make_plan((0, 1, 2), "integral")
    SphericalHarmonicsPlan(ls=(0, 1, 2), normalization='integral', dim=9, num_factors=1)
    """
    lmax = max(ls)
    num_factors = max(1, (lmax + 1) // 2)
    one = torch.zeros(4, 4, dtype=torch.float64)
    one[3, 3] = 1.0
    columns: list[list[list[float]]] = []  # columns[c][k] = 10 coefficients
    for l in ls:
        for m in range(-l, l + 1):
            factors = _component_factors(l, m)
            factors += [one] * (num_factors - len(factors))
            c2 = _constant_squared(l, m, normalization)
            scale = math.sqrt(c2) if normalization != "integral" else math.sqrt(float(c2) / (4 * math.pi))
            s = scale ** (1.0 / num_factors)
            columns.append([[s * v for v in _as_features(f)] for f in factors])
    dim = len(columns)
    weight = [0.0] * (num_factors * len(PAIRS) * dim)
    for c, factors in enumerate(columns):
        for k, coef in enumerate(factors):
            for p, v in enumerate(coef):
                weight[(k * len(PAIRS) + p) * dim + c] = v
    return SphericalHarmonicsPlan(tuple(ls), normalization, dim, num_factors, tuple(weight))
