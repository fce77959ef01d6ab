import math

import e3nn.math
import pytest
import torch
import torch.nn.functional as F

from e3torch.math import moment, normalize2mom

ACTIVATIONS = {
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "silu": F.silu,
    "relu": torch.relu,
    "abs": torch.abs,
    "gelu": F.gelu,
    "softplus": F.softplus,
    "sin": torch.sin,
    "identity": lambda x: x,
    "square": lambda x: x**2,
}


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_constant_parity(name: str) -> None:
    f = ACTIVATIONS[name]
    ours, theirs = normalize2mom(f), e3nn.math.normalize2mom(f)
    assert isinstance(ours.cst, float)
    assert abs(ours.cst - theirs.cst) < 1e-10
    assert ours._is_id == theirs._is_id


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_constant_does_not_depend_on_dtype(dtype: torch.dtype) -> None:
    assert abs(normalize2mom(torch.tanh, dtype=dtype).cst - e3nn.math.normalize2mom(torch.tanh).cst) < 1e-12


@pytest.mark.parametrize("rel", [0.0, 5e-5, -5e-5, 2e-4, -2e-4, 1e-2])
def test_identity_detection(rel: float) -> None:
    c0 = normalize2mom(lambda x: x).cst
    scale = c0 * (1 + rel)
    f = lambda x: scale * x  # noqa: E731
    ours, theirs = normalize2mom(f), e3nn.math.normalize2mom(f)
    assert ours._is_id == theirs._is_id == (abs(rel) < 1e-4)
    x = torch.randn(5, dtype=torch.float64)
    torch.testing.assert_close(ours(x), theirs(x), atol=1e-12, rtol=0)


@pytest.mark.parametrize("name", ["tanh", "silu", "abs"])
def test_forward_and_gradient_parity(name: str) -> None:
    f = ACTIVATIONS[name]
    x = torch.randn(20, dtype=torch.float64, requires_grad=True)
    y1, y2 = normalize2mom(f)(x), e3nn.math.normalize2mom(f)(x)
    torch.testing.assert_close(y1, y2, atol=1e-12, rtol=0)
    (g1,) = torch.autograd.grad(y1.sum(), x)
    (g2,) = torch.autograd.grad(y2.sum(), x)
    torch.testing.assert_close(g1, g2, atol=1e-12, rtol=0)


def test_normalized_second_moment() -> None:
    act = normalize2mom(torch.tanh)
    assert abs(moment(act, 2, dtype=torch.float64).item() - 1.0) < 1e-12


def test_moment_parity() -> None:
    for n in [1, 2, 3]:
        for dtype in [None, torch.float32, torch.float64]:
            ours = moment(torch.tanh, n, dtype=dtype)
            theirs = e3nn.math.moment(torch.tanh, n, dtype=dtype)
            assert ours.dtype == theirs.dtype
            assert abs(ours.item() - theirs.item()) < 1e-10
    # E[z^2] = 1 up to Monte Carlo error
    assert math.isclose(moment(lambda z: z, 2, dtype=torch.float64).item(), 1.0, abs_tol=5e-3)


def test_module_behaviour() -> None:
    act = normalize2mom(torch.nn.SiLU())
    assert list(act.state_dict()) == []
    assert "cst=" in repr(act)
    assert isinstance(act.f, torch.nn.SiLU)
    compiled = torch.compile(act, fullgraph=True, backend="eager")
    x = torch.randn(4)
    torch.testing.assert_close(compiled(x), act(x))


def test_errors() -> None:
    with pytest.raises(TypeError, match="expected a callable activation, got int"):
        normalize2mom(3)
    with pytest.raises(TypeError, match="expected a callable f, got str"):
        moment("tanh", 2)
