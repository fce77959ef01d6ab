"""The tensor products under ``torch.compile(fullgraph=True)`` and ``torch.export`` (few, small: compiling is slow)."""

from __future__ import annotations

import pytest
import torch

from e3torch import o3

pytestmark = pytest.mark.slow

CASES = {
    "TensorProduct": lambda executor: o3.TensorProduct(
        "2x0e+2x1o",
        "2x0e+2x1o",
        "2x0e+2x1e+1x1e+2x1o",
        [(0, 0, 0, "uvw", True), (1, 1, 1, "uvu", True), (1, 1, 2, "uvu<v", False), (1, 0, 3, "uvu", False)],
        shared_weights=False,
        executor=executor,
    ),
    "FullyConnectedTensorProduct": lambda executor: o3.FullyConnectedTensorProduct(
        "2x0e+1x1o", "1x0e+1x1o", "2x0e+1x1o", executor=executor
    ),
    "ElementwiseTensorProduct": lambda executor: o3.ElementwiseTensorProduct(
        "2x0e+1x1o", "1x1o+2x0e", executor=executor
    ),
    "FullTensorProduct": lambda executor: o3.FullTensorProduct("1x0e+1x1o", "1x1o", executor=executor),
    "TensorSquare": lambda executor: o3.TensorSquare("2x0e+1x1o", "1x0e+1x1e", executor=executor),
}


def arguments(tp: o3.TensorProduct, batch: int = 5) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(batch, tp.irreps_in1.dim, generator=g)
    if isinstance(tp, o3.TensorSquare):
        return (x,)
    y = torch.randn(batch, tp.irreps_in2.dim, generator=g)
    if tp.shared_weights:
        return x, y
    return x, y, torch.randn(batch, tp.weight_numel, generator=g)


@pytest.mark.parametrize("name", sorted(CASES))
def test_compile_fullgraph(name):
    torch._dynamo.reset()
    tp = CASES[name]("fast")
    args = arguments(tp)
    compiled = torch.compile(tp, fullgraph=True)
    torch.testing.assert_close(compiled(*args), tp(*args), atol=1e-5, rtol=1e-5)
    x = args[0].clone().requires_grad_()
    compiled(x, *args[1:]).pow(2).sum().backward()
    x_ref = args[0].clone().requires_grad_()
    tp(x_ref, *args[1:]).pow(2).sum().backward()
    torch.testing.assert_close(x.grad, x_ref.grad, atol=1e-5, rtol=1e-5)


def test_compile_naive_executor():
    torch._dynamo.reset()
    tp = CASES["TensorProduct"]("naive")
    args = arguments(tp)
    torch.testing.assert_close(torch.compile(tp, fullgraph=True)(*args), tp(*args), atol=1e-5, rtol=1e-5)


def test_export():
    tp = CASES["TensorProduct"]("fast")
    args = arguments(tp)
    exported = torch.export.export(tp, args)
    torch.testing.assert_close(exported.module()(*args), tp(*args), atol=1e-6, rtol=1e-6)
    other = arguments(tp)
    other = tuple(a * 2 for a in other)
    torch.testing.assert_close(exported.module()(*other), tp(*other), atol=1e-5, rtol=1e-5)
