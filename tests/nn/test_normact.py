"""nn.NormActivation: parity with e3nn 0.6.0 (outputs, gradients at and near zero, state_dict, repr),
normalize=False
(broken in e3nn 0.6.0, checked against the formula), equivariance, errors."""

from __future__ import annotations

import e3nn.nn
import e3nn.o3
import pytest
import torch

from e3torch import nn
from e3torch.util.test import assert_equivariant

DT = torch.float64


@pytest.mark.parametrize("irreps", ["2x0e + 3x1o + 2e", "1o + 0e + 1o + 0x2e", "0e"])
@pytest.mark.parametrize("kw", [{}, {"bias": True}, {"epsilon": 0.5}, {"bias": True, "epsilon": 0.1}])
def test_parity_with_e3nn(irreps: str, kw: dict) -> None:
    theirs = e3nn.nn.NormActivation(e3nn.o3.Irreps(irreps), torch.sigmoid, **kw).to(DT)
    ours = nn.NormActivation(irreps, torch.sigmoid, **kw).to(DT)
    assert repr(ours) == repr(theirs)
    assert {k: v.shape for k, v in ours.state_dict().items()} == {
        k: v.shape for k, v in theirs.state_dict().items()
    }
    if kw.get("bias"):
        with torch.no_grad():
            theirs.biases.normal_()
    ours.load_state_dict(theirs.state_dict(), strict=True)
    theirs.load_state_dict(ours.state_dict(), strict=True)
    assert (ours.irreps_in, ours.irreps_out, ours.epsilon) == (
        theirs.irreps_in,
        theirs.irreps_out,
        theirs.epsilon,
    )
    x = torch.randn(6, ours.irreps_in.dim, dtype=DT)
    x[0] = 0.0  # the clamp at zero
    x[1] *= 1e-9
    x.requires_grad_()
    y_ours, y_theirs = ours(x), theirs(x)
    torch.testing.assert_close(y_ours, y_theirs, atol=1e-10, rtol=1e-10)
    g = torch.randn_like(y_ours)
    for a, b in zip(
        torch.autograd.grad(y_ours, [x] + list(ours.parameters()), g),
        torch.autograd.grad(y_theirs, [x] + list(theirs.parameters()), g),
    ):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=1e-10)


def test_no_normalize() -> None:
    act = nn.NormActivation("0e + 1o", torch.tanh, normalize=False, bias=True).to(DT)
    with torch.no_grad():
        act.biases.copy_(torch.tensor([0.5, -0.25]))
    x = torch.tensor([[-2.0, 1.0, 2.0, 2.0]], dtype=DT)
    expected = torch.tensor(
        [[-2.0 * torch.tanh(torch.tensor(2.5)), *(torch.tanh(torch.tensor(2.75)) * x[0, 1:])]], dtype=DT
    )
    torch.testing.assert_close(act(x), expected, atol=1e-7, rtol=0)
    z = torch.zeros(1, 4, dtype=DT, requires_grad=True)
    act(z).sum().backward()
    assert torch.isfinite(z.grad).all()


def test_equivariance() -> None:
    act = nn.NormActivation("2x0e + 3x1o + 2e + 0o", torch.nn.functional.silu, bias=True).to(DT)
    assert_equivariant(act, [torch.randn(5, act.irreps_in.dim, dtype=DT)])


def test_errors() -> None:
    with pytest.raises(ValueError, match="expected epsilon=None with normalize=False"):
        nn.NormActivation("0e", torch.tanh, normalize=False, epsilon=0.1)
    with pytest.raises(ValueError, match="expected epsilon > 0, got -0.1"):
        nn.NormActivation("0e", torch.tanh, epsilon=-0.1)
    with pytest.raises(TypeError, match="expected epsilon to be a float, got 'a'"):
        nn.NormActivation("0e", torch.tanh, epsilon="a")
    with pytest.raises(TypeError, match="expected scalar_nonlinearity to be callable, got int"):
        nn.NormActivation("0e", 3)
    act = nn.NormActivation("0e + 1o", torch.tanh)
    with pytest.raises(
        ValueError, match=r"expected input with last dimension 4 \(irreps 1x0e\+1x1o\), got shape \(2, 3\)"
    ):
        act(torch.randn(2, 3))
    with pytest.raises(TypeError, match="expected features to be a torch.Tensor, got list"):
        act([0.0] * 4)
    with pytest.raises(RuntimeError, match="only holds e3nn's state_dict entries"):
        act.scalar_multiplier(torch.randn(4))
