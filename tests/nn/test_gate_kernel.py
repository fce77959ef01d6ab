"""The fused gate kernels (e3torch._kernels._gate_ops, gate.cpp): activation codes, outputs and derivatives (up to
third order) against the pure-torch path and e3nn, layouts, strides, torch.compile and torch.export, fallbacks, the
operators' argument checks."""

from __future__ import annotations

import copy
import pickle

import e3nn.math
import e3nn.nn
import pytest
import torch

from e3torch import _kernels, nn
from e3torch._kernels import _gate_ops, kernels_available
from e3torch.math import normalize2mom

F = torch.nn.functional
DT = torch.float64
tanh, sig, relu, silu, gelu, softplus = torch.tanh, torch.sigmoid, torch.relu, F.silu, F.gelu, F.softplus

pytestmark = pytest.mark.skipif(not kernels_available("gate"), reason="the gate kernels are unavailable here")

EVERY_CODE = (
    "4x0e+2x0e+3x0e+2x0e+1x0o+2x0e",
    [silu, gelu, softplus, torch.nn.Identity(), torch.abs, relu],
    "2x0e+3x0o+2x0e+1x0e",
    [sig, tanh, torch.nn.SiLU(), F.softplus],
    "2x1o+3x2e+2x1e+1x3o",
)
SMALL = (  # every code once, few columns (for the costly numerical checks)
    "1x0e+1x0e+1x0e+1x0e+1x0o+1x0e",
    [silu, gelu, softplus, torch.nn.Identity(), torch.abs, relu],
    "1x0e+1x0o+1x0e+1x0e",
    [sig, tanh, torch.nn.SiLU(), F.softplus],
    "1o+1e+1e+2e",
)
LAYOUTS = [
    ("64x0e", [silu], "32x0e", [sig], "16x1o + 16x2e"),  # the benchmark's
    EVERY_CODE,
    ("2x0e", [tanh], "2x0o", [torch.abs], "2e+1o"),  # even function of an odd gate: parity flip
    ("2x0o+1x0e", [tanh, tanh], "1x0o+1x0e", [tanh, sig], "2x1o"),  # odd gates interleaved with scalars
    ("0x0e+2x0e", [tanh, tanh], "0x0e + 2x0e", [sig, sig], "2x1o+0x2e"),  # zero multiplicities
    ("", [], "3x0e", [sig], "1x1o+1x0e+1x2o"),  # no scalars; a gated scalar
    ("3x0e", [relu], "", [], ""),  # scalars only
    ("2x0e", [None], "2x0e", [None], "2x1o"),  # identities
    ("3x0e+2x0o+4x0e", [relu, tanh, silu], "3x0e+1x0o+2x0e", [sig, tanh, sig], "2x1e+1o+2x2e+1x1e"),
]


def _pair(args: tuple) -> tuple[nn.Gate, nn.Gate]:
    fast, slow = nn.Gate(*args), nn.Gate(*args)
    slow._use_kernels = False
    assert fast.backend == "cpp" and slow.backend == "torch"
    return fast, slow


@pytest.mark.parametrize(
    "act, code",
    [
        (None, "identity"),
        (torch.nn.Identity(), "identity"),
        (silu, "silu"),
        (torch.nn.SiLU(), "silu"),
        (torch.sigmoid, "sigmoid"),
        (F.sigmoid, "sigmoid"),
        (torch.nn.Sigmoid(), "sigmoid"),
        (torch.tanh, "tanh"),
        (F.tanh, "tanh"),
        (torch.nn.Tanh(), "tanh"),
        (torch.relu, "relu"),
        (F.relu, "relu"),
        (torch.nn.ReLU(), "relu"),
        (gelu, "gelu"),
        (torch.nn.GELU(), "gelu"),
        (torch.abs, "abs"),
        (softplus, "softplus"),
        (torch.nn.Softplus(), "softplus"),
    ],
)
def test_activation_codes(act: object, code: str) -> None:
    assert _gate_ops.activation_code(act) == (_gate_ops.CODES[code], 1.0)
    found = _gate_ops.activation_code(normalize2mom(act or torch.nn.Identity()))
    assert found is not None and found[0] == _gate_ops.CODES[code]


def test_activation_constants() -> None:
    c = normalize2mom(torch.tanh).cst
    assert _gate_ops.activation_code(normalize2mom(torch.tanh)) == (_gate_ops.TANH, c)
    twice = normalize2mom(normalize2mom(torch.tanh))  # the outer one is taken as already normalized
    assert twice._is_id and _gate_ops.activation_code(twice) == (_gate_ops.TANH, c)
    theirs = e3nn.math.normalize2mom(torch.tanh)  # e3nn's wrapper: same meaning
    code, c_theirs = _gate_ops.activation_code(theirs)
    assert code == _gate_ops.TANH and c_theirs == pytest.approx(c, rel=1e-12)


@pytest.mark.parametrize(
    "act",
    [
        lambda x: x.tanh(),
        torch.exp,
        torch.nn.GELU(approximate="tanh"),
        torch.nn.Softplus(beta=2.0),
        torch.nn.Softplus(threshold=10.0),
        torch.nn.ReLU(inplace=True),
        torch.nn.LeakyReLU(),
    ],
)
def test_unknown_activations_use_torch(act: object) -> None:
    assert _gate_ops.activation_code(act) is None
    gate = nn.Gate("2x0e", [act], "1x0e", [sig], "1x1o")
    assert gate.backend == "torch"
    gate = nn.Gate("2x0e", [tanh], "1x0e", [act], "1x1o")
    assert gate.backend == "torch"


@pytest.mark.parametrize("args", LAYOUTS)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_kernel_vs_torch_vs_e3nn(args: tuple, dtype: torch.dtype) -> None:
    fast, slow = _pair(args)
    theirs = e3nn.nn.Gate(*args)
    tol = {"atol": 1e-10, "rtol": 0} if dtype == DT else {"atol": 2e-5, "rtol": 1e-5}
    x = (2 * torch.randn(2, 5, fast.irreps_in.dim, dtype=dtype)).requires_grad_()
    y_fast, y_slow, y_theirs = fast(x), slow(x), theirs(x)
    assert y_fast.shape == (2, 5, fast.irreps_out.dim) and y_fast.dtype == dtype
    torch.testing.assert_close(y_fast, y_slow, **tol)
    torch.testing.assert_close(y_fast, y_theirs, **tol)
    g = torch.randn_like(y_fast)
    grads = [torch.autograd.grad(y, x, g)[0] for y in (y_fast, y_slow, y_theirs)]
    torch.testing.assert_close(grads[0], grads[1], **tol)
    torch.testing.assert_close(grads[0], grads[2], **tol)
    with torch.no_grad():
        torch.testing.assert_close(fast(x), y_theirs.detach(), **tol)


def test_benchmark_layout_many_rows() -> None:
    # enough rows for several threads' blocks
    fast, slow = _pair(LAYOUTS[0])
    x = torch.randn(3000, fast.irreps_in.dim, dtype=DT, requires_grad=True)
    y = fast(x)
    torch.testing.assert_close(y, slow(x), atol=1e-12, rtol=0)
    torch.testing.assert_close(torch.autograd.grad(y.sum(), x)[0], torch.autograd.grad(slow(x).sum(), x)[0])


def test_extreme_and_special_values() -> None:
    fast, slow = _pair(EVERY_CODE)
    for dtype, big in ((DT, 800.0), (torch.float32, 95.0)):
        n = fast.irreps_in.dim
        x = torch.linspace(-big, big, 64 * n, dtype=dtype).reshape(64, n)[torch.randperm(64)]
        x[0] = 0.0
        x[1] = 20.0  # softplus's threshold
        x[2] = -0.0
        x[3] = 1e-30
        x.requires_grad_(True)
        y_fast, y_slow = fast(x), slow(x)
        assert torch.isfinite(y_fast).all()
        tol = {"atol": 1e-12, "rtol": 1e-12} if dtype == DT else {"atol": 1e-5, "rtol": 1e-5}
        torch.testing.assert_close(y_fast, y_slow, **tol)
        g = torch.randn_like(y_fast)
        # float32: f' = 1 - tanh^2 (and silu's, gelu's) cancels where it is small; one ulp of the activation,
        # times the gated values (up to ~100 here), moves a gate's gradient by ~1e-5 on either path
        tol = tol if dtype == DT else {"atol": 2e-4, "rtol": 1e-4}
        torch.testing.assert_close(
            torch.autograd.grad(y_fast, x, g)[0], torch.autograd.grad(y_slow, x, g)[0], **tol
        )


def test_nan_propagates() -> None:
    fast, slow = _pair(EVERY_CODE)
    x = torch.randn(2, fast.irreps_in.dim, dtype=DT)
    x[0, :] = float("nan")
    y_fast, y_slow = fast(x), slow(x)
    assert torch.equal(y_fast.isnan(), y_slow.isnan())
    torch.testing.assert_close(y_fast[1], y_slow[1], atol=1e-12, rtol=0)


def test_batch_shapes_and_empty() -> None:
    fast, slow = _pair(LAYOUTS[2])
    d = fast.irreps_in.dim
    for shape in [(d,), (0, d), (3, 0, d), (2, 3, 4, d)]:
        x = torch.randn(shape, dtype=DT, requires_grad=True)
        y = fast(x)
        assert y.shape == shape[:-1] + (fast.irreps_out.dim,)
        torch.testing.assert_close(y, slow(x), atol=1e-12, rtol=0)
        (g,) = torch.autograd.grad(y.sum(), x)
        assert g.shape == x.shape


def test_strided_inputs_and_broadcast_gradients() -> None:
    fast, slow = _pair(EVERY_CODE)
    d = fast.irreps_in.dim
    base = torch.randn(7, 2 * d + 3, dtype=DT)
    x = base[:, 3 : 3 + d].requires_grad_()  # rows with a stride
    y = fast(x)
    torch.testing.assert_close(y, slow(x), atol=1e-12, rtol=0)
    (ga,) = torch.autograd.grad(y.sum(), x)  # the gradient of a sum: one broadcast row
    (gb,) = torch.autograd.grad(slow(x).sum(), x)
    torch.testing.assert_close(ga, gb, atol=1e-12, rtol=0)
    xt = torch.randn(d, 7, dtype=DT).t().requires_grad_()  # column stride != 1
    g = torch.randn(fast.irreps_out.dim, 7, dtype=DT).t()
    torch.testing.assert_close(
        torch.autograd.grad(fast(xt), xt, g)[0], torch.autograd.grad(slow(xt), xt, g)[0], atol=1e-12, rtol=0
    )


def test_gradcheck_every_code() -> None:
    fast, _ = _pair(SMALL)
    x = torch.randn(3, fast.irreps_in.dim, dtype=DT)
    x = (x + 0.1 * x.sign()).requires_grad_()  # away from the kinks of relu and abs
    torch.autograd.gradcheck(fast, (x,))
    torch.autograd.gradgradcheck(fast, (x,))


def test_operators_gradgradcheck() -> None:
    fast, _ = _pair(SMALL)
    tab, scales = fast._kernel_plan
    x = torch.randn(2, fast.irreps_in.dim, dtype=DT)
    x = (x + 0.1 * x.sign()).requires_grad_()
    go = torch.randn(2, fast.irreps_out.dim, dtype=DT, requires_grad=True)
    backward = torch.ops.e3torch_gate.backward
    torch.autograd.gradcheck(lambda a, b: backward(a, b, tab, scales), (x, go))
    torch.autograd.gradgradcheck(lambda a, b: backward(a, b, tab, scales), (x, go))


def test_third_derivatives_match_torch() -> None:
    fast, slow = _pair(EVERY_CODE)
    x = torch.randn(4, fast.irreps_in.dim, dtype=DT, requires_grad=True)
    w = torch.randn(4, fast.irreps_in.dim, dtype=DT)

    def derivatives(gate: nn.Gate) -> tuple[torch.Tensor, ...]:
        (g1,) = torch.autograd.grad(gate(x).pow(2).sum(), x, create_graph=True)
        (g2,) = torch.autograd.grad(g1.pow(2).sum(), x, create_graph=True)
        (g3,) = torch.autograd.grad((g2 * w).sum(), x)
        return g1, g2, g3

    for a, b in zip(derivatives(fast), derivatives(slow)):
        torch.testing.assert_close(a, b, atol=1e-9, rtol=1e-9)


@pytest.mark.slow
def test_compile_fullgraph_forward_backward() -> None:
    fast, slow = _pair(SMALL)
    x = torch.randn(6, fast.irreps_in.dim, requires_grad=True)
    compiled = torch.compile(fast, fullgraph=True, dynamic=False)
    y = compiled(x)
    torch.testing.assert_close(y, slow(x), atol=1e-5, rtol=1e-5)
    (ga,) = torch.autograd.grad(y.pow(2).sum(), x)
    (gb,) = torch.autograd.grad(slow(x).pow(2).sum(), x)
    torch.testing.assert_close(ga, gb, atol=1e-5, rtol=1e-5)


def test_export_dynamic_batch(tmp_path: object) -> None:
    fast, slow = _pair(LAYOUTS[0])
    d = fast.irreps_in.dim
    batch = torch.export.Dim("batch", min=2)
    program = torch.export.export(fast, (torch.randn(5, d),), dynamic_shapes=({0: batch},))
    assert "e3torch_gate.forward" in str(program.graph)
    path = tmp_path / "gate.pt2"  # type: ignore[operator]
    torch.export.save(program, path)
    loaded = torch.export.load(path)
    x = torch.randn(9, d)
    torch.testing.assert_close(loaded.module()(x), slow(x), atol=1e-6, rtol=1e-6)


def test_fallback_when_kernels_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_kernels, "kernels_available", lambda key: False)
    args = LAYOUTS[1]
    gate, theirs = nn.Gate(*args), e3nn.nn.Gate(*args)
    assert gate.backend == "torch"
    x = torch.randn(4, gate.irreps_in.dim, dtype=DT, requires_grad=True)
    torch.testing.assert_close(gate(x), theirs(x), atol=1e-10, rtol=0)


def test_fallback_for_other_dtypes_and_devices() -> None:
    fast, slow = _pair(LAYOUTS[0])
    x = torch.randn(5, fast.irreps_in.dim, dtype=DT)
    for dtype in (torch.bfloat16, torch.float16):
        torch.testing.assert_close(fast(x.to(dtype)), slow(x.to(dtype)), atol=0, rtol=0)
    meta = fast(torch.empty(5, fast.irreps_in.dim, device="meta"))
    assert meta.shape == (5, fast.irreps_out.dim) and meta.device.type == "meta"


def test_deepcopy_and_pickle_keep_the_kernels() -> None:
    fast, slow = _pair(EVERY_CODE)
    x = torch.randn(3, fast.irreps_in.dim, dtype=DT)
    for other in (copy.deepcopy(fast), pickle.loads(pickle.dumps(fast))):
        assert other.backend == "cpp"
        torch.testing.assert_close(other(x), slow(x), atol=1e-12, rtol=0)


def test_double_module_keeps_constants_exact() -> None:
    fast, _slow = _pair(LAYOUTS[0])
    fast.to(torch.float32).to(DT)  # the kernels' constants are not buffers: no round trip through float32
    x = torch.randn(3, fast.irreps_in.dim, dtype=DT)
    torch.testing.assert_close(fast(x), e3nn.nn.Gate(*LAYOUTS[0])(x), atol=1e-10, rtol=0)


def test_operator_argument_checks() -> None:
    fast, _ = _pair(LAYOUTS[0])
    tab, scales = fast._kernel_plan
    d_in, d_out = fast.irreps_in.dim, fast.irreps_out.dim
    op = torch.ops.e3torch_gate
    with pytest.raises(RuntimeError, match=rf"expected x of shape \(N, {d_in}\)"):
        op.forward(torch.randn(2, d_in + 1), tab, scales, d_out)
    with pytest.raises(RuntimeError, match="does not match the plan's"):
        op.forward(torch.randn(2, d_in), tab, scales, d_out + 1)
    with pytest.raises(RuntimeError, match="expected x of dtype float32 or float64"):
        op.forward(torch.randn(2, d_in).half(), tab, scales, d_out)
    with pytest.raises(RuntimeError, match="plan version"):
        op.forward(torch.randn(2, d_in), [99] + tab[1:], scales, d_out)
    with pytest.raises(RuntimeError, match="expected 2 scales, got 1"):
        op.forward(torch.randn(2, d_in), tab, scales[:1], d_out)
    with pytest.raises(RuntimeError, match="expected grad with 2 rows, got 3"):
        op.backward(torch.randn(2, d_in), torch.randn(3, d_out), tab, scales)
    with pytest.raises(RuntimeError, match="expected grad of dtype"):
        op.backward(torch.randn(2, d_in), torch.randn(2, d_out, dtype=DT), tab, scales)


def test_encode_checks_coverage() -> None:
    with pytest.raises(ValueError, match="expected a gate plan covering the 3 input segments once"):
        _gate_ops.encode([1, 1, 3], [(0, tanh)], [(1, sig)], [], [])
    assert _gate_ops.encode([1, 1, 3], [(0, lambda x: x)], [(1, sig)], [2], [0, 0, 0]) is None


@pytest.mark.parametrize("args", [EVERY_CODE, LAYOUTS[0], LAYOUTS[3], LAYOUTS[5], LAYOUTS[6]])
def test_fused_double_backward_matches_torch_formula(args: tuple) -> None:
    fast, _ = _pair(args)
    tab, scales = fast._kernel_plan
    layout = _gate_ops._decode(tuple(tab), tuple(scales))
    x = 2 * torch.randn(6, fast.irreps_in.dim, dtype=DT)
    go = torch.randn(6, fast.irreps_out.dim, dtype=DT)
    h = torch.randn(6, fast.irreps_in.dim, dtype=DT)
    dx, dgo = torch.ops.e3torch_gate.double_backward(x, go, h, tab, scales)
    rx, rgo = _gate_ops._double_backward(layout, x, go, h, True, True)
    torch.testing.assert_close(dx, rx, atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(dgo, rgo, atol=1e-12, rtol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_force_training_pattern(dtype: torch.dtype) -> None:
    # gradient with create_graph=True, then a plain backward: the fused double backward runs
    fast, slow = _pair(EVERY_CODE)
    theirs = e3nn.nn.Gate(*EVERY_CODE)
    x = torch.randn(5, fast.irreps_in.dim, dtype=dtype, requires_grad=True)
    w = torch.randn(5, fast.irreps_in.dim, dtype=dtype)

    def second(gate: torch.nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
        (g,) = torch.autograd.grad(gate(x).pow(2).sum(), x, create_graph=True)
        (gg,) = torch.autograd.grad((g * w).sum(), x)
        return g.detach(), gg

    tol = {"atol": 1e-10, "rtol": 0} if dtype == DT else {"atol": 1e-4, "rtol": 1e-4}
    for a, b, c in zip(second(fast), second(slow), second(theirs)):
        torch.testing.assert_close(a, b, **tol)
        torch.testing.assert_close(a, c, **tol)


def test_double_backward_argument_checks() -> None:
    fast, _ = _pair(LAYOUTS[0])
    tab, scales = fast._kernel_plan
    d_in, d_out = fast.irreps_in.dim, fast.irreps_out.dim
    op = torch.ops.e3torch_gate.double_backward
    with pytest.raises(RuntimeError, match=rf"expected h of shape \(N, {d_in}\)"):
        op(torch.randn(2, d_in), torch.randn(2, d_out), torch.randn(2, d_out), tab, scales)
    with pytest.raises(RuntimeError, match="expected grad and h with 2 rows, got 2 and 3"):
        op(torch.randn(2, d_in), torch.randn(2, d_out), torch.randn(3, d_in), tab, scales)


def test_pickle_from_before_the_kernels() -> None:
    fast, slow = _pair(LAYOUTS[0])
    state = fast.__getstate__()
    for key in ("_kernel_plan", "_use_kernels", "_dims"):
        del state[key]
    old = nn.Gate.__new__(nn.Gate)
    old.__setstate__(state)
    assert old.backend == "cpp"
    x = torch.randn(3, fast.irreps_in.dim, dtype=DT)
    torch.testing.assert_close(old(x), slow(x), atol=1e-12, rtol=0)
