import copy
import pickle

import e3nn.io
import pytest
import torch

from e3torch.io import SphericalTensor
from e3torch.o3 import Irreps, rand_matrix
from e3torch.util.test import assert_equivariant

F64 = torch.float64


@pytest.fixture(autouse=True)
def float64_default():  # e3nn's grids are built in the default dtype
    old = torch.get_default_dtype()
    torch.set_default_dtype(F64)
    try:
        yield
    finally:
        torch.set_default_dtype(old)


@pytest.mark.parametrize("lmax,p_val,p_arg", [(0, 1, 1), (3, 1, -1), (4, -1, 1), (2, -1, -1)])
def test_irreps(lmax: int, p_val: int, p_arg: int) -> None:
    ours = SphericalTensor(lmax, p_val, p_arg)
    assert str(ours) == str(e3nn.io.SphericalTensor(lmax, p_val, p_arg))
    assert isinstance(ours, Irreps) and ours.lmax == lmax
    for other in (pickle.loads(pickle.dumps(ours)), copy.deepcopy(ours)):
        assert isinstance(other, SphericalTensor) and other == ours and other.p_arg == p_arg


def test_signal_xyz_norms_and_grid_parity() -> None:
    ours, theirs = SphericalTensor(3, 1, -1), e3nn.io.SphericalTensor(3, 1, -1)
    x = torch.randn(2, 1, ours.dim, dtype=F64, requires_grad=True)
    r = torch.randn(4, 5, 3, dtype=F64)
    a, b = ours.signal_xyz(x, r), theirs.signal_xyz(x, r)
    assert a.shape == (2, 1, 4, 5)
    torch.testing.assert_close(a, b, atol=1e-12, rtol=0)
    (ga,) = torch.autograd.grad(a.sum(), x)
    (gb,) = torch.autograd.grad(b.sum(), x)
    torch.testing.assert_close(ga, gb, atol=1e-12, rtol=0)
    torch.testing.assert_close(ours.norms(x), theirs.norms(x), atol=1e-12, rtol=0)
    for normalization in ["integral", "component", "norm"]:
        for res in [10, (12, 15)]:
            g1 = ours.signal_on_grid(x, res, normalization)
            g2 = theirs.signal_on_grid(x, res, normalization)
            torch.testing.assert_close(g1.grid, g2.grid, atol=1e-12, rtol=0)
            torch.testing.assert_close(g1.values, g2.values, atol=1e-12, rtol=0)


def test_with_peaks_and_diracs_parity() -> None:
    ours, theirs = SphericalTensor(4, 1, -1), e3nn.io.SphericalTensor(4, 1, -1)
    pos = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0], [3.0, 4.0, 0.0], [0.0, -2.0, 1.0]], dtype=F64)
    val = torch.tensor([-1.5, 7.0, 2.0, 0.5], dtype=F64)
    torch.testing.assert_close(ours.with_peaks_at(pos), theirs.with_peaks_at(pos), atol=1e-10, rtol=0)
    torch.testing.assert_close(ours.with_peaks_at(pos, val), theirs.with_peaks_at(pos, val), atol=1e-10, rtol=0)
    torch.testing.assert_close(ours.signal_xyz(ours.with_peaks_at(pos, val), pos), val, atol=1e-10, rtol=0)
    assert torch.equal(ours.with_peaks_at(torch.zeros(0, 3)), torch.zeros(ours.dim))
    p, v = torch.randn(1, 3, 2, 3, dtype=F64), torch.randn(2, 1, 2, dtype=F64)
    torch.testing.assert_close(ours.sum_of_diracs(p, v), theirs.sum_of_diracs(p, v), atol=1e-12, rtol=0)
    assert ours.sum_of_diracs(torch.empty(1, 0, 2, 3), torch.empty(2, 0, 1)).shape == (2, 0, 25)


def test_from_samples_on_s2_parity() -> None:
    ours, theirs = SphericalTensor(2, 1, 1), e3nn.io.SphericalTensor(2, 1, 1)
    pos = torch.randn(3, 5, 3, dtype=F64)
    val = torch.randn(3, 5, dtype=F64)
    for res in [20, 30]:
        torch.testing.assert_close(
            ours.from_samples_on_s2(pos, val, res=res), theirs.from_samples_on_s2(pos, val, res=res), atol=1e-12, rtol=0
        )
    assert ours.from_samples_on_s2(torch.empty(2, 0, 10, 3), torch.empty(2, 0, 10)).shape == (2, 0, 9)


def test_plot_parity() -> None:
    ours, theirs = SphericalTensor(3, 1, -1), e3nn.io.SphericalTensor(3, 1, -1)
    x = torch.randn(ours.dim, dtype=F64)
    for kwargs in [dict(), dict(radius=False, center=torch.tensor([1.0, 2.0, 3.0], dtype=F64)), dict(relu=True),
                   dict(normalization="norm")]:
        r1, f1 = ours.plot(x, res=12, **kwargs)
        r2, f2 = theirs.plot(x, res=12, **kwargs)
        torch.testing.assert_close(r1, r2, atol=1e-12, rtol=0)
        torch.testing.assert_close(f1, f2, atol=1e-12, rtol=0)
    t1 = ours.plotly_surface(torch.stack([x, -x]), centers=torch.ones(2, 3, dtype=F64), res=12)
    t2 = theirs.plotly_surface(torch.stack([x, -x]), centers=torch.ones(2, 3, dtype=F64), res=12)
    assert len(t1) == len(t2) == 2
    for d1, d2 in zip(t1, t2):
        assert sorted(d1) == sorted(d2)
        for k in d1:
            torch.testing.assert_close(torch.as_tensor(d1[k]), torch.as_tensor(d2[k]), atol=1e-12, rtol=0)


def test_find_peaks() -> None:
    s = SphericalTensor(4, 1, -1)
    targets = torch.tensor([[4.0, 0.0, 4.0], [0.0, 5.0, 0.0]], dtype=F64)
    x = s.with_peaks_at(targets)
    pos, val = s.find_peaks(x)
    assert pos.shape == (val.shape[0], 3)
    torch.testing.assert_close(pos.norm(dim=1), torch.ones(len(val), dtype=F64))
    torch.testing.assert_close(s.signal_xyz(x, pos), val, atol=1e-12, rtol=0)
    # critical points: no tangential gradient
    p = pos.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(s.signal_xyz(x, p).sum(), p)
    assert (g - (g * pos).sum(1, keepdim=True) * pos).norm(dim=1).max() < 1e-4
    # e3nn's (grid) peaks above the level of the targets are near ours
    their_pos, their_val = e3nn.io.SphericalTensor(4, 1, -1).find_peaks(x, res=50)
    assert (their_val > 4.0).sum() >= 2
    for q in their_pos[their_val > 4.0]:
        assert (pos - q).norm(dim=1).min() < 0.1
    assert val.max() >= s.signal_xyz(x, targets).max() - 1e-9


def test_equivariance() -> None:
    s = SphericalTensor(3, 1, -1)
    pos = torch.randn(4, 3, dtype=F64)
    val = torch.randn(4, dtype=F64)
    assert_equivariant(lambda p: s.sum_of_diracs(p, val), [pos], irreps_in=["cartesian_points"], irreps_out=[s],
                       do_translation=False)
    x = s.randn(-1, dtype=F64)
    r = rand_matrix(dtype=F64)
    # rotating the coefficients rotates the function
    torch.testing.assert_close(s.signal_xyz(x @ s.D_from_matrix(r).T, pos @ r.T), s.signal_xyz(x, pos), atol=1e-12, rtol=0)


def test_float32() -> None:
    s = SphericalTensor(2, 1, -1)
    x = torch.randn(3, s.dim, dtype=torch.float32)
    assert s.signal_on_grid(x, 10).values.dtype == torch.float32
    assert s.signal_xyz(x, torch.randn(2, 3, dtype=torch.float32)).dtype == torch.float32
    assert s.sum_of_diracs(torch.randn(2, 3, dtype=torch.float32), torch.randn(2, dtype=torch.float32)).dtype == torch.float32


def test_errors() -> None:
    s = SphericalTensor(2, 1, 1)
    with pytest.raises(ValueError, match="expected lmax to be a non-negative int, got -1"):
        SphericalTensor(-1, 1, 1)
    with pytest.raises(ValueError, match="expected p_arg to be \\+1 or -1, got 0"):
        SphericalTensor(2, 1, 0)
    with pytest.raises(ValueError, match=r"expected signal of shape \(\.\.\., 9\) \(irreps 1x0e\+1x1e\+1x2e\), got shape \(4,\)"):
        s.signal_xyz(torch.randn(4), torch.randn(3))
    with pytest.raises(ValueError, match=r"expected r of shape \(\.\.\., 3\), got \(2,\)"):
        s.signal_xyz(torch.randn(9), torch.randn(2))
    with pytest.raises(ValueError, match=r"expected an even res_beta >= 2 \(lmax \+ 1\) = 6"):
        s.signal_on_grid(torch.randn(9), res=4)
    with pytest.raises(ValueError, match="expected an even res_beta"):
        s.signal_on_grid(torch.randn(9), res=11)
    with pytest.raises(TypeError, match="expected res to be an int or a pair of ints"):
        s.signal_on_grid(torch.randn(9), res=10.0)
    with pytest.raises(ValueError, match='expected normalization to be "integral", "component" or "norm", got \'l2\''):
        s.signal_on_grid(torch.randn(9), normalization="l2")
    with pytest.raises(ValueError, match=r"expected vectors of shape \(N, 3\), got \(3,\)"):
        s.with_peaks_at(torch.randn(3))
    with pytest.raises(ValueError, match=r"expected values of shape \(2,\), got \(3,\)"):
        s.with_peaks_at(torch.randn(2, 3), torch.randn(3))
    with pytest.raises(ValueError, match="directions too close or too many for lmax"):
        s.with_peaks_at(torch.randn(40, 3, dtype=F64))
    with pytest.raises(ValueError, match=r"expected positions of shape \(\.\.\., N, 3\), got \(3,\)"):
        s.sum_of_diracs(torch.randn(3), torch.randn(1))
    with pytest.raises(ValueError, match=r"expected values of shape \(2, 5\), got \(2,\)"):
        s.from_samples_on_s2(torch.randn(2, 5, 3), torch.randn(2))
    with pytest.raises(ValueError, match=r"expected a single signal of shape \(9,\), got shape \(2, 9\)"):
        s.find_peaks(torch.randn(2, 9))
