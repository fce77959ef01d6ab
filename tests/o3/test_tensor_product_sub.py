"""FullyConnected, Elementwise, Full tensor products and TensorSquare against e3nn 0.6.0."""

from __future__ import annotations

import pytest
import torch
from e3nn import o3 as e3nn_o3

from e3torch import o3


@pytest.fixture
def float64():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def check(name: str, *args, **kwargs) -> None:
    """Same irreps, instructions, repr, state_dict keys and (after exchanging state_dicts) outputs as e3nn."""
    theirs = getattr(e3nn_o3, name)(*args, **kwargs)
    ours = getattr(o3, name)(*args, executor="naive", **kwargs)
    assert repr(ours) == repr(theirs)
    for attr in ("irreps_in1", "irreps_in2", "irreps_out"):
        assert str(getattr(ours, attr)) == str(getattr(theirs, attr)), attr
    assert len(ours.instructions) == len(theirs.instructions)
    for a, b in zip(ours.instructions, theirs.instructions):
        assert tuple(a[:5]) + (a.path_shape,) == tuple(b[:5]) + (b.path_shape,)
        assert a.path_weight == pytest.approx(b.path_weight, rel=1e-12)
    assert set(ours.state_dict()) == set(theirs.state_dict())
    ours.load_state_dict(theirs.state_dict(), strict=True)
    theirs.load_state_dict(ours.state_dict(), strict=True)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, theirs.irreps_in1.dim, generator=g)
    y = torch.randn(3, theirs.irreps_in2.dim, generator=g)
    w = None
    if not theirs.internal_weights and theirs.weight_numel:
        w = torch.randn(*(() if theirs.shared_weights else (3,)), theirs.weight_numel, generator=g)
    if name == "TensorSquare":
        out_theirs, out_ours = theirs(x, w), ours(x, w)
    else:
        out_theirs, out_ours = theirs(x, y, w), ours(x, y, w)
    torch.testing.assert_close(out_ours, out_theirs, atol=1e-10, rtol=0)


@pytest.mark.parametrize(
    "irreps",
    [
        ("2x0e+1x1o", "1x0e+1x1o", "2x0e+1x1o+1x1e"),
        ("3x1o+2x2e", "1x0e+1x1o+1x2e", "4x0e+3x1o+2x1e+2x2e+1x3o"),
    ],
)
@pytest.mark.parametrize("irrep_normalization", ["component", "norm", "none"])
@pytest.mark.parametrize("path_normalization", ["element", "path", "none"])
def test_fully_connected(float64, irreps, irrep_normalization, path_normalization):
    check("FullyConnectedTensorProduct", *irreps, irrep_normalization, path_normalization)


@pytest.mark.parametrize("kwargs", [{"shared_weights": False}, {"internal_weights": False}])
def test_fully_connected_external_weights(float64, kwargs):
    check("FullyConnectedTensorProduct", "2x0e+1x1o", "1x0e+1x1o", "2x0e+1x1o+1x1e", **kwargs)


@pytest.mark.parametrize(
    "irreps",
    [("2x0e+1x1o+1x0e", "1x0e+2x1e+1x1o"), ("1x1o+1x1o", "2x1o"), ("3x0e+2x2e", "1x1o+4x1e"), ("", "")],
)
@pytest.mark.parametrize("filter_ir_out", [None, ["0e", "1o", "2e"]])
@pytest.mark.parametrize("irrep_normalization", ["component", "norm"])
def test_elementwise_and_full(float64, irreps, filter_ir_out, irrep_normalization):
    check("ElementwiseTensorProduct", *irreps, filter_ir_out, irrep_normalization)
    check("FullTensorProduct", *irreps, filter_ir_out, irrep_normalization)


@pytest.mark.parametrize(
    "irreps_in", ["2x0e+1x1o", "3x1o+1x2e", "1x0e+1x1o+1x1o", "2x1o+1x0e+1x1e", "0x1o", "1x1o"]
)
@pytest.mark.parametrize("irrep_normalization", ["component", "norm", "none"])
def test_tensor_square(float64, irreps_in, irrep_normalization):
    check("TensorSquare", irreps_in, irrep_normalization=irrep_normalization)
    check("TensorSquare", irreps_in, filter_ir_out=["0e", "1e"], irrep_normalization=irrep_normalization)
    for irreps_out in ["3x0e+2x1e+1x2e", "1x1e+2x0e+1x1o+3x0e"]:
        check("TensorSquare", irreps_in, irreps_out, irrep_normalization=irrep_normalization)
    check("TensorSquare", irreps_in, "2x0e+1x2e", path_normalization="path", shared_weights=False)


def test_tensor_square_keeps_the_second_moment(float64):
    """Component normalization: Gaussian inputs give outputs of unit second moment, diagonal terms included."""
    tp = o3.TensorSquare("3x0e+2x1o+2x2e", executor="naive")
    x = torch.randn(40000, tp.irreps_in1.dim, generator=torch.Generator().manual_seed(0))
    second_moment = tp(x).pow(2).mean(0)
    torch.testing.assert_close(second_moment, torch.ones_like(second_moment), atol=0.08, rtol=0)


def test_tensor_square_equivariance(float64):
    tp = o3.TensorSquare("2x0e+2x1o+1x2e", "2x0e+2x1e+1x2e", executor="naive")
    x = torch.randn(5, tp.irreps_in1.dim)
    R = -o3.rand_matrix()
    D_in, D_out = tp.irreps_in1.D_from_matrix(R), tp.irreps_out.D_from_matrix(R)
    torch.testing.assert_close(tp(x @ D_in.T), tp(x) @ D_out.T, atol=1e-10, rtol=0)


def test_subclasses_pass_options():
    tp = o3.FullyConnectedTensorProduct("2x1o", "1x1o", "1x0e", shared_weights=False, executor="naive")
    assert not tp.internal_weights and not tp.shared_weights
    assert tp(torch.randn(2, 6), torch.randn(2, 3), torch.randn(2, 2)).shape == (2, 1)
    sq = o3.TensorSquare("2x1o", "1x0e")
    assert sq(torch.randn(6)).shape == (1,)
