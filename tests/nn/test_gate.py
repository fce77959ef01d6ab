"""nn.Gate: parity with e3nn 0.6.0 (layout, outputs, gradients, state_dict, reprs), every execution path (the
fused kernels, and the pure-torch plan with and without autograd), equivariance, errors, torch.compile.

The kernels themselves (every activation code, double backward, export, fallbacks) are tested in
``test_gate_kernel.py``."""

from __future__ import annotations

import e3nn.nn
import pytest
import torch

from e3torch import nn
from e3torch._kernels import kernels_available
from e3torch.util.test import assert_equivariant

DT = torch.float64
tanh, sig, relu, silu = torch.tanh, torch.sigmoid, torch.relu, torch.nn.functional.silu

CASES = [
    ("1x0e", [tanh], "1x0e", [sig], "1x1o"),
    ("16x0e+8x0o", [tanh, tanh], "8x0e+4x0o", [sig, tanh], "4x1o+8x2e"),
    ("2x0e", [tanh], "0e+0e", [sig, sig], "1o+2e"),
    ("2x0e", [tanh], "8x0e", [sig], "4x1o+4x1o"),
    ("2x0e", [tanh], "2x0e", [sig], "2e+1o"),
    ("2x0e", [tanh], "2x0e", [sig], "2e+0e"),
    ("2x0e", [tanh], "2x0o", [tanh], "2e+1o"),
    ("2x0e", [tanh], "2x0o", [torch.abs], "2e+1o"),
    ("", [], "", [], ""),
    ("2x0e", [tanh], "", [], ""),
    ("", [], "2x0e", [sig], "2x1o"),
    ("2x0e", [None], "2x0e", [None], "2x1o"),
    ("0x0e+2x0e", [tanh, tanh], "2x0e", [sig], "2x1o"),
    ("2x0e", [tanh], "0x0e + 2x0e", [sig, sig], "2x1o+0x2e"),
    ("2x0o+1x0e", [tanh, tanh], "1x0o+1x0e", [tanh, sig], "2x1o"),
    ("3x0e+2x0o+4x0e", [relu, tanh, silu], "3x0e+1x0o+2x0e", [sig, tanh, sig], "2x1e+1o+2x2e+1x1e"),
    ("8x0e", [silu], "4x0e+4x0e", [sig, tanh], "4x1o+4x1e"),
]


def _gate(args: tuple, backend: str) -> nn.Gate:
    gate = nn.Gate(*args)
    if backend == "torch":
        gate._use_kernels = False
    elif not kernels_available("gate"):
        pytest.skip("the gate kernels are unavailable here")
    return gate


@pytest.mark.parametrize("backend", ["cpp", "torch"])
@pytest.mark.parametrize("args", CASES)
def test_parity_with_e3nn(args: tuple, backend: str) -> None:
    theirs, ours = e3nn.nn.Gate(*args), _gate(args, backend)
    assert repr(ours) == repr(theirs)
    assert (ours.irreps_in, ours.irreps_out) == (theirs.irreps_in, theirs.irreps_out)
    assert (ours.irreps_scalars, ours.irreps_gates, ours.irreps_gated) == (
        theirs.irreps_scalars,
        theirs.irreps_gates,
        theirs.irreps_gated,
    )
    assert repr(ours.mul) == repr(theirs.mul)
    assert repr(ours.act_scalars) == repr(theirs.act_scalars) and repr(ours.act_gates) == repr(
        theirs.act_gates
    )
    assert {k: v.shape for k, v in ours.state_dict().items()} == {
        k: v.shape for k, v in theirs.state_dict().items()
    }
    ours.load_state_dict(theirs.state_dict(), strict=True)
    theirs.load_state_dict(ours.state_dict(), strict=True)

    x = torch.randn(4, 3, theirs.irreps_in.dim, dtype=DT, requires_grad=True)
    y_theirs = theirs(x)
    y_ours = ours(x)
    torch.testing.assert_close(y_ours, y_theirs, atol=1e-10, rtol=0)
    with torch.no_grad():  # without autograd (the pure-torch plan writes in place, no concatenation)
        torch.testing.assert_close(ours(x), y_theirs.detach(), atol=1e-10, rtol=0)
    if y_ours.numel() and y_ours.requires_grad:
        g = torch.randn_like(y_ours)
        (ga,) = torch.autograd.grad(y_ours, x, g)
        (gb,) = torch.autograd.grad(y_theirs, x, g)
        torch.testing.assert_close(ga, gb, atol=1e-10, rtol=0)


def test_seed_example() -> None:
    gate = nn.Gate("1x0e", [torch.tanh], "1x0e", [torch.sigmoid], "1x1o")
    assert repr(gate) == "Gate (2x0e+1x1o -> 1x0e+1x1o)"
    assert gate(torch.randn(1, 5)).shape == (1, 4)


@pytest.mark.parametrize("backend", ["cpp", "torch"])
def test_equivariance(backend: str) -> None:
    gate = _gate(("3x0e+2x0o", [silu, tanh], "2x0e+2x0o", [sig, tanh], "1o+1e+2e+2o"), backend)
    assert_equivariant(gate, [torch.randn(5, gate.irreps_in.dim, dtype=DT)])


@pytest.mark.parametrize("backend", ["cpp", "torch"])
def test_gradcheck(backend: str) -> None:
    gate = _gate(("2x0e", [silu], "2x0e+1x0o", [sig, tanh], "1o+2e+1o"), backend)
    x = torch.randn(3, gate.irreps_in.dim, dtype=DT, requires_grad=True)
    torch.autograd.gradcheck(gate, (x,))
    torch.autograd.gradgradcheck(gate, (x,))


@pytest.mark.parametrize("backend", ["cpp", "torch"])
def test_batch_shapes(backend: str) -> None:
    gate = _gate(("2x0e", [tanh], "2x0e", [sig], "2x1o"), backend)
    assert gate(torch.randn(3, 2, 10)).shape == (3, 2, 8)
    assert gate(torch.randn(10)).shape == (8,)
    assert gate(torch.randn(0, 10)).shape == (0, 8)


@pytest.mark.parametrize(
    "args, match",
    [
        (
            ("2x0e", [tanh], "3x0e", [sig], "2e+1o"),
            r"expected 2 gates for 2 gated irreps \(1x2e\+1x1o\), got 3 gates",
        ),
        (
            ("2x0e", [tanh], "1x0e", [sig], "2e+1o"),
            r"expected 2 gates for 2 gated irreps \(1x2e\+1x1o\), got 1 gates",
        ),
        (
            ("2x0e+1o", [tanh, tanh], "2x0e", [sig], "2e+1o"),
            r"expected irreps_scalars to contain only scalars \(l=0\)",
        ),
        (
            ("2x0e", [tanh], "2x0e+1e", [sig, sig], "2e+1o+1o"),
            r"expected irreps_gates to contain only scalars",
        ),
        (("2x0o", [relu], "2x0e", [sig], "2e+1o"), "parity violated: the input scalar 2x0o .* got relu"),
        (("2x0e", [tanh], "2x0o", [sig], "2e+1o"), "parity violated: the input scalar 2x0o .* got sigmoid"),
        (
            ("2x0e", [tanh, tanh], "2x0e", [sig], "2x1o"),
            r"expected one activation per term of irreps_scalars 2x0e \(1\), got 2",
        ),
        (
            ("2x0e", [tanh], "2x0e", [sig, sig], "2x1o"),
            r"expected one activation per term of irreps_gates 2x0e \(1\), got 2",
        ),
    ],
)
def test_constructor_errors(args: tuple, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        nn.Gate(*args)


def test_forward_errors() -> None:
    gate = nn.Gate("2x0e", [tanh], "2x0e", [sig], "2x1o")
    with pytest.raises(
        ValueError, match=r"expected input with last dimension 10 \(irreps 4x0e\+2x1o\), got shape \(3, 7\)"
    ):
        gate(torch.randn(3, 7))
    with pytest.raises(TypeError, match="expected features to be a torch.Tensor, got list"):
        gate([0.0] * 10)
    with pytest.raises(
        TypeError, match="expected a list of activations for irreps_scalars, got builtin_function_or_method"
    ):
        nn.Gate("2x0e", tanh, "2x0e", [sig], "2x1o")


@pytest.mark.parametrize("backend", ["cpp", "torch"])
def test_compile_fullgraph(backend: str) -> None:
    gate = _gate(("4x0e", [silu], "2x0e", [sig], "1o+2e"), backend)
    x = torch.randn(6, gate.irreps_in.dim, requires_grad=True)
    compiled = torch.compile(gate, fullgraph=True, dynamic=False)
    torch.testing.assert_close(compiled(x), gate(x), atol=1e-5, rtol=1e-5)


def test_chunked_no_grad_path(monkeypatch: pytest.MonkeyPatch) -> None:
    # input dim 1100, one thread: without autograd the rows are processed by chunks of 256 (4 for 1000 rows)
    monkeypatch.setattr(torch, "get_num_threads", lambda: 1)
    args = ("200x0e", [silu], "100x0e + 100x0o", [sig, tanh], "100x1o + 50x2e + 50x1e")
    theirs, ours = e3nn.nn.Gate(*args), _gate(args, "torch")
    assert ours.irreps_in.dim == 1100
    x = torch.randn(1000, 1100, dtype=DT)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x), atol=1e-10, rtol=0)


class _ScaledTanh(torch.nn.Module):
    """An activation with a learnable parameter."""

    def __init__(self) -> None:
        super().__init__()
        self.a = torch.nn.Parameter(torch.tensor(0.7))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(x * self.a.to(x.dtype))


def test_activation_with_parameters_gets_gradients() -> None:
    act = _ScaledTanh()
    gate = nn.Gate("3x0e", [act], "2x0e", [sig], "1o+1e")
    assert gate.backend == "torch"  # an activation the kernels do not know
    assert any(p is act.a for p in gate.parameters())
    y = gate(torch.randn(4, gate.irreps_in.dim))  # the input does not require grad, the activation does
    (g,) = torch.autograd.grad(y.sum(), act.a)
    assert g.shape == () and g != 0
