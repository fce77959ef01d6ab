"""nn.FullyConnectedNet: parity with e3nn 0.6.0 (init stream, state_dict, repr, layer attributes, outputs,
gradients),
normalization, errors."""

from __future__ import annotations

import e3nn.nn
import pytest
import torch
from e3nn.nn._fc import _Layer as E3nnLayer

from e3torch import nn
from e3torch.nn._fc import _Layer

DT = torch.float64


@pytest.mark.parametrize(
    "hs, kw",
    [
        ([4, 8, 3], {"act": torch.tanh}),
        ([4, 8, 3], {"act": torch.tanh, "variance_in": 2, "variance_out": 3, "out_act": True}),
        ([4, 8, 3], {}),
        ([4, 8, 3], {"variance_in": 2, "variance_out": 3}),
        ([5, 16, 16, 2], {"act": torch.nn.functional.silu, "variance_out": 0.5}),
        ([4], {}),
    ],
)
def test_parity_with_e3nn(hs: list, kw: dict) -> None:
    torch.manual_seed(3)
    theirs = e3nn.nn.FullyConnectedNet(hs, **kw).to(DT)
    torch.manual_seed(3)
    ours = nn.FullyConnectedNet(hs, **kw).to(DT)
    assert repr(ours) == repr(theirs)
    assert [repr(a) for a in ours] == [repr(b) for b in theirs]
    assert [(a.h_in, a.h_out, a.var_in, a.var_out) for a in ours] == [
        (b.h_in, b.h_out, b.var_in, b.var_out) for b in theirs
    ]
    assert {k: v.shape for k, v in ours.state_dict().items()} == {
        k: v.shape for k, v in theirs.state_dict().items()
    }
    for key, value in theirs.state_dict().items():  # same draws from the same seed
        torch.testing.assert_close(ours.state_dict()[key], value, atol=0, rtol=0)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    x = torch.randn(7, hs[0], dtype=DT, requires_grad=True)
    y_ours, y_theirs = ours(x), theirs(x)
    torch.testing.assert_close(y_ours, y_theirs, atol=1e-10, rtol=0)
    if y_ours.requires_grad:
        g = torch.randn_like(y_ours)
        for a, b in zip(
            torch.autograd.grad(y_ours, [x] + list(ours.parameters()), g),
            torch.autograd.grad(y_theirs, [x] + list(theirs.parameters()), g),
        ):
            torch.testing.assert_close(a, b, atol=1e-10, rtol=0)


def test_layer_repr() -> None:
    for act in [None, torch.tanh, torch.nn.SiLU()]:
        assert repr(_Layer(4, 3, act, 1, 1)) == repr(E3nnLayer(4, 3, act, 1, 1))


def test_variance() -> None:
    torch.manual_seed(0)
    net = nn.FullyConnectedNet([64, 256, 256, 1], torch.nn.functional.silu, variance_in=4.0, variance_out=9.0)
    y = net(2.0 * torch.randn(20000, 64))
    assert 3.0 < y.pow(2).mean().item() < 27.0  # one weight draw; catches a missing or squared normalization


def test_errors() -> None:
    with pytest.raises(ValueError, match=r"expected hs to be non-negative ints, got \[4, -1\]"):
        nn.FullyConnectedNet([4, -1])
    with pytest.raises(ValueError, match=r"expected at least one size in hs \(the input size\), got \[\]"):
        nn.FullyConnectedNet([])
    with pytest.raises(TypeError, match="expected hs to be a list of ints, got int"):
        nn.FullyConnectedNet(4)
    with pytest.raises(TypeError, match="expected act to be callable or None, got str"):
        nn.FullyConnectedNet([4, 2], "relu")
    net = nn.FullyConnectedNet([4, 2])
    with pytest.raises(ValueError, match=r"expected input with last dimension 4, got shape \(3, 5\)"):
        net(torch.randn(3, 5))
    with pytest.raises(TypeError, match="expected input to be a torch.Tensor, got list"):
        net([1.0] * 4)
