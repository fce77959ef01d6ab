"""Spherical harmonics of vectors: :func:`spherical_harmonics` and :class:`SphericalHarmonics`.

Same signature, conventions and numbers as e3nn 0.6.0 (its ``(x, y, z)`` basis: ``y`` is the polar axis), for
any degree, by numerically stable constructions only (no expanded polynomials). Two executors:

* float32/float64 CPU tensors: the compiled kernel (:mod:`e3torch.o3._sh_kernel`), the azimuthal and Legendre
  recursions point by point in one pass, with a compiled backward (its own double backward in PyTorch);
* anything else (and when the kernel cannot be built): the plan (:mod:`e3torch.o3._sh_plan`) writes every
  component as a product of ``ceil(lmax / 2)`` quadratic forms; the forward evaluates the 10 monomials
  ``u_i u_j`` of ``u = (x, y, z, 1)``, ``F`` matrix products give all the factors of all the components and
  ``F - 1`` element-wise products finish.

The naive executor (:mod:`e3torch.o3._sh_naive`) is the tests' oracle.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Union

import torch

from e3torch._compiler import assume_constant_result
from e3torch.o3._irreps import Irrep, Irreps
from e3torch.o3._legendre import _check_degree
from e3torch.o3._sh_kernel import kernel_available, kernel_tables, sh_kernel
from e3torch.o3._sh_plan import NORMALIZATIONS, PAIRS, make_plan

__all__ = ["SphericalHarmonics", "parse_sh_irreps", "sh_forward", "spherical_harmonics"]

LType = Union[int, Sequence[int], str, Irreps]  # noqa: UP007 - a runtime alias

#: the feature order :func:`sh_forward` builds; it must be the plan's (a test checks)
FEATURES = PAIRS


def _check_normalization(normalization: object) -> str:
    if not isinstance(normalization, str) or normalization not in NORMALIZATIONS:
        raise ValueError(
            f"expected normalization to be one of 'integral', 'component', 'norm', got {normalization!r}"
        )
    return normalization


def parse_sh_irreps(l: Any, irreps_in: Any = None) -> tuple[Irreps, Irreps, tuple[int, ...]]:
    """Validate the degrees of spherical harmonics as e3nn does: ``(irreps_out, irreps_in, ls)``.

    Parameters
    ----------
    l : int or list of int or str or Irreps
        The degrees; irreps must have parity ``p_in ** l``.
    irreps_in : str or Irreps, optional
        ``"1x1o"`` (a vector) or ``"1x1e"`` (a pseudovector). By default it is ``1x1e`` when ``l`` is irreps
        holding an odd ``l`` of even parity, else ``1x1o``.

    Returns
    -------
    irreps_out : Irreps
        Simplified (neighbouring equal irreps merged).
    irreps_in : Irreps
    ls : tuple of int
        Every degree, repeated by its multiplicity.

    Examples
    --------
    >>> parse_sh_irreps([0, 1, 2])
    (1x0e+1x1o+1x2e, 1x1o, (0, 1, 2))
    >>> parse_sh_irreps("1e + 2e")
    (1x1e+1x2e, 1x1e, (1, 2))
    """
    if irreps_in is not None:
        irreps_in = Irreps(irreps_in)
        if irreps_in not in (Irreps("1x1o"), Irreps("1x1e")):
            raise ValueError(
                "irreps_in for SphericalHarmonics must be either a vector (`1x1o`) or a pseudovector (`1x1e`), "
                f"not `{irreps_in}`"
            )
    if isinstance(l, (str, Irreps)):
        irreps_out = Irreps(l).simplify()
        if irreps_in is None:
            odd_even = any(ir.l % 2 == 1 and ir.p == 1 for _, ir in irreps_out)
            irreps_in = Irreps("1x1e") if odd_even else Irreps("1x1o")
        p_in = irreps_in[0].ir.p
    else:
        if isinstance(l, Sequence):
            ls_in = [_check_degree(v) for v in l]
        else:
            ls_in = [_check_degree(l)]
        if irreps_in is None:
            irreps_in = Irreps("1x1o")
        p_in = irreps_in[0].ir.p
        irreps_out = Irreps([(1, Irrep(v, p_in**v)) for v in ls_in]).simplify()
    for _, ir in irreps_out:
        if ir.p != p_in**ir.l:
            raise ValueError(
                f"irreps_out `{irreps_out}` passed to SphericalHarmonics asked for an output of l = {ir.l} with "
                f"parity p = {ir.p}, which is inconsistent with the input parity {p_in} — the output parity "
                f"should have been p = {p_in**ir.l}"
            )
    ls = tuple(ir.l for mul, ir in irreps_out for _ in range(mul))
    if not ls:
        raise ValueError(f"expected at least one degree l for the spherical harmonics, got {l!r}")
    return irreps_out, irreps_in, ls


def _check_input(x: object) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"expected x to be a torch.Tensor of shape (..., 3), got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"expected x with a floating point dtype, got {x.dtype}")
    if x.dim() == 0 or x.shape[-1] != 3:
        raise ValueError(
            f"expected x with last dimension 3 (a vector in e3nn's (x, y, z) basis), got shape {tuple(x.shape)}"
        )
    return x


def sh_forward(
    x: torch.Tensor, weight: torch.Tensor, num_factors: int, dim: int, normalize: bool
) -> torch.Tensor:
    """The fast executor: ``x: (..., 3)`` to ``(..., dim)`` with the factor matrices ``weight: (F, 10, dim)``.

    Straight-line tensor code, no branching on values: safe for ``torch.compile(fullgraph=True)`` and twice
    (indeed infinitely) differentiable. With ``normalize``, ``x`` is divided by its norm except where it is
    zero (there it is kept as it is: all ``l > 0`` components are 0 and the gradient is finite).

    Examples
    --------
    >>> plan = make_plan((0, 1), "component")
    >>> x = torch.tensor([[0.0, 0.0, 2.0]], dtype=torch.float64)
    >>> sh_forward(x, plan.weight_tensor(torch.float64), plan.num_factors, plan.dim, True)
    tensor([[1.0000, 0.0000, 0.0000, 1.7321]], dtype=torch.float64)
    """
    batch = x.shape[:-1]
    xt = torch.stack(x.reshape(-1, 3).unbind(-1))  # (3, N): rows are contiguous
    if normalize:
        r2 = (xt * xt).sum(0)
        xt = xt * torch.rsqrt(torch.where(r2 > 0, r2, torch.ones_like(r2)))
    # phi = (xx, xy, xz, yy, yz, zz, x, y, z, 1): (10, N)
    phi = torch.cat([xt[0:1] * xt, xt[1:2] * xt[1:], xt[2:3] * xt[2:], xt, torch.ones_like(xt[:1])])
    phi_t = phi.T  # (N, 10), a transposed view: the matrix products read it as it is
    out = torch.mm(phi_t, weight[0])
    for k in range(1, num_factors):
        out = out * torch.mm(phi_t, weight[k])
    return out.reshape(*batch, dim)


def _use_kernel(x: torch.Tensor) -> bool:
    """The compiled kernel serves float32/float64 CPU tensors (when it could be built); else :func:`sh_forward`."""
    return x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64) and kernel_available()


def kernel_forward(
    x: torch.Tensor, tables: tuple[torch.Tensor, ...], lmax: int, normalize: bool
) -> torch.Tensor:
    """The compiled executor: ``x: (..., 3)`` to ``(..., C)`` with the tables of :func:`kernel_tables`.

    Examples
    --------
    >>> tables = kernel_tables((0, 1), "component").tensors()
    >>> x = torch.tensor([[0.0, 0.0, 2.0]], dtype=torch.float64)
    >>> (kernel_forward(x, tables, 1, True) if _use_kernel(x) else sh_forward(
    ...     x, make_plan((0, 1), "component").weight_tensor(torch.float64), 1, 4, True))
    tensor([[1.0000, 0.0000, 0.0000, 1.7321]], dtype=torch.float64)
    """
    batch = x.shape[:-1]
    y = sh_kernel(x.reshape(-1, 3), *tables, lmax, normalize)
    return y.reshape(*batch, y.shape[-1])


_CACHE: dict[tuple[Any, ...], Any] = {}


def _cached(key: tuple[Any, ...], make: Any) -> Any:
    value = _CACHE.get(key)
    if value is None:
        if len(_CACHE) > 128:
            _CACHE.clear()
        value = _CACHE[key] = make()
    return value


def spherical_harmonics(
    l: LType, x: torch.Tensor, normalize: bool, normalization: str = "integral"
) -> torch.Tensor:
    r"""Spherical harmonics :math:`Y^l(x)`, polynomials of ``x`` (as in e3nn 0.6.0).

    The real spherical harmonics of degree ``l`` in e3nn's basis (``y`` is the polar axis; ``Y^1 \propto (x, y,
    z)``), homogeneous polynomials of degree ``l`` of the components of ``x``, equivariant:
    :math:`Y^l(R x) = D^l(R) Y^l(x)`. Any degree works, with full precision (they are evaluated as products
    of well-conditioned quadratic factors, not as expanded polynomials).

    Parameters
    ----------
    l : int or list of int or str or Irreps
        The degree(s); irreps (e.g. ``"0e + 1o + 2e"``) must have parity ``(-1)^l`` (or ``+1``
        throughout for pseudovector input, e.g. ``"1e + 2e"``).
    x : torch.Tensor
        ``(..., 3)``.
    normalize : bool
        Whether to divide ``x`` by its norm first (a zero vector is kept as it is: finite values and gradients).
    normalization : {"integral", "component", "norm"}
        On the unit sphere: ``"component"``: :math:`\|Y^l\|^2 = 2l+1`; ``"norm"``: :math:`\|Y^l\| = 1`;
        ``"integral"``: :math:`\int_{S^2} (Y^l_m)^2 = 1` (``component / sqrt(4 pi)``).

    Returns
    -------
    torch.Tensor
        ``(..., sum(2 l + 1))``, the degrees concatenated in the order given.

    Raises
    ------
    ValueError
        Bad last dimension of ``x``, bad normalization, negative ``l``, inconsistent parity.
    TypeError
        ``x`` not a floating point tensor, ``l`` not an integer.

    Examples
    --------
    >>> spherical_harmonics(0, torch.randn(2, 3), False, normalization="component")
    tensor([[1.],
            [1.]])
    >>> x = torch.tensor([0.0, 3.0, 0.0])
    >>> spherical_harmonics([1, 2], x, True, normalization="component")
    tensor([0.0000, 1.7321, 0.0000, 0.0000, 0.0000, 2.2361, 0.0000, 0.0000])
    >>> spherical_harmonics("0e + 1o", torch.zeros(4, 3), True).shape
    torch.Size([4, 4])
    """
    _check_input(x)
    _check_normalization(normalization)
    ls = _degrees(l)
    compiling = torch.compiler.is_compiling()
    if _use_kernel(x):
        if compiling:  # the tables enter the graph as constants
            a, b, diag, pos, scale = _kernel_constants(ls, normalization)
            f64 = {"dtype": torch.float64, "device": x.device}
            tables = (torch.tensor(a, **f64), torch.tensor(b, **f64), torch.tensor(diag, **f64),
                      torch.tensor(pos, dtype=torch.long, device=x.device), torch.tensor(scale, **f64))  # fmt: skip
        else:
            tables = _cached(
                ("kernel", ls, normalization), lambda: kernel_tables(ls, normalization).tensors()
            )
        return kernel_forward(x, tables, max(ls), bool(normalize))
    values, num_factors, dim = _factor_constants(ls, normalization)
    if compiling:
        weight = torch.tensor(values, dtype=x.dtype, device=x.device).reshape(num_factors, len(PAIRS), dim)
    else:
        plan = make_plan(ls, normalization)
        weight = _cached(("weight", plan, x.dtype, x.device), lambda: plan.weight_tensor(x.dtype, x.device))
    return sh_forward(x, weight, num_factors, dim, bool(normalize))


@assume_constant_result
def _kernel_constants(ls: tuple[int, ...], normalization: str) -> tuple[tuple[float, ...], ...]:
    t = kernel_tables(ls, normalization)
    return t.a, t.b, t.diag, t.pos, t.scale


@assume_constant_result
def _factor_constants(ls: tuple[int, ...], normalization: str) -> tuple[tuple[float, ...], int, int]:
    plan = make_plan(ls, normalization)
    return plan.weight, plan.num_factors, plan.dim


def _degrees(l: Any) -> tuple[int, ...]:
    """The degrees asked for, validated like :func:`parse_sh_irreps` (plain ints need no Irreps: compile-friendly)."""
    if isinstance(l, (str, Irreps)):
        return _parse_constant(str(l))
    if isinstance(l, Sequence):
        ls = tuple(_check_degree(v) for v in l)
        if not ls:
            raise ValueError(f"expected at least one degree l for the spherical harmonics, got {l!r}")
        return ls
    return (_check_degree(l),)


@assume_constant_result
def _parse_constant(l: str) -> tuple[int, ...]:
    return _parse_cached(l)


_PARSE_CACHE: dict[Any, tuple[int, ...]] = {}


def _parse_cached(l: Any) -> tuple[int, ...]:
    ls = _PARSE_CACHE.get(l)
    if ls is None:
        ls = parse_sh_irreps(l)[2]
        if len(_PARSE_CACHE) < 1024:
            _PARSE_CACHE[l] = ls
    return ls


class SphericalHarmonics(torch.nn.Module):
    r"""Module version of :func:`spherical_harmonics` (as e3nn 0.6.0's; no parameters, empty ``state_dict``).

    Parameters
    ----------
    irreps_out : int or list of int or str or Irreps
        The degrees of the output.
    normalize : bool
        Whether to normalise the input vectors first.
    normalization : {"integral", "component", "norm"}
    irreps_in : str or Irreps, optional
        ``1x1o`` (vector, the default unless ``irreps_out`` asks for a pseudovector) or ``1x1e``.

    Attributes
    ----------
    irreps_out : Irreps
    irreps_in : Irreps
    normalize : bool
    normalization : str
    plan : SphericalHarmonicsPlan
        The factor matrix lives in the non-persistent buffer ``weight`` (float64; cast to the input's dtype);
        the tables of the compiled CPU kernel (used for float32/float64 CPU inputs when it could be built) in the
        non-persistent buffers ``_kernel_*``.

    Examples
    --------
    >>> sh = SphericalHarmonics("0e + 1o + 2e", normalize=True, normalization="component")
    >>> sh
    SphericalHarmonics()
    >>> sh.irreps_out, sh.irreps_in, sh(torch.randn(10, 3)).shape, len(sh.state_dict())
    (1x0e+1x1o+1x2e, 1x1o, torch.Size([10, 9]), 0)
    """

    def __init__(
        self,
        irreps_out: LType,
        normalize: bool,
        normalization: str = "integral",
        irreps_in: Any = None,
    ) -> None:
        super().__init__()
        self.irreps_out, self.irreps_in, ls = parse_sh_irreps(irreps_out, irreps_in)
        self.normalize = normalize
        self.normalization = _check_normalization(normalization)
        self._ls_list = list(ls)
        self._lmax = max(ls)
        self._is_range_lmax = self._ls_list == list(range(self._lmax + 1))
        self.plan = make_plan(ls, normalization)
        self.register_buffer("weight", self.plan.weight_tensor(torch.float64), persistent=False)
        tables = kernel_tables(ls, normalization).tensors()
        for name, table in zip(("a", "b", "diag", "pos", "scale"), tables):
            self.register_buffer(f"_kernel_{name}", table, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x: (..., 3)`` to ``(..., irreps_out.dim)``."""
        _check_input(x)
        if _use_kernel(x):
            tables = (self._kernel_a, self._kernel_b, self._kernel_diag, self._kernel_pos, self._kernel_scale)
            return kernel_forward(x, tables, self._lmax, bool(self.normalize))
        weight = self.weight.to(dtype=x.dtype)
        return sh_forward(x, weight, self.plan.num_factors, self.plan.dim, bool(self.normalize))
