"""nn.Activation: parity with e3nn 0.6.0 (constants, parity rules, repr, outputs, gradients), grouping,
errors."""

from __future__ import annotations

import e3nn.nn
import pytest
import torch

from e3torch import nn
from e3torch.nn._activation import activation_parity, split_scale
from e3torch.util.test import assert_equivariant

DT = torch.float64
CASES = [
    ("2x0e + 3x0o + 1o + 0e", [torch.tanh, torch.abs, None, torch.relu]),
    ("0e + 0e", [None, torch.tanh]),
    ("0x0e + 2x0e", [torch.relu, torch.tanh]),
    ("2x0o + 3x0o", [torch.tanh, torch.tanh]),
    ("4x0e + 2x0o + 1e + 3x0e", [torch.nn.functional.silu, torch.sin, None, torch.nn.functional.silu]),
    ("3x0o", [torch.cos]),
    ("", []),
]


@pytest.mark.parametrize("irreps, acts", CASES)
def test_parity_with_e3nn(irreps: str, acts: list) -> None:
    theirs, ours = e3nn.nn.Activation(irreps, acts), nn.Activation(irreps, acts)
    assert repr(ours) == repr(theirs)
    assert (ours.irreps_in, ours.irreps_out) == (theirs.irreps_in, theirs.irreps_out)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == []
    for a, b in zip(ours.acts, theirs.acts):
        assert (a is None) == (b is None) and (a is None or a.cst == b.cst)
    assert [(m, p) for m, p, _ in ours.paths] == [(m, p) for m, p, _ in theirs.paths]
    x = torch.randn(5, 2, ours.irreps_in.dim, dtype=DT, requires_grad=True)
    y_ours, y_theirs = ours(x), theirs(x)
    torch.testing.assert_close(y_ours, y_theirs, atol=1e-10, rtol=0)
    if y_ours.requires_grad and y_ours.numel():
        g = torch.randn_like(y_ours)
        torch.testing.assert_close(
            torch.autograd.grad(y_ours, x, g)[0], torch.autograd.grad(y_theirs, x, g)[0], atol=1e-10, rtol=0
        )


def test_groups_one_call_per_function() -> None:
    act = nn.Activation(
        "2x0e + 3x0e + 0x0e + 1x0e + 1o", [torch.tanh, torch.tanh, torch.relu, torch.tanh, None]
    )
    assert [(g.start, g.stop, g.act >= 0) for g in act._groups] == [(0, 6, True), (6, 9, False)]


def test_parity_detection() -> None:
    assert activation_parity(torch.tanh) == -1
    assert activation_parity(torch.cos) == 1
    assert activation_parity(torch.sigmoid) == 0
    assert activation_parity(lambda x: x + 1e-3 * (x > 9.99)) == 0  # broken only at the end of the interval
    assert nn.Activation("0o", [torch.abs]).irreps_out == nn.Activation("0e", [torch.abs]).irreps_out


def test_split_scale() -> None:
    act = nn.Activation("0e", [torch.relu]).acts[0]
    f, c = split_scale(act)
    x = torch.randn(10)
    torch.testing.assert_close(f(x) * c, act(x))
    relu = torch.nn.ReLU()
    assert split_scale(relu) == (relu, None)  # not a normalize2mom: used as is


def test_equivariance() -> None:
    act = nn.Activation("2x0e + 3x0o + 1o + 2x0o", [torch.relu, torch.tanh, None, torch.abs])
    assert_equivariant(act, [torch.randn(4, act.irreps_in.dim, dtype=DT)])


@pytest.mark.parametrize(
    "irreps, acts, error, match",
    [
        (
            "2x0e + 3x0o",
            [torch.tanh],
            ValueError,
            r"expected one activation per term of irreps_in 2x0e\+3x0o \(2\), got 1",
        ),
        (
            "0e + 1o",
            [None, torch.tanh],
            ValueError,
            r"expected scalar \(l=0\) inputs for activations, got the activation tanh on 1x1o \(term 1",
        ),
        (
            "2x0o",
            [torch.relu],
            ValueError,
            r"parity violated: the input scalar 2x0o \(term 0\) is odd, .* got relu which is neither",
        ),
        ("0e", ["relu"], TypeError, "expected acts\\[0\\] to be callable or None, got str"),
        (
            "0e",
            torch.relu,
            TypeError,
            "expected acts to be a list of callables or None, got builtin_function_or_method",
        ),
    ],
)
def test_errors(irreps: str, acts: object, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        nn.Activation(irreps, acts)


def test_forward_errors() -> None:
    act = nn.Activation("2x0e", [torch.tanh])
    with pytest.raises(
        ValueError, match=r"expected input with last dimension 2 \(irreps 2x0e\), got shape \(3, 3\)"
    ):
        act(torch.randn(3, 3))
    with pytest.raises(TypeError, match="expected features to be a torch.Tensor, got list"):
        act([1.0, 2.0])
