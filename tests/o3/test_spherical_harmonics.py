"""Spherical harmonics: parity with e3nn 0.6.0, fast vs naive, high degrees, equivariance, quadrature,
derivatives, zero vectors, errors, compile."""

from __future__ import annotations

import math

import e3nn.o3
import numpy as np
import pytest
import torch

from e3torch import o3
from e3torch.o3._sh_kernel import kernel_available, kernel_tables, sh_from_tables
from e3torch.o3._sh_naive import spherical_harmonics_naive
from e3torch.o3._sh_plan import PAIRS, make_plan
from e3torch.o3._spherical_harmonics import FEATURES, kernel_forward, sh_forward

NORMALIZATIONS = ["integral", "component", "norm"]
F64 = torch.float64


def close(a: torch.Tensor, b: torch.Tensor, atol: float = 1e-10) -> None:
    torch.testing.assert_close(a, b, atol=atol, rtol=0)


def vectors(n: int, seed: int = 0, dtype: torch.dtype = F64) -> torch.Tensor:
    """Random vectors with norms in [0.5, 1.5] (so that normalize=False stays of order one)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, generator=g, dtype=dtype)
    r = 0.5 + torch.rand(n, 1, generator=g, dtype=dtype)
    return x / x.norm(dim=-1, keepdim=True) * r


def run(executor: str, ls: list[int], x: torch.Tensor, normalize: bool, normalization: str) -> torch.Tensor:
    """One executor: the compiled kernel, the PyTorch factor products, or the kernel's PyTorch twin."""
    ls = tuple(ls)
    if executor == "kernel":
        if not kernel_available():
            pytest.skip("the compiled kernel is unavailable here")
        return kernel_forward(x, kernel_tables(ls, normalization).tensors(), max(ls), normalize)
    if executor == "tables":
        return sh_from_tables(x, *kernel_tables(ls, normalization).tensors(), max(ls), normalize)
    plan = make_plan(ls, normalization)
    return sh_forward(x, plan.weight_tensor(x.dtype), plan.num_factors, plan.dim, normalize)


EXECUTORS = ["kernel", "torch", "tables"]


# ---------------------------------------------------------------- parity with e3nn


@pytest.mark.parametrize("executor", EXECUTORS)
@pytest.mark.parametrize("normalization", NORMALIZATIONS)
@pytest.mark.parametrize("normalize", [True, False])
def test_executors_match_e3nn(executor, normalize, normalization):
    ls = [0, 1, 2, 3, 4, 5, 6, 7, 8, 5, 2, 5, 0, 12]
    x = vectors(40, seed=11)
    close(
        run(executor, ls, x, normalize, normalization),
        e3nn.o3.spherical_harmonics(ls, x, normalize, normalization),
    )
    xg = x.clone().requires_grad_()
    w = torch.randn(40, sum(2 * l + 1 for l in ls), dtype=F64)
    (g_ours,) = torch.autograd.grad((run(executor, ls, xg, normalize, normalization) * w).sum(), xg)
    (g_ref,) = torch.autograd.grad(
        (e3nn.o3.spherical_harmonics(ls, xg, normalize, normalization) * w).sum(), xg
    )
    close(g_ours, g_ref, atol=1e-8)


@pytest.mark.parametrize("executor", EXECUTORS)
@pytest.mark.parametrize("normalize", [True, False])
def test_executors_gradgradcheck(executor, normalize):
    x = vectors(2, seed=12).requires_grad_()
    for ls in [[0, 1, 2, 3], [6, 1]]:
        f = lambda v, ls=ls: run(executor, ls, v, normalize, "component")
        assert torch.autograd.gradcheck(f, (x,))
        assert torch.autograd.gradgradcheck(f, (x,))


@pytest.mark.parametrize("executor", EXECUTORS)
def test_executors_zero_vector(executor):
    x = torch.cat([torch.zeros(2, 3, dtype=F64), vectors(3)]).requires_grad_()
    ls = [0, 1, 2, 5]
    y = run(executor, ls, x, True, "integral")
    close(y.detach(), e3nn.o3.spherical_harmonics(ls, x.detach(), True))
    (g,) = torch.autograd.grad(y.sum(), x, create_graph=True)
    (h,) = torch.autograd.grad(g.sum(), x)
    assert torch.isfinite(g).all() and torch.isfinite(h).all()
    # every executor makes the same choice at 0 (n = x there, so dn/dx = identity)
    ref = run("torch", ls, x, True, "integral")
    (g_ref,) = torch.autograd.grad(ref.sum(), x)
    close(g.detach(), g_ref)


@pytest.mark.parametrize("executor", EXECUTORS)
@pytest.mark.parametrize("l", [20, 25])
def test_executors_high_degrees(executor, l):
    x = vectors(30, seed=l)
    close(run(executor, [l], x, True, "norm"), spherical_harmonics_naive([l], x, True, "norm"), atol=1e-12)


@pytest.mark.parametrize("executor", ["kernel", "torch"])
def test_executors_float32(executor):
    x = vectors(500, seed=13)
    ls = list(range(9))
    ref = e3nn.o3.spherical_harmonics(ls, x, True)
    y = run(executor, ls, x.float(), True, "integral")
    assert y.dtype == torch.float32
    torch.testing.assert_close(y.double(), ref, atol=1e-5, rtol=0)


@pytest.mark.parametrize("normalization", NORMALIZATIONS)
@pytest.mark.parametrize("normalize", [True, False])
@pytest.mark.parametrize(
    "ls", [[0], [1], [2], [3], [0, 1, 2, 3], list(range(9)), [5, 2, 5, 0], list(range(13))]
)
def test_values_match_e3nn(ls, normalize, normalization):
    x = vectors(64, seed=len(ls))
    ours = o3.spherical_harmonics(ls, x, normalize, normalization=normalization)
    ref = e3nn.o3.spherical_harmonics(ls, x, normalize, normalization=normalization)
    close(ours, ref)


@pytest.mark.parametrize("l", range(13))
def test_each_degree_matches_e3nn(l):
    x = vectors(32, seed=l)
    close(o3.spherical_harmonics(l, x, True), e3nn.o3.spherical_harmonics(l, x, True))
    close(
        o3.spherical_harmonics(l, x, False, "component"),
        e3nn.o3.spherical_harmonics(l, x, False, "component"),
    )


@pytest.mark.parametrize("normalization", NORMALIZATIONS)
@pytest.mark.parametrize("normalize", [True, False])
def test_gradients_match_e3nn(normalize, normalization):
    ls = list(range(9))
    x = vectors(16, seed=3).requires_grad_()
    w = torch.randn(16, sum(2 * l + 1 for l in ls), dtype=F64)
    (g_ours,) = torch.autograd.grad((o3.spherical_harmonics(ls, x, normalize, normalization) * w).sum(), x)
    (g_ref,) = torch.autograd.grad(
        (e3nn.o3.spherical_harmonics(ls, x, normalize, normalization) * w).sum(), x
    )
    close(g_ours, g_ref, atol=1e-9)


def test_irreps_argument_matches_e3nn():
    x = vectors(8)
    for irreps in ["0e + 1o + 2e", "1x1o + 2x2e", o3.Irreps("1e + 2e"), "3o", "0e+0e"]:
        ref_irreps = e3nn.o3.Irreps(str(irreps))
        close(o3.spherical_harmonics(irreps, x, True), e3nn.o3.spherical_harmonics(ref_irreps, x, True))


@pytest.mark.parametrize(
    "irreps_out",
    [
        "1e",
        "1x1o",
        "2x1o",
        "1o+0e",
        "1y",
        "0e+2e",
        "2e",
        "3e",
        "1e+3e",
        "2x1e+2e",
        "1o+2e+1o",
        "0e+0e",
        [1, 1],
        [2, 0],
        [0, 1, 2],
        3,
        "2e+1e",
        "5e+5o",
        "0o",
        "1o+1e",
        "2o",
        "1e+3o",
        "0o+1o",
        "1e+2o",
        (1, 2),
    ],
)
@pytest.mark.parametrize("irreps_in", [None, "1o", "1e"])
def test_irreps_parsing_matches_e3nn(irreps_out, irreps_in):
    try:
        ref = e3nn.o3.SphericalHarmonics(irreps_out, True, irreps_in=irreps_in)
    except ValueError as err:
        with pytest.raises(ValueError, match="inconsistent with the input parity"):
            o3.SphericalHarmonics(irreps_out, True, irreps_in=irreps_in)
        assert "inconsistent with the input parity" in str(err)
        return
    ours = o3.SphericalHarmonics(irreps_out, True, irreps_in=irreps_in)
    assert str(ours.irreps_out) == str(ref.irreps_out)
    assert str(ours.irreps_in) == str(ref.irreps_in)
    assert (
        ours._ls_list == ref._ls_list
        and ours._lmax == ref._lmax
        and ours._is_range_lmax == ref._is_range_lmax
    )


def test_error_message_text_matches_e3nn():
    with pytest.raises(ValueError) as ours:
        o3.SphericalHarmonics("1e + 3o", True)
    with pytest.raises(ValueError) as ref:
        e3nn.o3.SphericalHarmonics("1e + 3o", True)
    assert str(ours.value) == str(ref.value)


def test_module_attributes_and_state_dict():
    sh = o3.SphericalHarmonics([0, 1, 2], normalize=False, normalization="norm", irreps_in="1o")
    ref = e3nn.o3.SphericalHarmonics([0, 1, 2], normalize=False, normalization="norm", irreps_in="1o")
    assert repr(sh) == repr(ref) == "SphericalHarmonics()"
    assert sh.normalize is False and sh.normalization == "norm"
    assert list(sh.state_dict()) == list(ref.state_dict()) == []
    assert sh.irreps_out == o3.Irreps("0e + 1o + 2e") and sh.irreps_in == o3.Irreps("1o")
    x = vectors(10)
    close(sh(x), ref(x))
    sh.load_state_dict(ref.state_dict())


def test_module_dtype_and_to():
    sh = o3.SphericalHarmonics(list(range(6)), True)
    x = vectors(20)
    y64 = sh(x)
    y32 = sh(x.float())
    assert y32.dtype == torch.float32
    torch.testing.assert_close(y32.double(), y64, atol=1e-5, rtol=0)
    sh32 = o3.SphericalHarmonics(list(range(6)), True).float()
    assert sh32.weight.dtype == torch.float32
    torch.testing.assert_close(sh32(x.float()).double(), y64, atol=1e-5, rtol=0)


@pytest.mark.parametrize("normalization", NORMALIZATIONS)
def test_float32_matches_e3nn(normalization):
    x = vectors(100).float()
    ls = list(range(9))
    torch.testing.assert_close(
        o3.spherical_harmonics(ls, x, True, normalization),
        e3nn.o3.spherical_harmonics(ls, x, True, normalization),
        atol=2e-5,
        rtol=1e-5,
    )


# ---------------------------------------------------------------- shapes


def test_batch_shapes():
    x = vectors(24).reshape(2, 3, 4, 3)
    y = o3.spherical_harmonics([1, 3], x, True)
    assert y.shape == (2, 3, 4, 10)
    close(y.reshape(-1, 10), o3.spherical_harmonics([1, 3], x.reshape(-1, 3), True))
    assert o3.spherical_harmonics(2, torch.randn(3, dtype=F64), True).shape == (5,)
    assert o3.spherical_harmonics(2, torch.randn(0, 3), True).shape == (0, 5)
    assert o3.spherical_harmonics([3, 1], torch.randn(2, 3), True).shape == (2, 10)
    assert o3.spherical_harmonics(2, torch.randn(2, 3), True).is_contiguous()


def test_noncontiguous_input():
    x = vectors(20).T.contiguous().T  # (20, 3) with strides (1, 20)
    close(
        o3.spherical_harmonics(list(range(5)), x, True), e3nn.o3.spherical_harmonics(list(range(5)), x, True)
    )


# ---------------------------------------------------------------- fast vs naive, high degrees


def test_feature_order_is_the_plans():
    assert FEATURES == PAIRS


@pytest.mark.parametrize("normalization", NORMALIZATIONS)
@pytest.mark.parametrize("normalize", [True, False])
def test_fast_matches_naive(normalize, normalization):
    ls = [0, 3, 1, 7, 4, 4, 10]
    x = vectors(50, seed=5)
    close(
        o3.spherical_harmonics(ls, x, normalize, normalization),
        spherical_harmonics_naive(ls, x, normalize, normalization),
    )


def test_naive_matches_e3nn():
    x = vectors(30, seed=6)
    ls = list(range(13))
    close(spherical_harmonics_naive(ls, x, True, "integral"), e3nn.o3.spherical_harmonics(ls, x, True))
    close(spherical_harmonics_naive(ls, x, False, "norm"), e3nn.o3.spherical_harmonics(ls, x, False, "norm"))


@pytest.mark.parametrize("l", [13, 20, 25, 32])
def test_high_degrees_match_naive(l):
    x = vectors(40, seed=l)
    for normalize in [True, False]:
        ours = o3.spherical_harmonics(l, x, normalize, "component")
        ref = spherical_harmonics_naive([l], x, normalize, "component")
        # relative to the size of Y^l: sqrt(2l+1) |x|^l (component normalization)
        size = math.sqrt(2 * l + 1) * (1 if normalize else x.norm(dim=-1, keepdim=True) ** l)
        close(ours / size, ref / size, atol=1e-12)


@pytest.mark.parametrize("l", [20, 25])
def test_high_degrees_are_unit_norm(l):
    y = o3.spherical_harmonics(l, vectors(100, seed=1), True, "norm")
    close(y.pow(2).sum(-1), torch.ones(100, dtype=F64), atol=1e-12)


@pytest.mark.parametrize("l, atol", [(20, 1e-9), pytest.param(25, 1e-8, marks=pytest.mark.slow)])
def test_high_degrees_match_e3nn_alpha_beta(l, atol):
    # e3nn's only route to high degrees: expanded polynomials of cos(beta), which lose digits as l grows
    # (ours agree with the naive recursion to 1e-12 there, see test_high_degrees_match_naive)
    g = torch.Generator().manual_seed(l)
    alpha = torch.rand(40, generator=g, dtype=F64) * 2 * math.pi
    beta = 0.5 + torch.rand(40, generator=g, dtype=F64) * 2  # away from the poles, where e3nn loses digits
    x = e3nn.o3.angles_to_xyz(alpha, beta)
    ref = e3nn.o3.spherical_harmonics_alpha_beta(l, alpha, beta, normalization="norm")
    close(o3.spherical_harmonics(l, x, True, "norm"), ref, atol=atol)


def _gauss_sphere(lmax: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Points and weights of a quadrature exact for polynomials of degree <= 2 lmax on the sphere."""
    t, wt = np.polynomial.legendre.leggauss(lmax + 1)
    n_alpha = 2 * lmax + 2
    alpha = np.arange(n_alpha) * 2 * np.pi / n_alpha
    beta = np.arccos(t)
    a, b = np.meshgrid(alpha, beta, indexing="ij")
    x = np.stack([np.sin(b) * np.sin(a), np.cos(b), np.sin(b) * np.cos(a)], -1).reshape(-1, 3)
    w = np.broadcast_to(wt[None, :] * 2 * np.pi / n_alpha, a.shape).reshape(-1)
    return torch.tensor(x), torch.tensor(w.copy())


@pytest.mark.parametrize("lmax", [4, 11, 25])
def test_integral_normalization_is_orthonormal(lmax):
    x, w = _gauss_sphere(lmax)
    y = o3.spherical_harmonics(list(range(lmax + 1)), x, False, "integral")
    gram = y.T @ (w[:, None] * y)
    close(gram, torch.eye(gram.shape[0], dtype=F64), atol=1e-11)


# ---------------------------------------------------------------- equivariance


@pytest.mark.parametrize("normalize", [True, False])
def test_equivariance(normalize):
    lmax = 8
    x = vectors(20, seed=7)
    R = o3.rand_matrix(dtype=F64)
    alpha, beta, gamma = o3.matrix_to_angles(R)
    for l in range(lmax + 1):
        D = o3.wigner_D(l, alpha, beta, gamma)
        close(o3.spherical_harmonics(l, x @ R.T, normalize), o3.spherical_harmonics(l, x, normalize) @ D.T)
        # parity: Y(-x) = (-1)^l Y(x)
        close(o3.spherical_harmonics(l, -x, normalize), (-1) ** l * o3.spherical_harmonics(l, x, normalize))


@pytest.mark.parametrize("l", [20, 25])
def test_equivariance_high_degrees(l):
    x = vectors(20, seed=8)
    R = o3.rand_matrix(dtype=F64)
    D = o3.wigner_D(l, *o3.matrix_to_angles(R))
    close(o3.spherical_harmonics(l, x @ R.T, True), o3.spherical_harmonics(l, x, True) @ D.T, atol=1e-9)


def test_assert_equivariant():
    from e3torch.util.test import assert_equivariant

    sh = o3.SphericalHarmonics("0e + 1o + 2e + 3o", normalize=True)
    assert_equivariant(sh, [vectors(10)])
    pseudo = o3.SphericalHarmonics("0e + 1e + 2e", normalize=False, irreps_in="1e")
    assert_equivariant(pseudo, [vectors(10)])


# ---------------------------------------------------------------- derivatives and zero vectors


@pytest.mark.parametrize("normalize", [True, False])
def test_gradcheck(normalize):
    x = vectors(2, seed=9).requires_grad_()
    for ls in [[0, 1, 2, 3], [6]]:
        f = lambda v, ls=ls: o3.spherical_harmonics(ls, v, normalize, "component")
        assert torch.autograd.gradcheck(f, (x,))
        assert torch.autograd.gradgradcheck(f, (x,))


def test_second_derivatives_match_e3nn():
    x = vectors(3, seed=10).requires_grad_()
    ls = list(range(7))

    def hessian_sum(fn):
        (g,) = torch.autograd.grad(fn(ls, x, True).sum(), x, create_graph=True)
        (h,) = torch.autograd.grad(g.pow(2).sum(), x)
        return h

    close(hessian_sum(o3.spherical_harmonics), hessian_sum(e3nn.o3.spherical_harmonics), atol=1e-8)


def test_zero_vector_is_finite():
    x = torch.zeros(2, 3, dtype=F64, requires_grad=True)
    ls = list(range(6))
    y = o3.spherical_harmonics(ls, x, True)
    close(y.detach(), e3nn.o3.spherical_harmonics(ls, x.detach(), True))
    (g,) = torch.autograd.grad(y.sum(), x, create_graph=True)
    assert torch.isfinite(g).all()
    (h,) = torch.autograd.grad(g.sum(), x)
    assert torch.isfinite(h).all()
    # the batch is not contaminated by the zero vector
    x2 = torch.cat([torch.zeros(1, 3, dtype=F64), vectors(3)]).requires_grad_()
    (g2,) = torch.autograd.grad(o3.spherical_harmonics(ls, x2, True).sum(), x2)
    x3 = x2[1:].detach().requires_grad_()
    (g3,) = torch.autograd.grad(o3.spherical_harmonics(ls, x3, True).sum(), x3)
    close(g2[1:], g3)
    assert torch.isfinite(g2).all()


def test_zero_vector_unnormalized_derivatives():
    # a polynomial: exact derivatives at 0 too (only l = 1 has a nonzero gradient there, only l = 2 a Hessian)
    x = torch.zeros(1, 3, dtype=F64, requires_grad=True)
    assert torch.autograd.gradgradcheck(lambda v: o3.spherical_harmonics([0, 1, 2, 3], v, False), (x,))


# ---------------------------------------------------------------- errors


def test_error_bad_last_dimension():
    with pytest.raises(ValueError, match=r"expected x with last dimension 3 .* got shape \(4, 2\)"):
        o3.spherical_harmonics([0, 1], torch.randn(4, 2), True)
    with pytest.raises(ValueError, match=r"got shape \(\)"):
        o3.SphericalHarmonics(1, True)(torch.tensor(1.0))


def test_error_bad_types():
    with pytest.raises(TypeError, match="expected x to be a torch.Tensor"):
        o3.spherical_harmonics(1, [[1.0, 0.0, 0.0]], True)
    with pytest.raises(TypeError, match="floating point dtype, got torch.int64"):
        o3.spherical_harmonics(1, torch.ones(2, 3, dtype=torch.long), True)
    with pytest.raises(TypeError, match="expected l to be a non-negative int, got 1.5"):
        o3.spherical_harmonics(1.5, torch.randn(2, 3), True)


def test_error_bad_normalization():
    with pytest.raises(
        ValueError, match="expected normalization to be one of 'integral', 'component', 'norm', got 'foo'"
    ):
        o3.spherical_harmonics(1, torch.randn(2, 3), True, normalization="foo")
    with pytest.raises(ValueError, match="got 'Component'"):
        o3.SphericalHarmonics(1, True, normalization="Component")


def test_error_bad_degrees():
    with pytest.raises(ValueError, match="expected l to be a non-negative int, got -1"):
        o3.spherical_harmonics(-1, torch.randn(2, 3), True)
    with pytest.raises(ValueError, match="expected at least one degree l"):
        o3.spherical_harmonics([], torch.randn(2, 3), True)


def test_error_parity_mismatch():
    with pytest.raises(
        ValueError, match="asked for an output of l = 1 with parity p = -1, which is inconsistent"
    ):
        o3.spherical_harmonics("0e + 1e + 1o", torch.randn(2, 3), True)
    with pytest.raises(ValueError, match="irreps_in for SphericalHarmonics must be either a vector"):
        o3.SphericalHarmonics(1, True, irreps_in="2x1o")


# ---------------------------------------------------------------- compile


def test_compile_fullgraph():
    sh = o3.SphericalHarmonics([0, 1, 2, 3], normalize=True)
    x = vectors(8).requires_grad_()
    compiled = torch.compile(sh, fullgraph=True, backend="aot_eager")
    y = compiled(x)
    close(y, sh(x))
    (g,) = torch.autograd.grad(y.sum(), x)
    (g_ref,) = torch.autograd.grad(sh(x).sum(), x)
    close(g, g_ref)


def test_compile_functional_and_torch_executor():
    x = vectors(8)
    for l in [[0, 1, 2, 5], "0e + 1o + 2e"]:
        compiled = torch.compile(
            lambda v, l=l: o3.spherical_harmonics(l, v, True), fullgraph=True, backend="eager"
        )
        close(compiled(x), o3.spherical_harmonics(l, x, True))
    plan = make_plan((0, 1, 2, 3), "integral")
    w = plan.weight_tensor(F64)
    compiled = torch.compile(lambda v: sh_forward(v, w, plan.num_factors, plan.dim, True), fullgraph=True)
    close(compiled(x), e3nn.o3.spherical_harmonics([0, 1, 2, 3], x, True))


@pytest.mark.parametrize("dtype, atol", [(torch.float16, 5e-3), (torch.bfloat16, 3e-2)])
def test_half_precision_uses_the_torch_executor(dtype, atol):
    x = vectors(10)
    ref = o3.spherical_harmonics([0, 1, 2, 3], x, True)
    for y in [
        o3.spherical_harmonics([0, 1, 2, 3], x.to(dtype), True),
        o3.SphericalHarmonics(3, True)(x.to(dtype)),
    ]:
        assert y.dtype == dtype
    y = o3.spherical_harmonics([0, 1, 2, 3], x.to(dtype), True)
    torch.testing.assert_close(y.double(), ref, atol=atol, rtol=0)


def test_export():
    sh = o3.SphericalHarmonics([0, 1, 2, 3], normalize=True)
    x = vectors(8)
    program = torch.export.export(sh, (x,))
    close(program.module()(x), sh(x))


def test_sh_forward_is_plan_driven():
    plan = make_plan((2, 0), "component")
    x = vectors(5)
    y = sh_forward(x, plan.weight_tensor(F64), plan.num_factors, plan.dim, True)
    close(y, e3nn.o3.spherical_harmonics([2, 0], x, True, "component"))


# ---------------------------------------------------------------- angular functions, Legendre


@pytest.mark.parametrize("ls", [[0], [3], [2, 0, 2], [12, 5]])
def test_legendre_matches_e3nn(ls):
    g = torch.Generator().manual_seed(0)
    z = torch.rand(2, 7, generator=g, dtype=F64) * 2 - 1
    y = torch.randn(2, 7, generator=g, dtype=F64)  # not only sin(beta): e3nn's polynomials in (z, y)
    ours, ref = o3.Legendre(ls)(z, y), e3nn.o3.Legendre(ls)(z, y)
    close(ours, ref, atol=1e-10 * max(1.0, ref.abs().max().item()))
    assert list(o3.Legendre(ls).state_dict()) == []


@pytest.mark.parametrize("l", [0, 1, 4, 11])
def test_spherical_harmonics_alpha_matches_e3nn(l):
    alpha = torch.linspace(-7, 7, 15, dtype=F64).reshape(3, 5)
    close(o3.spherical_harmonics_alpha(l, alpha), e3nn.o3.spherical_harmonics_alpha(l, alpha))


@pytest.mark.parametrize("normalization", NORMALIZATIONS)
@pytest.mark.parametrize("ls", [2, [0, 2], [3, 1, 3], list(range(12)), o3.Irreps("2x1o + 2e")])
def test_alpha_beta_matches_e3nn(ls, normalization):
    g = torch.Generator().manual_seed(1)
    alpha = torch.rand(4, 5, generator=g, dtype=F64) * 7 - 1
    beta = torch.rand(4, 5, generator=g, dtype=F64) * 3.2
    ref_ls = e3nn.o3.Irreps(str(ls)) if isinstance(ls, o3.Irreps) else ls
    ours = o3.spherical_harmonics_alpha_beta(ls, alpha, beta, normalization=normalization)
    close(ours, e3nn.o3.spherical_harmonics_alpha_beta(ref_ls, alpha, beta, normalization=normalization))
    module = o3.SphericalHarmonicsAlphaBeta(ls, normalization)
    close(module(alpha, beta), ours)
    assert module.normalization == normalization and list(module.state_dict()) == []


@pytest.mark.parametrize("l", [20, 25])
def test_alpha_beta_high_degrees_match_xyz(l):
    alpha = torch.linspace(0, 6, 30, dtype=F64)
    beta = torch.linspace(0, math.pi, 30, dtype=F64)
    x = o3.angles_to_xyz(alpha, beta)
    close(o3.spherical_harmonics_alpha_beta(l, alpha, beta), o3.spherical_harmonics(l, x, True), atol=1e-12)


def test_alpha_beta_broadcasts_and_errors():
    y = o3.spherical_harmonics_alpha_beta([0, 1], torch.zeros(3, 1), torch.zeros(4))
    assert y.shape == (3, 4, 4)
    with pytest.raises(ValueError, match="expected normalization to be one of"):
        o3.spherical_harmonics_alpha_beta(1, torch.zeros(2), torch.zeros(2), normalization="x")
    with pytest.raises(TypeError, match="expected alpha to be a torch.Tensor"):
        o3.spherical_harmonics_alpha(1, 0.5)
    with pytest.raises(TypeError, match="expected ls to be a list of non-negative ints"):
        o3.Legendre(3)


def test_angular_gradgradcheck():
    alpha = torch.tensor([0.3, 2.0], dtype=F64, requires_grad=True)
    beta = torch.tensor([0.7, 2.5], dtype=F64, requires_grad=True)
    f = lambda a, b: o3.spherical_harmonics_alpha_beta([0, 1, 3], a, b)
    assert torch.autograd.gradcheck(f, (alpha, beta))
    assert torch.autograd.gradgradcheck(f, (alpha, beta))
