"""o3.Linear through the compiled kernels (e3torch_linear): kernel vs pure torch vs e3nn in float64 (outputs and
gradients), the operators' adjoint identities, gradcheck/gradgradcheck, torch.compile, torch.export, fallback."""

from __future__ import annotations

import copy
import pickle

import e3nn.o3
import pytest
import torch

from e3torch import o3
from e3torch._kernels import kernels_available
from e3torch._kernels._linear_ops import path_table
from e3torch.o3._linear import linear_naive

pytestmark = pytest.mark.skipif(not kernels_available("linear"), reason="linear kernels unavailable")

DT = torch.float64

CASES = [
    ("0e + 1o", "2x0e + 2x1o", {}),
    ("2x0e + 3x1o + 0e", "2x0e + 2x1o + 1e", {"biases": True}),
    ("2x0e + 1o + 3x0e", "3x0e + 1o", {"path_normalization": "path"}),
    ("0x0e + 1o", "3x0e + 1o", {}),
    ("2x0e + 1o", "0x0e + 1o + 3x0e", {}),
    ("4x0e + 3x0e", "4x0e + 3x0e", {"instructions": [(0, 0), (1, 1)]}),
    ("2x0e + 1o", "3x0e + 1o + 0e + 2e", {"instructions": [(0, 2)]}),
    ("5x0e + 4x1o + 3x2e + 2x1e", "3x0e + 5x1o + 2x2e + 3x2o", {"biases": [True, False, False, False]}),
    ("7x0e + 20x1o + 3x3o + 2x4e", "40x0e + 9x1o + 5x3o + 3x4e", {}),  # d = 7 and the generic d = 9
    ("33x1o + 17x2e", "35x1o + 18x2e + 1o", {"path_normalization": "path"}),  # column remainders
]


def _trio(irreps_in: str, irreps_out: str, kw: dict) -> tuple[e3nn.o3.Linear, o3.Linear, o3.Linear]:
    theirs = e3nn.o3.Linear(irreps_in, irreps_out, **kw).to(DT)
    sd = theirs.state_dict()
    if theirs.bias_numel and theirs.internal_weights:
        with torch.no_grad():
            sd["bias"].normal_()
    kernel, torch_path = (o3.Linear(irreps_in, irreps_out, **kw).to(DT) for _ in range(2))
    for lin in (kernel, torch_path):
        lin.load_state_dict(sd, strict=True)
    torch_path._use_kernel = False
    assert kernel._use_kernel
    return theirs, kernel, torch_path


def _uses_kernel(y: torch.Tensor) -> bool:
    """Whether the graph of ``y`` goes through the kernel's autograd node (within a few steps)."""
    nodes = [y.grad_fn]
    for _ in range(4):
        if any(n is not None and "ForwardFn" in n.name() for n in nodes):
            return True
        nodes = [m for n in nodes if n is not None for m, _ in n.next_functions]
    return False


@pytest.mark.parametrize("irreps_in, irreps_out, kw", CASES)
@pytest.mark.parametrize("batch", [(6,), (2, 3), (0,), ()])
def test_kernel_vs_torch_vs_e3nn(irreps_in: str, irreps_out: str, kw: dict, batch: tuple) -> None:
    theirs, kernel, torch_path = _trio(irreps_in, irreps_out, kw)
    x = torch.randn(*batch, kernel.irreps_in.dim, dtype=DT, requires_grad=True)
    ys = [m(x) for m in (kernel, torch_path, theirs)]
    for y in ys[1:]:
        torch.testing.assert_close(ys[0], y, atol=1e-10, rtol=0)
    if not ys[0].requires_grad:
        assert kernel.weight_numel == kernel.bias_numel == 0
        return
    assert _uses_kernel(ys[0])
    g = torch.randn_like(ys[0])
    grads = [
        torch.autograd.grad(y, [x] + list(m.parameters()), g)
        for y, m in zip(ys, (kernel, torch_path, theirs))
    ]
    for other in grads[1:]:
        for a, b in zip(grads[0], other):
            torch.testing.assert_close(a, b, atol=1e-10, rtol=0)
    with torch.no_grad():  # no graph: straight to the kernel
        torch.testing.assert_close(kernel(x), ys[1], atol=1e-10, rtol=0)


def test_large_float32_threads_and_chunks() -> None:
    # many samples (several chunks and threads), wide blocks, float32 against a float64 reference
    lin = o3.Linear("40x0e + 70x1o + 36x2e + 5x3o", "70x0e + 40x1o + 50x2e + 3x3o", biases=True)
    with torch.no_grad():
        lin.bias.normal_()
    x = torch.randn(1000, lin.irreps_in.dim, requires_grad=True)
    y = lin(x)
    assert _uses_kernel(y)
    expected = linear_naive(lin.plan, x.double(), lin.weight.double(), lin.bias.double())
    torch.testing.assert_close(y.double(), expected, atol=1e-4, rtol=1e-4)
    g = torch.randn_like(y)
    gx, gw, gb = torch.autograd.grad(y, [x, lin.weight, lin.bias], g)
    xd, wd, bd = (t.detach().double().requires_grad_() for t in (x, lin.weight, lin.bias))
    ex = torch.autograd.grad(linear_naive(lin.plan, xd, wd, bd), [xd, wd, bd], g.double())
    for a, b in zip((gx, gw, gb), ex):
        torch.testing.assert_close(a.double(), b, atol=2e-3, rtol=1e-4)


def test_external_shared_weights_use_kernel() -> None:
    theirs = e3nn.o3.Linear("3x0e + 2x1o", "2x0e + 4x1o", internal_weights=False, biases=True).to(DT)
    ours = o3.Linear("3x0e + 2x1o", "2x0e + 4x1o", internal_weights=False, biases=True).to(DT)
    assert ours.shared_weights and not ours.internal_weights
    x = torch.randn(5, 9, dtype=DT)
    w = torch.randn(ours.weight_numel, dtype=DT, requires_grad=True)
    b = torch.randn(ours.bias_numel, dtype=DT, requires_grad=True)
    y = ours(x, w, b)
    assert _uses_kernel(y)
    torch.testing.assert_close(y, theirs(x, w, b), atol=1e-10, rtol=0)
    torch.testing.assert_close(y, linear_naive(ours.plan, x, w, b), atol=1e-10, rtol=0)


def test_gradcheck_and_gradgradcheck_through_kernel() -> None:
    lin = o3.Linear("2x0e + 3x1o + 2e", "0e + 2x1o + 3x2e", biases=True).to(DT)
    x = torch.randn(4, lin.irreps_in.dim, dtype=DT, requires_grad=True)
    assert _uses_kernel(lin(x, lin.weight, lin.bias))
    torch.autograd.gradcheck(lambda x, w, b: lin(x, w, b), (x, lin.weight, lin.bias))
    torch.autograd.gradgradcheck(lambda x, w, b: lin(x, w, b), (x, lin.weight, lin.bias))


def test_operator_identities_and_gradgradcheck() -> None:
    # <g, F(x, w)> = <F^T(g, w), x> = <G(x, g), w>, and the operators' own derivatives to second order
    tab = path_table([(0, 2, 0, 3, 1, 0, 0.7), (2, 3, 3, 2, 3, 6, 1.3), (0, 2, 12, 1, 1, 12, 0.4)])
    x = torch.randn(5, 11, dtype=DT, requires_grad=True)
    g = torch.randn(5, 13, dtype=DT, requires_grad=True)
    w = torch.randn(14, dtype=DT, requires_grad=True)
    F, G = torch.ops.e3torch_linear.forward, torch.ops.e3torch_linear.grad_weight
    y = F(x, w, tab, 13, False)
    lhs = (g * y).sum()
    torch.testing.assert_close(lhs, (F(g, w, tab, 11, True) * x).sum(), atol=1e-12, rtol=0)
    torch.testing.assert_close(lhs, (G(x, g, tab, 14) * w).sum(), atol=1e-12, rtol=0)
    assert not y[:, 9:12].any()  # columns that no path reaches
    torch.autograd.gradgradcheck(lambda x, w: F(x, w, tab, 13, False), (x, w))
    torch.autograd.gradgradcheck(lambda g, w: F(g, w, tab, 11, True), (g, w))
    torch.autograd.gradgradcheck(lambda x, g: G(x, g, tab, 14), (x, g))


def test_operator_errors() -> None:
    F = torch.ops.e3torch_linear.forward
    tab = path_table([(0, 2, 0, 3, 1, 0, 1.0)])
    with pytest.raises(RuntimeError, match="weight too short"):
        F(torch.randn(3, 2), torch.randn(5), tab, 3, False)
    with pytest.raises(RuntimeError, match="out of bounds"):
        F(torch.randn(3, 1), torch.randn(6), tab, 3, False)
    with pytest.raises(RuntimeError, match=r"expected tab to be a contiguous \(P, 7\) int64"):
        F(torch.randn(3, 2), torch.randn(6), tab[:, :6].contiguous(), 3, False)
    with pytest.raises(RuntimeError, match="expected weights of dtype"):
        F(torch.randn(3, 2), torch.randn(6, dtype=DT), tab, 3, False)


def test_fallback_dtypes_and_disabled_kernel() -> None:
    lin = o3.Linear("3x0e + 2x1o", "2x0e + 4x1o", biases=True)
    with torch.no_grad():
        lin.bias.normal_()
    x = torch.randn(6, 9)
    expected = lin(x)
    half = copy.deepcopy(lin).to(torch.bfloat16)  # not a kernel dtype: the torch path
    torch.testing.assert_close(half(x.bfloat16()).float(), expected, atol=0.1, rtol=0.05)
    off = copy.deepcopy(lin)
    off._use_kernel = False
    torch.testing.assert_close(off(x), expected, atol=1e-5, rtol=1e-5)
    # mixed dtypes keep the torch path's behaviour
    with pytest.raises(RuntimeError):
        lin(x.double())


def test_pickle_and_to_keep_the_table_exact() -> None:
    lin = o3.Linear("3x0e + 2x1o", "2x0e + 4x1o", path_normalization="path")
    table = lin._kernel_table.clone()
    lin = pickle.loads(pickle.dumps(lin)).to(DT)
    assert lin._use_kernel and torch.equal(lin._kernel_table, table)
    assert "_kernel_table" not in lin.state_dict()
    x = torch.randn(4, 9, dtype=DT)
    torch.testing.assert_close(lin(x), linear_naive(lin.plan, x, lin.weight), atol=1e-12, rtol=0)


def test_compile_fullgraph_forward_backward() -> None:
    lin = o3.Linear("4x0e + 2x1o + 2e", "3x0e + 2x1o + 2e", biases=True)
    with torch.no_grad():
        lin.bias.normal_()
    x = torch.randn(7, lin.irreps_in.dim, requires_grad=True)
    compiled = torch.compile(lin, fullgraph=True, dynamic=False)
    y, y_ref = compiled(x), lin(x)
    torch.testing.assert_close(y, y_ref, atol=1e-5, rtol=1e-5)
    g = torch.randn_like(y)
    for a, b in zip(
        torch.autograd.grad(y, [x, lin.weight], g), torch.autograd.grad(y_ref, [x, lin.weight], g)
    ):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_export_dynamic_batch() -> None:
    lin = o3.Linear("4x0e + 2x1o", "3x0e + 2x1o")
    x = torch.randn(7, lin.irreps_in.dim)
    batch = torch.export.Dim("batch")
    program = torch.export.export(lin, (x,), dynamic_shapes=({0: batch},))
    assert "e3torch_linear.forward" in str(program.graph)
    x2 = torch.randn(11, lin.irreps_in.dim)
    torch.testing.assert_close(program.module()(x2), lin(x2), atol=1e-6, rtol=1e-6)


def test_unpickle_state_from_before_the_kernels() -> None:
    lin = o3.Linear("3x0e + 2x1o", "2x0e + 4x1o")
    state = dict(vars(lin))
    for key in ("_use_kernel", "_dim_in", "_dim_out", "_zero"):
        del state[key]
    state["_buffers"] = {k: v for k, v in state["_buffers"].items() if k in ("output_mask",)}
    old = o3.Linear.__new__(o3.Linear)
    old.__setstate__(state)
    assert old._use_kernel and "_kernel_table" in dict(old.named_buffers())
    x = torch.randn(4, 9)
    torch.testing.assert_close(old(x), lin(x), atol=0, rtol=0)


def test_non_contiguous_and_expanded_inputs() -> None:
    theirs, kernel, _ = _trio("3x0e + 4x1o + 2x2e", "2x0e + 3x1o + 2x2e", {})
    d = kernel.irreps_in.dim
    strided = torch.randn(6, 2 * d, dtype=DT)[:, ::2]  # column stride 2
    expanded = torch.randn(1, d, dtype=DT).expand(5, d)  # row stride 0
    transposed = torch.randn(d, 4, dtype=DT).t()  # column-major
    for x in (strided, expanded, transposed):
        torch.testing.assert_close(kernel(x), theirs(x), atol=1e-10, rtol=0)
        torch.testing.assert_close(kernel(x), linear_naive(kernel.plan, x, kernel.weight), atol=1e-10, rtol=0)
