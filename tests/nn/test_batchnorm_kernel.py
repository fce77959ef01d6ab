"""nn.BatchNorm through the fused C++ operator (e3torch_bn): kernel vs pure torch vs e3nn 0.6.0 in float64
(outputs, gradients, running statistics over several steps, train and eval), gradcheck and gradgradcheck,
torch.compile(fullgraph=True), torch.export, the fallback, and the operator's error messages."""

from __future__ import annotations

import copy

import e3nn.nn
import pytest
import torch

import e3torch._kernels
from e3torch import nn
from e3torch._kernels import _batchnorm_ops, kernels_available

pytestmark = pytest.mark.skipif(not kernels_available("batchnorm"), reason="batchnorm kernels unavailable")

DT = torch.float64
IRREPS = ["2x0e + 3x1o + 2e + 0o + 0e", "3x1o + 2x2e", "4x0e", "1o + 0e + 1o + 2e + 1e", "0e"]
MODES = [
    {},
    {"normalization": "norm"},
    {"affine": False},
    {"include_bias": False},
    {"normalization": "norm", "affine": False},
    {"reduce": "max"},  # eval through the kernel, training on the pure-torch path
]


class _Calls:
    """Counts calls of the operator's forward (and its backward) through ``torch.ops``."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.forward = self.backward = 0
        ops = torch.ops.e3torch_bn
        fwd, bwd = ops.forward, ops.backward

        def count_forward(*args: object) -> object:
            self.forward += 1
            return fwd(*args)

        def count_backward(*args: object) -> object:
            self.backward += 1
            return bwd(*args)

        monkeypatch.setattr(_batchnorm_ops.torch.ops.e3torch_bn, "forward", count_forward, raising=False)
        monkeypatch.setattr(_batchnorm_ops.torch.ops.e3torch_bn, "backward", count_backward, raising=False)


def _triple(irreps: str, kw: dict) -> tuple[e3nn.nn.BatchNorm, nn.BatchNorm, nn.BatchNorm]:
    theirs = e3nn.nn.BatchNorm(irreps, momentum=0.3, **kw).to(DT)
    fast = nn.BatchNorm(irreps, momentum=0.3, **kw).to(DT)
    pure = nn.BatchNorm(irreps, momentum=0.3, **kw).to(DT)
    pure._use_kernels = False
    with torch.no_grad():
        for p in theirs.parameters():
            p.normal_()
    fast.load_state_dict(theirs.state_dict(), strict=True)
    pure.load_state_dict(theirs.state_dict(), strict=True)
    assert fast._use_kernels
    return theirs, fast, pure


def _grads(module: torch.nn.Module, x: torch.Tensor, g: torch.Tensor) -> list[torch.Tensor | None]:
    y = module(x)
    wrt = [x] + list(module.parameters())
    return [y] + list(torch.autograd.grad(y, wrt, g, allow_unused=True))


def _close(a: torch.Tensor | None, b: torch.Tensor | None, atol: float = 1e-10) -> None:
    if a is None or b is None:  # an empty bias (no scalars) is unused
        assert (a is None or not a.any()) and (b is None or not b.any())
        return
    torch.testing.assert_close(a, b, atol=atol, rtol=0)


@pytest.mark.parametrize("kw", MODES)
@pytest.mark.parametrize("irreps", IRREPS)
def test_kernel_matches_pure_and_e3nn(irreps: str, kw: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    theirs, fast, pure = _triple(irreps, kw)
    calls = _Calls(monkeypatch)
    train_kernel = kw.get("reduce", "mean") == "mean"
    for step, shape in enumerate([(7,), (5, 4), (3, 2, 3), (9,)]):
        x = (torch.randn(*shape, fast.irreps.dim, dtype=DT) * 2 + 0.5 * step).requires_grad_()
        g = torch.randn(*shape, fast.irreps.dim, dtype=DT)
        for training in (True, False):
            for m in (theirs, fast, pure):
                m.train(training)
            before = calls.forward, calls.backward
            got, ref, want = _grads(fast, x, g), _grads(pure, x, g), _grads(theirs, x, g)
            if training and not train_kernel:
                assert (calls.forward, calls.backward) == before
            else:
                assert (calls.forward, calls.backward) == (before[0] + 1, before[1] + 1)
            for a, b, c in zip(got, ref, want):
                _close(a, b)
                _close(a, c)
        for key, value in theirs.state_dict().items():
            torch.testing.assert_close(fast.state_dict()[key], value, atol=1e-12, rtol=0)
            torch.testing.assert_close(pure.state_dict()[key], value, atol=1e-12, rtol=0)


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("kw", [{}, {"affine": False}, {"normalization": "norm"}, {"include_bias": False}])
def test_kernel_gradcheck_gradgradcheck(kw: dict, training: bool) -> None:
    bn = nn.BatchNorm("2x0e + 1o + 2e + 0o + 0e", **kw).to(DT).train(training)
    with torch.no_grad():
        for p in bn.parameters():
            p.normal_()
        bn.running_mean.normal_()
        bn.running_var.uniform_(0.5, 2.0)
    assert bn._kernel_ok(torch.zeros(1, dtype=DT, requires_grad=True))
    x = torch.randn(6, 2, bn.irreps.dim, dtype=DT, requires_grad=True)
    params = tuple(bn.parameters())
    torch.autograd.gradcheck(lambda x, *p: bn(x), (x,) + params)
    torch.autograd.gradgradcheck(lambda x, *p: bn(x), (x,) + params)


def test_third_derivative_matches_pure() -> None:
    fast = nn.BatchNorm("2x0e + 1o").to(DT)
    pure = nn.BatchNorm("2x0e + 1o").to(DT)
    pure._use_kernels = False
    x = torch.randn(5, 5, dtype=DT, requires_grad=True)
    results = []
    for bn in (fast, pure):
        (g1,) = torch.autograd.grad(bn(x).pow(3).sum(), x, create_graph=True)
        (g2,) = torch.autograd.grad(g1.pow(2).sum(), x, create_graph=True)
        (g3,) = torch.autograd.grad(g2.sum(), x)
        results.append((g1, g2, g3))
    for a, b in zip(*results):
        torch.testing.assert_close(a, b, atol=1e-9, rtol=0)


def test_float32_kernel_vs_float64() -> None:
    # far-off-centre data: the shifted sums keep the centred second moment accurate in float32
    ref = nn.BatchNorm("8x0e + 4x1o + 2x2e").to(DT)
    ref._use_kernels = False
    bn = nn.BatchNorm("8x0e + 4x1o + 2x2e")
    x = torch.randn(3000, bn.irreps.dim, dtype=DT) * 0.1 + 1000.0
    x32 = x.float().requires_grad_()
    x = x32.detach().double().requires_grad_()
    y, y_ref = bn(x32), ref(x)
    torch.testing.assert_close(y.double(), y_ref, atol=2e-3, rtol=0)
    g = torch.randn_like(y_ref)
    (gx,) = torch.autograd.grad(y, x32, g.float())
    (gx_ref,) = torch.autograd.grad(y_ref, x, g)
    torch.testing.assert_close(gx.double(), gx_ref, atol=1e-1, rtol=2e-3)
    torch.testing.assert_close(bn.running_mean.double(), ref.running_mean, atol=1e-3, rtol=1e-6)
    torch.testing.assert_close(bn.running_var.double(), ref.running_var, atol=1e-4, rtol=1e-3)


def test_strided_input_and_broadcast_gradient() -> None:
    fast = nn.BatchNorm("3x0e + 2x1o").to(DT)
    pure = nn.BatchNorm("3x0e + 2x1o").to(DT)
    pure._use_kernels = False
    x = torch.randn(9, 36, dtype=DT)[:, ::4]  # column stride 4
    assert not x.is_contiguous()
    grads = []
    for bn in (fast, pure):
        xg = x.detach().requires_grad_()
        y = bn(xg)
        y.sum().backward()  # the gradient of a sum arrives as a broadcast (stride 0)
        grads.append([y, xg.grad] + [p.grad for p in bn.parameters()])
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=0)


@pytest.mark.parametrize("training", [True, False])
def test_kernel_compile_fullgraph(training: bool) -> None:
    bn = nn.BatchNorm("4x0e + 2x1o + 2e").train(training)
    ref = nn.BatchNorm("4x0e + 2x1o + 2e").train(training)
    ref._use_kernels = False
    x = torch.randn(16, bn.irreps.dim, requires_grad=True)
    torch._dynamo.reset()
    compiled = torch.compile(bn, fullgraph=True, dynamic=False)
    y, y_ref = compiled(x), ref(x)
    torch.testing.assert_close(y, y_ref, atol=1e-5, rtol=1e-5)
    (g,) = torch.autograd.grad(y.pow(2).sum(), x)
    (g_ref,) = torch.autograd.grad(y_ref.pow(2).sum(), x)
    torch.testing.assert_close(g, g_ref, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(bn.running_var, ref.running_var, atol=1e-6, rtol=0)
    torch.testing.assert_close(bn.running_mean, ref.running_mean, atol=1e-6, rtol=0)
    with torch.no_grad():
        torch.testing.assert_close(compiled(x), ref(x), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("training", [True, False])
def test_kernel_export(training: bool) -> None:
    bn = nn.BatchNorm("4x0e + 2x1o + 2e").to(DT).train(training)
    ref = nn.BatchNorm("4x0e + 2x1o + 2e").to(DT).train(training)
    ref._use_kernels = False
    x = torch.randn(16, bn.irreps.dim, dtype=DT)
    program = torch.export.export(bn, (x,))
    assert any("e3torch_bn" in str(node.target) for node in program.graph.nodes)
    out = program.module()(x)
    torch.testing.assert_close(out, ref(x), atol=1e-12, rtol=0)


def test_fallback_without_kernels(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(e3torch._kernels, "kernels_available", lambda key: False)
    bn = nn.BatchNorm("2x0e + 1o").to(DT)
    assert not bn._use_kernels
    calls = _Calls(monkeypatch)
    fast = nn.BatchNorm("2x0e + 1o").to(DT)
    fast._use_kernels = True
    x = torch.randn(6, 5, dtype=DT, requires_grad=True)
    for m in (bn, fast):
        m.train()
    torch.testing.assert_close(bn(x), fast(x), atol=1e-12, rtol=0)
    assert calls.forward == 1
    bn.eval()
    bn(x).sum().backward()
    assert calls.forward == 1 and calls.backward == 0


def test_eval_inference_takes_pure_path_and_gradients_the_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    bn = nn.BatchNorm("2x0e + 1o + 2e").to(DT).eval()
    if not bn._use_kernels:
        pytest.skip("kernels unavailable")
    with torch.no_grad():
        bn.running_mean.normal_()
        bn.running_var.uniform_(0.5, 2.0)
    x = torch.randn(7, bn.irreps.dim, dtype=DT, requires_grad=True)
    pure = copy.deepcopy(bn)
    pure._use_kernels = False
    calls = _Calls(monkeypatch)
    with torch.no_grad():
        y = bn(x)
    assert calls.forward == 0  # inference: one addcmul, no operator
    y_grad = bn(x)
    assert calls.forward == 1  # autograd records: the fused forward and backward
    torch.testing.assert_close(y, y_grad, atol=1e-12, rtol=0)
    torch.testing.assert_close(y_grad, pure(x), atol=1e-12, rtol=0)


def test_unsupported_inputs_take_pure_path(monkeypatch: pytest.MonkeyPatch) -> None:
    bn = nn.BatchNorm("2x0e + 1o")  # float32 parameters
    assert bn._kernel_ok(torch.zeros(3, 5))
    assert not bn._kernel_ok(torch.zeros(3, 5, dtype=DT))  # mixed dtypes
    assert not bn._kernel_ok(torch.zeros(3, 5, dtype=torch.bfloat16))
    assert not nn.BatchNorm("2x0e + 1o", instance=True)._use_kernels
    assert not nn.BatchNorm("2x0e + 1o", reduce="max")._kernel_ok(torch.zeros(3, 5))
    assert nn.BatchNorm("2x0e + 1o", reduce="max").eval()._kernel_ok(torch.zeros(3, 5))
    calls = _Calls(monkeypatch)
    y = bn.to(torch.bfloat16)(torch.randn(4, 5, dtype=torch.bfloat16))
    assert y.dtype == torch.bfloat16 and calls.forward == 0


def test_operator_errors() -> None:
    x = torch.randn(4, 5)
    cc, sc = torch.tensor([0, 1, 2, 2, 2]), torch.tensor([0, 1])
    with pytest.raises(RuntimeError, match=r"expected comp_channel of shape \(5,\) and dtype int64"):
        torch.ops.e3torch_bn.forward(x, None, None, None, None, cc[:4], sc, 3, True, 1e-5, True)
    with pytest.raises(RuntimeError, match=r"comp_channel\[2\] = 2 out of range \[0, 2\)"):
        torch.ops.e3torch_bn.forward(x, None, None, None, None, cc, sc, 2, True, 1e-5, True)
    with pytest.raises(RuntimeError, match=r"expected weight of shape \(3,\), got \[2\]"):
        torch.ops.e3torch_bn.forward(x, torch.ones(2), None, None, None, cc, sc, 3, True, 1e-5, True)
    with pytest.raises(RuntimeError, match="expected float32 or float64 input, got Long"):
        torch.ops.e3torch_bn.forward(x.long(), None, None, None, None, cc, sc, 3, True, 1e-5, True)
    with pytest.raises(RuntimeError, match=r"expected g of shape \(4, 5\), got \[4, 4\]"):
        torch.ops.e3torch_bn.backward(
            x[:, :4], x, None, torch.zeros(2), torch.ones(3), cc, sc, 3, True, 1e-5, True, True, False, False
        )


def test_empty_batch() -> None:
    bn = nn.BatchNorm("2x0e + 1o").to(DT)
    assert not bn._kernel_ok(torch.zeros(0, 5, dtype=DT))  # training: the pure path, as e3nn
    bn.eval()
    assert bn._kernel_ok(torch.zeros(0, 5, dtype=DT))
    assert bn(torch.zeros(0, 5, dtype=DT)).shape == (0, 5)


@pytest.mark.parametrize("training", [True, False])
def test_kernel_batch_dynamic_compile_and_export(training: bool) -> None:
    bn = nn.BatchNorm("4x0e + 2x1o + 2e").to(DT).train(training)
    ref = nn.BatchNorm("4x0e + 2x1o + 2e").to(DT).train(training)
    ref._use_kernels = False
    torch._dynamo.reset()
    compiled = torch.compile(bn, fullgraph=True, dynamic=True)
    for n in (16, 33):
        x = torch.randn(n, 3, bn.irreps.dim, dtype=DT)
        torch.testing.assert_close(compiled(x), ref(x), atol=1e-12, rtol=0)
    n = torch.export.Dim("n", min=2)
    program = torch.export.export(bn, (torch.randn(16, bn.irreps.dim, dtype=DT),), dynamic_shapes=({0: n},))
    x = torch.randn(21, bn.irreps.dim, dtype=DT)
    torch.testing.assert_close(program.module()(x), ref(x), atol=1e-12, rtol=0)


def test_pickle_roundtrip_keeps_kernels(monkeypatch: pytest.MonkeyPatch) -> None:
    import pickle

    bn = nn.BatchNorm("2x0e + 1o").to(DT)
    x = torch.randn(6, 5, dtype=DT)
    copy = pickle.loads(pickle.dumps(bn))
    assert copy._use_kernels
    torch.testing.assert_close(copy(x), bn(x), atol=0, rtol=0)
    old = nn.BatchNorm("2x0e + 1o").to(DT)  # pickled before the kernels existed: gets them on load
    del old.__dict__["_use_kernels"]
    loaded = pickle.loads(pickle.dumps(old))
    assert loaded._use_kernels
    torch.testing.assert_close(loaded(x), bn(x), atol=1e-12, rtol=0)
    # unpickled in a process without a compiler: the pure-torch path
    monkeypatch.setattr(e3torch._kernels, "kernels_available", lambda key: False)
    assert not pickle.loads(pickle.dumps(bn))._use_kernels
