"""The eager fast path of the compiled tensor product (``_tp_ops.apply``) against the registered operator.

``_tp_ops.apply`` bypasses torch.library's generic autograd wrapper in eager mode (an ``autograd.Function`` that
calls the kernels below the autograd key, or the kernels directly when no graph is recorded). These tests check it
gives the registered operator's values and first and second derivatives, passes gradcheck/gradgradcheck, that
compiled code still sees the registered operator, and that the flat-batch shortcut of ``TensorProduct.forward``
gives the broadcasting path's result.
"""

from __future__ import annotations

import pytest
import torch

from e3torch import _kernels
from e3torch._kernels import _tp_ops
from e3torch.o3 import FullyConnectedTensorProduct, Irreps, TensorProduct

pytestmark = pytest.mark.skipif(
    not _kernels.tensor_product_ops_available(), reason="tensor-product kernels unavailable"
)


def _conv_tp(dtype: torch.dtype) -> TensorProduct:
    """A MACE-like channelwise product with per-sample weights."""
    irreps1, irreps2 = "3x0e + 2x1o", "0e + 1o + 2e"
    out, ins = [], []
    for i, (mul, ir1) in enumerate(Irreps(irreps1)):
        for j, (_, ir2) in enumerate(Irreps(irreps2)):
            for ir in ir1 * ir2:
                out.append(f"{mul}x{ir}")
                ins.append((i, j, len(out) - 1, "uvu", True))
    tp = TensorProduct(irreps1, irreps2, " + ".join(out), ins, shared_weights=False, internal_weights=False)
    return tp.to(dtype)


def _operands(tp: TensorProduct, z: int, dtype: torch.dtype) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(z, tp.irreps_in1.dim, generator=g, dtype=dtype, requires_grad=True)
    y = torch.randn(z, tp.irreps_in2.dim, generator=g, dtype=dtype, requires_grad=True)
    w = torch.randn(z, tp.weight_numel, generator=g, dtype=dtype, requires_grad=True)
    return x, y, w


def _registered(tp: TensorProduct, x: torch.Tensor, y: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    ex = tp._executor
    return torch.ops.e3torch_tp.apply(x, y, None, w, ex._tab_i, ex._tab_f, 4, False, False, *ex._dims)[2]


def test_eager_path_matches_registered_operator_to_second_order() -> None:
    tp = _conv_tp(torch.float64)
    x, y, w = _operands(tp, 5, torch.float64)
    out_fast = tp(x, y, w)
    out_ref = _registered(tp, x, y, w)
    assert out_fast.grad_fn is not None and "EagerApply" in type(out_fast.grad_fn).__name__
    torch.testing.assert_close(out_fast, out_ref, rtol=0, atol=1e-12)
    probe = torch.randn_like(out_ref)
    g_fast = torch.autograd.grad(out_fast, (x, y, w), probe, create_graph=True)
    g_ref = torch.autograd.grad(out_ref, (x, y, w), probe, create_graph=True)
    for a, b in zip(g_fast, g_ref):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
    # a force-training-like second derivative: d/d(w, y) of |dE/dx|^2
    gg_fast = torch.autograd.grad(g_fast[0].pow(2).sum(), (y, w))
    gg_ref = torch.autograd.grad(g_ref[0].pow(2).sum(), (y, w))
    for a, b in zip(gg_fast, gg_ref):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-11)


def test_eager_path_gradcheck_and_gradgradcheck() -> None:
    tp = _conv_tp(torch.float64)
    x, y, w = _operands(tp, 3, torch.float64)
    assert torch.autograd.gradcheck(tp, (x, y, w))
    assert torch.autograd.gradgradcheck(tp, (x, y, w))


def test_no_grad_path_matches() -> None:
    tp = _conv_tp(torch.float32)
    x, y, w = (t.detach() for t in _operands(tp, 7, torch.float32))
    with torch.no_grad():
        out = tp(x, y, w)
    assert out.grad_fn is None
    torch.testing.assert_close(out, _registered(tp, x, y, w), rtol=0, atol=0)


def test_compiled_code_uses_registered_operator() -> None:
    tp = _conv_tp(torch.float32)
    x, y, w = _operands(tp, 4, torch.float32)
    compiled = torch.compile(tp, fullgraph=True, backend="eager")
    out = compiled(x, y, w)
    torch.testing.assert_close(out, tp(x, y, w), rtol=1e-6, atol=1e-6)
    gx = torch.autograd.grad(out.sum(), x)[0]
    torch.testing.assert_close(gx, torch.autograd.grad(tp(x, y, w).sum(), x)[0], rtol=1e-6, atol=1e-6)


def test_tensor_product_function_matches_module() -> None:
    tp = _conv_tp(torch.float32)
    x, y, w = (t.detach() for t in _operands(tp, 2, torch.float32))
    ex = tp._executor
    torch.testing.assert_close(
        _tp_ops.tensor_product(x, y, w, ex._tab_i, ex._tab_f, ex._dims), tp(x, y, w), rtol=0, atol=0
    )


@pytest.mark.parametrize("shared", [True, False])
def test_flat_batch_shortcut_matches_broadcasting_path(shared: bool) -> None:
    tp = FullyConnectedTensorProduct("2x0e + 1x1o", "1x0e + 1x1o", "2x0e + 1x1o", shared_weights=shared)
    tp = tp.to(torch.float64)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(6, tp.irreps_in1.dim, generator=g, dtype=torch.float64)
    y = torch.randn(6, tp.irreps_in2.dim, generator=g, dtype=torch.float64)
    w = None if shared else torch.randn(6, tp.weight_numel, generator=g, dtype=torch.float64)
    flat = tp(x, y, w)
    weight = tp._get_weights(w)
    general = tp._run(x, y, weight, (6,))
    torch.testing.assert_close(flat, general, rtol=0, atol=0)
    # a broadcast batch still goes the general way
    assert tp(x[:1], y, w).shape == (6, tp.irreps_out.dim)
