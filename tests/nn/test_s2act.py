"""S2Activation and SO3Activation: parity with e3nn 0.6.0 (irreps, state_dicts, outputs, seeded random rotations),
equivariance up to the grid's resolution, derivatives, errors."""

from __future__ import annotations

import e3nn.nn
import e3nn.o3
import pytest
import torch

from e3torch import nn, o3

F64 = torch.float64


def close(a: torch.Tensor, b: torch.Tensor, atol: float = 1e-10) -> None:
    torch.testing.assert_close(a, b, atol=atol, rtol=0)


@pytest.fixture
def default_float64():
    old = torch.get_default_dtype()
    torch.set_default_dtype(F64)
    yield
    torch.set_default_dtype(old)


def assert_same_state(ours: torch.nn.Module, ref: torch.nn.Module) -> None:
    a, b = ours.state_dict(), ref.state_dict()
    assert list(a) == list(b)
    for key in a:
        scale = max(1.0, b[key].abs().max().item())
        close(a[key] / scale, b[key] / scale)


_S2 = [
    ("0e + 1o + 2e", torch.tanh, 10, None, "component"),
    ("0e + 1o + 2e", torch.relu, (10, 11), 4, "norm"),
    ("0o + 1e + 2o", torch.tanh, 12, None, "integral"),
    ("0o + 1e + 2o", torch.abs, 12, 3, "component"),
    ("0e", torch.relu, 10, 2, "component"),
    ("0e + 1e + 2e + 3e", torch.sigmoid, 14, 2, "component"),
]


@pytest.mark.parametrize("irreps, act, res, lmax_out, normalization", _S2)
def test_s2_activation_matches_e3nn(irreps, act, res, lmax_out, normalization, default_float64):
    ref = e3nn.nn.S2Activation(irreps, act, res, normalization=normalization, lmax_out=lmax_out)
    ours = nn.S2Activation(irreps, act, res, normalization=normalization, lmax_out=lmax_out)
    assert repr(ours) == repr(ref)
    assert str(ours.irreps_in) == str(ref.irreps_in) and str(ours.irreps_out) == str(ref.irreps_out)
    assert_same_state(ours, ref)
    x = torch.randn(2, 3, ref.irreps_in.dim)
    close(ours(x), ref(x))
    # the random rotation: same draws from torch's global generator
    ours.random_rot = ref.random_rot = True
    torch.manual_seed(3)
    y_ref = ref(x)
    torch.manual_seed(3)
    close(ours(x), y_ref)


_PARITY = ["0e+1o+2e", "0o+1e+2o", "0e+1e+2e", "0o+1o", "0e", "0o"]


@pytest.mark.parametrize("irreps", _PARITY)
@pytest.mark.parametrize("act", [torch.tanh, torch.relu, torch.abs])
def test_s2_activation_parity_rules_match_e3nn(irreps, act):
    try:
        ref = e3nn.nn.S2Activation(irreps, act, 10, lmax_out=2)
    except ValueError:
        with pytest.raises(ValueError, match="parity violated"):
            nn.S2Activation(irreps, act, 10, lmax_out=2)
        return
    assert str(nn.S2Activation(irreps, act, 10, lmax_out=2).irreps_out) == str(ref.irreps_out)


def test_s2_activation_errors():
    for irreps in ["0e + 2e", "1x0e + 2x1o", "1o", "0e + 1o + 2o"]:
        with pytest.raises(ValueError, match="expected"):
            nn.S2Activation(irreps, torch.tanh, 10)
    m = nn.S2Activation("0e + 1o", torch.tanh, 10)
    with pytest.raises(
        ValueError, match=r"expected input with last dimension 4 \(irreps 1x0e\+1x1o\), got shape \(2, 5\)"
    ):
        m(torch.randn(2, 5))


def test_s2_activation_equivariance_up_to_resolution(default_float64):
    irreps = o3.Irreps("0e + 1o + 2e + 3o")
    x = torch.randn(10, irreps.dim, dtype=F64)
    R = o3.rand_matrix(dtype=F64)
    D = irreps.D_from_matrix(R)
    errors = []
    for res in [20, 50, 100]:
        m = nn.S2Activation(irreps, torch.tanh, res)
        errors.append((m(x @ D.T) - m(x) @ D.T).abs().max().item())
        ref = e3nn.nn.S2Activation(e3nn.o3.Irreps(str(irreps)), torch.tanh, res)
        ref_error = (ref(x @ D.T) - ref(x) @ D.T).abs().max().item()
        assert errors[-1] < 10 * ref_error + 1e-12
    assert errors[0] > errors[1] > errors[2] and errors[2] < 1e-9


def test_s2_activation_gradgradcheck():
    m = nn.S2Activation("0e + 1o", torch.tanh, 4).double()
    x = torch.randn(1, 4, dtype=F64, requires_grad=True)
    assert torch.autograd.gradgradcheck(m, (x,))


@pytest.mark.parametrize("lmax_in, lmax_out, resolution", [(1, 2, 3), (2, 1, 3), (0, 2, 2)])
def test_so3_activation_matches_e3nn(lmax_in, lmax_out, resolution, default_float64):
    ref = e3nn.nn.SO3Activation(lmax_in, lmax_out, torch.tanh, resolution)
    ours = nn.SO3Activation(lmax_in, lmax_out, torch.tanh, resolution)
    assert repr(ours) == repr(ref) and (ours.lmax_in, ours.lmax_out) == (ref.lmax_in, ref.lmax_out)
    assert_same_state(ours, ref)
    x = torch.randn(2, ref.grid_in.D.shape[-1])
    close(ours(x), ref(x))
    ours.load_state_dict(ref.state_dict())


def _so3_rotation(lmax: int, R: torch.Tensor) -> torch.Tensor:
    """The action of a rotation on the flattened SO(3) coefficients (right multiplication of each block)."""
    angles = o3.matrix_to_angles(R)
    return torch.block_diag(*[o3.wigner_D(l, *angles) for l in range(lmax + 1) for _ in range(2 * l + 1)])


def test_so3_activation_equivariance_up_to_resolution(default_float64):
    x = torch.randn(4, 35, dtype=F64)
    R = o3.rand_matrix(dtype=F64)
    D = _so3_rotation(2, R)
    errors = []
    for resolution in [4, 6, 8]:
        m = nn.SO3Activation(2, 2, torch.tanh, resolution)
        errors.append((m(x @ D.T) - m(x) @ D.T).abs().max().item())
    assert errors[0] > errors[1] > errors[2] and errors[2] < 1e-4


def test_so3_activation_gradcheck():
    m = nn.SO3Activation(1, 1, torch.tanh, 2).double()
    x = torch.randn(1, 10, dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(m, (x,))
