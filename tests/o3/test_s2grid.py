"""Grids on the sphere and on SO(3): parity with e3nn 0.6.0 (buffers, state_dicts, transforms), inverses,
equivariance, errors."""

from __future__ import annotations

import math

import e3nn.o3
import e3nn.o3._s2grid as e3nn_s2
import e3nn.o3._so3grid as e3nn_so3
import pytest
import torch

from e3torch import o3
from e3torch.o3 import _s2grid, _so3grid

F64 = torch.float64
NORMALIZATIONS = ["integral", "norm", "component"]


def close(a: torch.Tensor, b: torch.Tensor, atol: float = 1e-10) -> None:
    torch.testing.assert_close(a, b, atol=atol, rtol=0)


def assert_same_state(ours: torch.nn.Module, ref: torch.nn.Module, atol: float = 1e-10) -> None:
    a, b = ours.state_dict(), ref.state_dict()
    assert list(a) == list(b)
    for key in a:
        assert a[key].shape == b[key].shape and a[key].dtype == b[key].dtype, key
        scale = max(1.0, b[key].abs().max().item())
        close(a[key] / scale, b[key] / scale, atol=atol)


# ---------------------------------------------------------------- helpers


def test_s2_grid_matches_e3nn():
    for rb, ra in [(1, 1), (4, 5), (10, 9), (7, 12)]:
        for ours, ref in zip(o3.s2_grid(rb, ra, dtype=F64), e3nn.o3.s2_grid(rb, ra, dtype=F64)):
            close(ours, ref)
    betas, alphas = o3.s2_grid(4, 5)
    assert betas.dtype == torch.get_default_dtype() and alphas.shape == (5,)


@pytest.mark.parametrize("lmax, rb, ra", [(0, 2, 1), (2, 6, 5), (8, 30, 23)])
def test_spherical_harmonics_s2_grid_matches_e3nn(lmax, rb, ra):
    for ours, ref in zip(
        o3.spherical_harmonics_s2_grid(lmax, rb, ra, dtype=F64),
        e3nn.o3.spherical_harmonics_s2_grid(lmax, rb, ra, dtype=F64),
    ):
        close(ours, ref)


@pytest.fixture
def default_float64():
    old = torch.get_default_dtype()
    torch.set_default_dtype(F64)
    yield
    torch.set_default_dtype(old)


@pytest.mark.parametrize("b", [0.5, 1, 2, 2.5, 3, 10, 50])
def test_quadrature_weights_match_e3nn(b, default_float64):
    # (e3nn computes integer b in the default dtype: compare in float64 throughout)
    close(_s2grid._quadrature_weights(b, dtype=F64), e3nn_s2._quadrature_weights(b, dtype=F64), atol=1e-15)
    assert _s2grid._quadrature_weights(b, dtype=torch.float32).dtype == torch.float32


def test_quadrature_weights_float32():
    ref = e3nn_s2._quadrature_weights(4, dtype=torch.float32)
    torch.testing.assert_close(_s2grid._quadrature_weights(4, dtype=torch.float32), ref)


@pytest.mark.parametrize("res_beta", [2, 4, 10, 100, 202])
def test_beta_weights_are_fejers_first_rule(res_beta):
    # Fejer's first rule on the midpoints t_i = pi (i + 1/2) / n (an independent formula for the same weights)
    n = res_beta
    t = [(i + 0.5) * math.pi / n for i in range(n)]
    fejer = [2 / n * (1 - 2 * sum(math.cos(2 * j * ti) / (4 * j * j - 1) for j in range(1, n // 2 + 1))) for ti in t]
    w = _s2grid._beta_weights(res_beta, dtype=F64)
    close(w, torch.tensor(fejer, dtype=F64), atol=1e-14)
    assert torch.equal(_s2grid._quadrature_weights(n // 2, dtype=F64), w / (2 * n**2))  # the same, e3nn's scaling
    assert _s2grid._beta_weights(res_beta, dtype=torch.float32).dtype == torch.float32


def test_grid_points_are_the_modules_grid():
    for rb, ra in [(4, 5), (10, 9), (12, 15)]:
        for dtype in (F64, torch.float32):
            points = _s2grid._grid_points(rb, ra, dtype=dtype)
            assert points.dtype == dtype and points.shape == (rb, ra, 3)
            grid = o3.ToS2Grid(None, (rb, ra), dtype=F64).grid.to(dtype)
            assert torch.equal(points, grid)


def test_quadrature_integrates_the_sphere():
    # the weights (times 4 pi res_beta^2 / res_alpha over the alpha grid) integrate the harmonics exactly
    lmax, rb, ra = 6, 14, 13
    m = o3.FromS2Grid((rb, ra), lmax, normalization="integral", dtype=F64)
    y = o3.spherical_harmonics(list(range(lmax + 1)), m.grid.reshape(-1, 3), True).reshape(rb, ra, -1)
    gram = m(y.permute(2, 0, 1))  # coefficients of each harmonic: the identity
    close(gram, torch.eye((lmax + 1) ** 2, dtype=F64))


_COMPLETE = [
    (None, 6, None), (3, None, None), (3, 10, None), (3, None, 9), (None, 10, 11), (3, 10, 11), (None, None, 9),
    (None, None, 8), (2, None, 6), (None, 8, 20), (0, None, None), (3, 8, 6), (3, 8, 7), (3, 12, None),
    (3, None, 20), (None, 2, None), (None, None, 1), (None, None, 2), (None, 4, 3), (None, 4, 2),
    (None, 7, None), (None, 7, 8), (2, 5, None), (2, 5, 6), (5, 3, 3), (3, 6, 20), (None, 9, None),
]  # fmt: skip


@pytest.mark.parametrize("args", _COMPLETE)
def test_complete_lmax_res_matches_e3nn(args):
    try:
        ref = e3nn_s2._complete_lmax_res(*args)
    except AssertionError:
        with pytest.raises(ValueError, match="expected"):
            _s2grid._complete_lmax_res(*args)
        return
    assert _s2grid._complete_lmax_res(*args) == ref


def test_complete_lmax_res_errors():
    with pytest.raises(ValueError, match="expected at least one of lmax, res_beta, res_alpha, got all None"):
        _s2grid._complete_lmax_res(None, None, None)
    with pytest.raises(ValueError, match="expected an even res_beta, got 7"):
        o3.ToS2Grid(2, 7)
    with pytest.raises(ValueError, match=r"expected res_beta >= 2 \(lmax \+ 1\) = 12 for lmax = 5, got 6"):
        o3.FromS2Grid(6, 5)


def test_expand_matrix_matches_e3nn():
    for ls in [[0], [0, 1, 2], [2, 0], [3, 1, 3]]:
        close(_s2grid._expand_matrix(ls, dtype=F64), e3nn_s2._expand_matrix(ls, dtype=F64))
    like = torch.zeros(1, dtype=torch.float32)
    assert _s2grid._expand_matrix([1], like=like).dtype == torch.float32


@pytest.mark.parametrize(
    "res, l", [(11, 3), (12, 3), (7, 3), (6, 3), (1, 0), (2, 0), (3, 1), (4, 2), (101, 8)]
)
def test_rfft_irfft_match_e3nn(res, l):
    x = torch.randn(2, 3, res, dtype=F64)
    close(o3.rfft(x, l), e3nn.o3.rfft(x, l))
    sha = o3.spherical_harmonics_alpha(l, torch.arange(res, dtype=F64) * 2 * math.pi / res)
    close(o3.rfft(x, l), x @ sha)
    if res % 2 == 1 and res >= 2 * l + 1:
        z = torch.randn(2, 2 * l + 1, dtype=F64)
        close(o3.irfft(z, res), e3nn.o3.irfft(z, res))
        close(o3.irfft(z, res), z @ sha.T)


def test_rfft_irfft_errors():
    with pytest.raises(
        ValueError, match=r"rfft to degree l = 3 needs at least 2 l = 6 samples, got shape \(2, 5\)"
    ):
        o3.rfft(torch.randn(2, 5), 3)
    with pytest.raises(ValueError, match=r"expected an odd res >= 2 l \+ 1 = 7, got 12"):
        o3.irfft(torch.randn(7), 12)
    with pytest.raises(ValueError, match=r"expected an odd res >= 2 l \+ 1 = 7, got 5"):
        o3.irfft(torch.randn(7), 5)
    with pytest.raises(ValueError, match="odd last dimension"):
        o3.irfft(torch.randn(6), 7)


# ---------------------------------------------------------------- ToS2Grid, FromS2Grid

_GRIDS = [(3, (8, 7), None), (3, (8, 6), None), (3, (8, 9), None), (3, (10, 12), None), (2, (10, 9), 4), (4, (10, 9), 2),
          (0, (2, 1), None), (6, (40, 41), None), (3, 10, None), (3, None, None)]  # fmt: skip


@pytest.mark.parametrize("normalization", NORMALIZATIONS)
@pytest.mark.parametrize("lmax, res, lmax_in", _GRIDS)
def test_s2grid_modules_match_e3nn(lmax, res, lmax_in, normalization, default_float64):
    to_ours = o3.ToS2Grid(lmax, res, normalization=normalization, dtype=F64)
    to_ref = e3nn.o3.ToS2Grid(lmax, res, normalization=normalization, dtype=F64)
    assert repr(to_ours) == repr(to_ref)
    assert (to_ours.lmax, to_ours.res_beta, to_ours.res_alpha) == (
        to_ref.lmax,
        to_ref.res_beta,
        to_ref.res_alpha,
    )
    assert_same_state(to_ours, to_ref)
    close(to_ours.grid, to_ref.grid)
    x = torch.randn(2, 3, (lmax + 1) ** 2, dtype=F64)
    close(to_ours(x), to_ref(x))

    res_from = res if res is not None else (to_ref.res_beta, to_ref.res_alpha)
    from_ours = o3.FromS2Grid(res_from, lmax, normalization=normalization, lmax_in=lmax_in, dtype=F64)
    from_ref = e3nn.o3.FromS2Grid(res_from, lmax, normalization=normalization, lmax_in=lmax_in, dtype=F64)
    assert repr(from_ours) == repr(from_ref)
    assert_same_state(from_ours, from_ref)
    signal = torch.randn(2, from_ref.res_beta, from_ref.res_alpha, dtype=F64)
    ref = from_ref(signal)
    close(from_ours(signal) / max(1.0, ref.abs().max().item()), ref / max(1.0, ref.abs().max().item()))


def test_state_dict_loads_both_ways():
    ours, ref = o3.ToS2Grid(4, (10, 11)), e3nn.o3.ToS2Grid(4, (10, 11))
    ours.load_state_dict(ref.state_dict())
    ref.load_state_dict(ours.state_dict())
    f_ours, f_ref = o3.FromS2Grid((10, 11), 4), e3nn.o3.FromS2Grid((10, 11), 4)
    f_ours.load_state_dict(f_ref.state_dict())
    f_ref.load_state_dict(f_ours.state_dict())


@pytest.mark.parametrize("normalization", NORMALIZATIONS)
def test_to_from_are_inverse(normalization):
    lmax = 5
    to = o3.ToS2Grid(lmax, (14, 13), normalization=normalization, dtype=F64)
    back = o3.FromS2Grid((14, 13), lmax, normalization=normalization, dtype=F64)
    x = torch.randn(4, (lmax + 1) ** 2, dtype=F64)
    close(back(to(x)), x)


def test_to_s2_grid_is_the_harmonics():
    lmax = 4
    to = o3.ToS2Grid(lmax, (10, 11), normalization="integral", dtype=F64)
    x = torch.randn((lmax + 1) ** 2, dtype=F64)
    y = o3.spherical_harmonics(list(range(lmax + 1)), to.grid, True, "integral") @ x
    close(to(x), y)


def test_rotation_commutes_on_band_limited_signals():
    # a rotated band-limited signal is band-limited: to_grid(D x) sampled = f(R^-1 . ) on the grid points
    lmax = 4
    irreps = o3.Irreps.spherical_harmonics(lmax)
    to = o3.ToS2Grid(lmax, (10, 11), normalization="integral", dtype=F64)
    back = o3.FromS2Grid((10, 11), lmax, normalization="integral", dtype=F64)
    R = o3.rand_matrix(dtype=F64)
    x = torch.randn(irreps.dim, dtype=F64)
    rotated_signal = o3.spherical_harmonics(list(range(lmax + 1)), to.grid @ R, True) @ x  # f(R^T p)
    close(back(rotated_signal), irreps.D_from_matrix(R) @ x)


def test_s2grid_dtype_device_and_errors():
    m = o3.ToS2Grid(2, (6, 5), dtype=torch.float32)
    assert m.shb.dtype == torch.float32 and m.sha.dtype == torch.float32
    assert o3.ToS2Grid(2, (6, 5)).shb.dtype == torch.get_default_dtype()
    with pytest.raises(
        ValueError, match=r"expected input with last dimension 9 \(lmax = 2\), got shape \(3, 8\)"
    ):
        m(torch.randn(3, 8))
    with pytest.raises(
        ValueError, match=r"expected input with last dimensions \(6, 5\) \(res_beta, res_alpha\)"
    ):
        o3.FromS2Grid((6, 5), 2)(torch.randn(3, 6, 4))
    with pytest.raises(
        ValueError, match="expected normalization to be one of 'norm', 'component', 'integral', got 'foo'"
    ):
        o3.ToS2Grid(2, (6, 5), normalization="foo")
    with pytest.raises(TypeError, match="expected res to be an int or a pair"):
        o3.ToS2Grid(2, (6, 5, 4))


def test_s2grid_gradgradcheck():
    to = o3.ToS2Grid(1, (4, 3), dtype=F64)
    back = o3.FromS2Grid((4, 3), 1, dtype=F64)
    x = torch.randn(1, 4, dtype=F64, requires_grad=True)
    assert torch.autograd.gradgradcheck(lambda v: back(to(v).tanh()), (x,))


def test_s2grid_compile():
    to = o3.ToS2Grid(2, (6, 5), dtype=F64)
    back = o3.FromS2Grid((6, 5), 2, dtype=F64)
    x = torch.randn(2, 9, dtype=F64)
    compiled = torch.compile(lambda v: back(to(v)), fullgraph=True, backend="eager")
    close(compiled(x), back(to(x)))


# ---------------------------------------------------------------- SO(3)


def test_flat_wigner_matches_e3nn(default_float64):
    g = torch.Generator().manual_seed(0)
    a, b, c = (torch.rand(2, 5, generator=g, dtype=F64) * 6 for _ in range(3))
    close(_so3grid.flat_wigner(3, a, b, c), e3nn_so3.flat_wigner(3, a, b, c))


@pytest.mark.parametrize(
    "lmax, resolution, aspect_ratio", [(2, 3, 2), (1, 3, 2), (3, 2, 1), (2, 4, 3), (0, 2, 2)]
)
def test_so3grid_matches_e3nn(lmax, resolution, aspect_ratio, default_float64):
    ours = o3.SO3Grid(lmax, resolution, aspect_ratio=aspect_ratio)
    ref = e3nn.o3.SO3Grid(lmax, resolution, aspect_ratio=aspect_ratio)
    assert (ours.res_alpha, ours.res_beta, ours.res_gamma) == (ref.res_alpha, ref.res_beta, ref.res_gamma)
    assert_same_state(ours, ref)
    ours64, ref64 = ours, ref
    x = torch.randn(3, ours.dim, dtype=F64)
    close(ours64.to_grid(x), ref64.to_grid(x))
    y = torch.randn(2, *ref.D.shape[:3], dtype=F64)
    close(ours64.from_grid(y), ref64.from_grid(y))
    if resolution > lmax:  # fine enough to resolve lmax: from_grid inverts to_grid
        close(ours64.from_grid(ours64.to_grid(x)), x)
    ours.load_state_dict(ref.state_dict())


def test_so3grid_errors_and_repr():
    assert repr(o3.SO3Grid(2, 2)) == "SO3Grid (2)"
    with pytest.raises(ValueError, match="expected normalization 'component'"):
        o3.SO3Grid(2, 2, normalization="norm")
    grid = o3.SO3Grid(1, 2)
    with pytest.raises(
        ValueError, match=r"expected input with last dimension 10 \(lmax = 1\), got shape \(4,\)"
    ):
        grid.to_grid(torch.randn(4))
    with pytest.raises(ValueError, match=r"expected input with last dimensions \(8, 4, 8\)"):
        grid.from_grid(torch.randn(8, 4, 7))
