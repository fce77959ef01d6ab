import copy
import pickle

import e3nn.io
import pytest
import torch

from e3torch.io import CartesianTensor
from e3torch.o3 import Irreps, ReducedTensorProducts, rand_matrix
from e3torch.util.test import assert_equivariant

F64 = torch.float64
FORMULAS = ["ij=ji", "ij=-ji", "ij", "ijk=-jik=-ikj", "ijk=jik", "ijkl=jikl=klij", "ijkl=jikl=ijlk", "i"]


@pytest.fixture
def float64_default():
    old = torch.get_default_dtype()
    torch.set_default_dtype(F64)
    try:
        yield
    finally:
        torch.set_default_dtype(old)


@pytest.mark.parametrize("formula", FORMULAS)
def test_parity_with_e3nn(formula: str, float64_default) -> None:
    ours, theirs = CartesianTensor(formula), e3nn.io.CartesianTensor(formula)
    assert str(ours) == str(theirs) and ours.dim == theirs.dim
    assert ours.indices == theirs.indices and ours.formula == formula
    n = len(ours.indices)
    rtp = theirs.reduced_tensor_products()  # e3nn builds one per call otherwise (slow)
    t = torch.randn((2,) + (3,) * n, dtype=F64, requires_grad=True)
    a, b = ours.from_cartesian(t), theirs.from_cartesian(t, rtp=rtp)
    assert a.shape == (2, ours.dim)
    torch.testing.assert_close(a, b, atol=1e-12, rtol=0)
    (ga,) = torch.autograd.grad(a.sum(), t)
    (gb,) = torch.autograd.grad(b.sum(), t)
    torch.testing.assert_close(ga, gb, atol=1e-12, rtol=0)
    torch.testing.assert_close(ours.to_cartesian(a), theirs.to_cartesian(b, rtp=rtp), atol=1e-12, rtol=0)
    vs = [torch.randn(4, 3, dtype=F64) for _ in range(n)]
    torch.testing.assert_close(ours.from_vectors(*vs), theirs.from_vectors(*vs, rtp=rtp), atol=1e-12, rtol=0)


def test_round_trip_projects_on_symmetric_tensors() -> None:
    x = CartesianTensor("ij=ji")
    t = torch.randn(5, 3, 3, dtype=F64)
    torch.testing.assert_close(x.to_cartesian(x.from_cartesian(t)), (t + t.transpose(1, 2)) / 2, atol=1e-12, rtol=0)
    y = CartesianTensor("ijk=-jik=-ikj")
    eps = y.to_cartesian(torch.ones(1, dtype=F64))
    assert torch.equal(eps.abs() > 1e-12, torch.tensor([[[i != j and j != k and i != k for k in range(3)]
                                                         for j in range(3)] for i in range(3)]))


def test_equivariance_of_from_cartesian() -> None:
    x = CartesianTensor("ijkl=jikl=klij")
    t = torch.randn(2, 3, 3, 3, 3, dtype=F64)
    r = rand_matrix(dtype=F64)
    rotated = torch.einsum("ai,bj,ck,dl,zijkl->zabcd", r, r, r, r, t)
    torch.testing.assert_close(
        x.from_cartesian(rotated), x.from_cartesian(t) @ x.D_from_matrix(r).T, atol=1e-10, rtol=0
    )
    assert_equivariant(lambda u, v: x.from_vectors(u, u, v, v), [torch.randn(3, 3, dtype=F64)] * 2,
                       irreps_in=["1o", "1o"], irreps_out=[Irreps(x)])


def test_is_an_irreps() -> None:
    x = CartesianTensor("ij=ji")
    assert isinstance(x, Irreps) and x == Irreps("1x0e+1x2e") and repr(x) == "1x0e+1x2e"
    assert hash(x) == hash(Irreps("1x0e+1x2e"))
    for y in (pickle.loads(pickle.dumps(x)), copy.deepcopy(x), copy.copy(x)):
        assert isinstance(y, CartesianTensor) and y.formula == "ij=ji" and y == x


def test_dtype_and_rtp() -> None:
    x = CartesianTensor("ij=-ji")
    t32 = torch.randn(3, 3)
    assert x.from_cartesian(t32).dtype == torch.float32
    rtp = x.reduced_tensor_products()
    assert isinstance(rtp, ReducedTensorProducts) and rtp.irreps_in == [Irreps("1o")] * 2
    assert rtp.change_of_basis.dtype == torch.get_default_dtype()
    rtp64 = x.reduced_tensor_products(torch.zeros(1, dtype=F64))
    assert rtp64.change_of_basis.dtype == F64
    t = torch.randn(3, 3, dtype=F64)
    torch.testing.assert_close(x.from_cartesian(t, rtp=rtp64), x.from_cartesian(t))
    torch.testing.assert_close(x.to_cartesian(x.from_cartesian(t), rtp=rtp64), (t - t.T) / 2)
    u, v = torch.randn(3, dtype=F64), torch.randn(3, dtype=F64)
    torch.testing.assert_close(x.from_vectors(u, v, rtp=rtp64), x.from_vectors(u, v))


def test_errors() -> None:
    x = CartesianTensor("ij=ji")
    with pytest.raises(ValueError, match=r"expected a cartesian tensor of shape \(\.\.\., 3, 3\) for formula 'ij=ji', got shape \(3, 4\)"):
        x.from_cartesian(torch.randn(3, 4))
    with pytest.raises(ValueError, match=r"expected an irreps tensor of shape \(\.\.\., 6\) \(irreps 1x0e\+1x2e\), got shape \(5,\)"):
        x.to_cartesian(torch.randn(5))
    with pytest.raises(ValueError, match="expected 2 vectors for formula 'ij=ji', got 1"):
        x.from_vectors(torch.randn(3))
    with pytest.raises(ValueError, match=r"expected vector 1 of shape \(\.\.\., 3\), got \(2,\)"):
        x.from_vectors(torch.randn(3), torch.randn(2))
    with pytest.raises(TypeError, match="expected a torch.Tensor, got list"):
        x.from_cartesian([[1.0]])
    with pytest.raises(TypeError, match="expected formula to be a str, got int"):
        CartesianTensor(2)
    with pytest.raises(ValueError, match="jk is not a permutation of ij"):
        CartesianTensor("ij=jk")
    with pytest.raises(ValueError, match="expected a formula with at least one index"):
        CartesianTensor("")
