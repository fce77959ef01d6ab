"""The fast tensor-product executor: every mode against e3nn (float64), gradients, compile, export, edge cases.

Plans are built here from e3nn's own instructions and Wigner 3j symbols, so these tests check the executor
against the oracle independently of the plan builder.
"""

from __future__ import annotations

import pytest
import torch
from e3nn import o3 as e3nn_o3

from e3torch.o3._tensor_product._fast import FastExecutor
from e3torch.o3._tensor_product._plan import Block, Path, TensorProductPlan



@pytest.fixture(autouse=True)
def _float64_default() -> object:
    """These tests build e3nn modules and random inputs in float64; restore the default dtype afterwards."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def _blocks(irreps: e3nn_o3.Irreps) -> tuple[Block, ...]:
    blocks, offset = [], 0
    for mul, ir in irreps:
        blocks.append(Block(mul, ir.l, ir.p, offset))
        offset += mul * ir.dim
    return tuple(blocks)


def plan_from_e3nn(tp: e3nn_o3.TensorProduct) -> TensorProductPlan:
    """The plan of an e3nn tensor product: its instructions, coefficients and nonzero 3j entries."""
    in1, in2, out = _blocks(tp.irreps_in1), _blocks(tp.irreps_in2), _blocks(tp.irreps_out)
    paths, offset = [], 0
    for ins in tp.instructions:
        l1, l2, l3 = in1[ins.i_in1].l, in2[ins.i_in2].l, out[ins.i_out].l
        c = e3nn_o3.wigner_3j(l1, l2, l3, dtype=torch.float64)
        cg = tuple((i, j, k, float(c[i, j, k])) for i, j, k in (c.abs() > 1e-12).nonzero().tolist())
        shape = tuple(ins.path_shape) if ins.has_weight else ()
        path = Path(ins.i_in1, ins.i_in2, ins.i_out, ins.connection_mode, ins.has_weight,
                    offset if ins.has_weight else 0, shape, float(ins.path_weight), cg)  # fmt: skip
        offset += path.weight_numel
        paths.append(path)
    return TensorProductPlan(in1, in2, out, tuple(paths), offset)


# (irreps_in1, irreps_in2, irreps_out, instructions): every mode, with and without weights, several paths
# into one output, an output block without any path, l up to 3.
MODE_CASES = {
    "uvw": ("2x0e+3x1o", "2x1o+1x2e", "3x1e+2x1o+2x0e", [(0, 0, 1, "uvw", True), (1, 0, 0, "uvw", True),
                                                          (1, 1, 1, "uvw", True), (1, 0, 2, "uvw", True)]),
    "uvw_scalar": ("3x1o+2x2e+2x0e", "4x0e+1x1o", "2x1o+3x2e+2x0e", [(0, 0, 0, "uvw", True), (1, 0, 1, "uvw", True),
                                                              (2, 0, 2, "uvw", True), (0, 1, 1, "uvw", True)]),
    "uvu": ("3x0e+3x1o+2x2e", "1x0e+1x1o+1x2e+1x3o", "3x1o+3x0e+2x2e+2x1o",
            [(0, 1, 0, "uvu", True), (1, 0, 0, "uvu", True), (1, 1, 1, "uvu", True), (2, 3, 3, "uvu", True),
             (2, 2, 2, "uvu", True), (1, 2, 0, "uvu", False)]),
    "uvu_mul2": ("3x1o", "2x1o+2x0e", "3x1e+3x1o", [(0, 0, 0, "uvu", True), (0, 1, 1, "uvu", True)]),
    "uvv": ("2x1o+3x0e", "3x1o", "3x0e+3x1o", [(0, 0, 0, "uvv", True), (1, 0, 1, "uvv", False)]),
    "uuw": ("3x1o+3x2e", "3x1o+3x2e", "2x1e+1x0e+4x2e+2x2o",
            [(0, 0, 0, "uuw", True), (1, 1, 1, "uuw", False), (1, 1, 0, "uuw", True), (1, 1, 2, "uuw", True),
             (0, 1, 3, "uuw", True)]),
    "uuu": ("4x0e+4x1o", "4x1o+4x2e", "4x1o+4x1e+4x2o",
            [(0, 0, 0, "uuu", True), (1, 0, 1, "uuu", False), (1, 1, 2, "uuu", True), (1, 1, 0, "uuu", True)]),
    "uvuv": ("2x1o+1x0e", "3x1o", "6x1e+3x1o", [(0, 0, 0, "uvuv", True), (1, 0, 1, "uvuv", False)]),
    "uvu<v": ("4x1o", "4x1o+4x2e", "6x0e+6x1e+6x2o", [(0, 0, 0, "uvu<v", True), (0, 0, 1, "uvu<v", False),
                                                      (0, 1, 2, "uvu<v", True)]),
    "u<vw": ("4x1o+3x0e", "4x1o+3x0e", "5x0e+2x2e", [(0, 0, 0, "u<vw", True), (0, 0, 1, "u<vw", True),
                                                     (1, 1, 0, "u<vw", True)]),
}


def _e3nn_tp(name: str, shared: bool) -> e3nn_o3.TensorProduct:
    irreps1, irreps2, irreps_out, instructions = MODE_CASES[name]
    return e3nn_o3.TensorProduct(irreps1, irreps2, irreps_out, instructions, shared_weights=shared,
                                 internal_weights=False)  # fmt: skip


def _inputs(tp: e3nn_o3.TensorProduct, z: int, shared: bool, seed: int = 0) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    x1 = torch.randn(z, tp.irreps_in1.dim, generator=g)
    x2 = torch.randn(z, tp.irreps_in2.dim, generator=g)
    w = torch.randn((tp.weight_numel,) if shared else (z, tp.weight_numel), generator=g)
    return x1, x2, w


from e3torch._kernels import tensor_product_ops_available

BACKEND_LIST = ["torch", pytest.param("cpp", marks=pytest.mark.skipif(not tensor_product_ops_available(), reason="no compiled kernels"))]


@pytest.mark.parametrize("backend", BACKEND_LIST)
@pytest.mark.parametrize("shared", [True, False])
@pytest.mark.parametrize("name", list(MODE_CASES))
def test_matches_e3nn(name: str, shared: bool, backend: str) -> None:
    tp = _e3nn_tp(name, shared)
    ex = FastExecutor(plan_from_e3nn(tp), dtype=torch.float64, backend=backend)
    for z in (1, 7, 37):
        x1, x2, w = _inputs(tp, z, shared, seed=z)
        torch.testing.assert_close(ex(x1, x2, w), tp(x1, x2, w), atol=1e-10, rtol=0)


@pytest.mark.parametrize("backend", BACKEND_LIST)
@pytest.mark.parametrize("shared", [True, False])
def test_empty_batch(shared: bool, backend: str) -> None:
    tp = _e3nn_tp("uvw", shared)
    ex = FastExecutor(plan_from_e3nn(tp), dtype=torch.float64, backend=backend)
    x1, x2, w = _inputs(tp, 0, shared)
    out = ex(x1, x2, w)
    assert out.shape == (0, tp.irreps_out.dim)


def test_bad_arguments() -> None:
    plan = plan_from_e3nn(_e3nn_tp("uvw", True))
    with pytest.raises(ValueError, match="backend must be one of"):
        FastExecutor(plan, backend="fast")
    with pytest.raises(TypeError, match="plan must be a TensorProductPlan, got dict"):
        FastExecutor({}, backend="torch")  # type: ignore[arg-type]


def _executors(name: str, shared: bool) -> tuple[e3nn_o3.TensorProduct, FastExecutor, FastExecutor]:
    tp = _e3nn_tp(name, shared)
    plan = plan_from_e3nn(tp)
    return tp, FastExecutor(plan, dtype=torch.float64, backend="torch"), FastExecutor(plan, backend="cpp")


def _first_and_second_derivatives(ex: FastExecutor, x1, x2, w, seed: int = 1):  # noqa: ANN001, ANN202
    """Gradients of a random linear functional of the output, and of a random functional of those gradients."""
    g = torch.Generator().manual_seed(seed)
    x1, x2, w = (t.detach().clone().requires_grad_() for t in (x1, x2, w))
    out = ex(x1, x2, w)
    first = torch.autograd.grad((out * torch.randn(out.shape, generator=g)).sum(), (x1, x2, w), create_graph=True)
    probe = sum((f * torch.randn(f.shape, generator=g)).sum() for f in first)
    second = torch.autograd.grad(probe, (x1, x2, w))
    return out, first, second


requires_kernels = pytest.mark.skipif(not tensor_product_ops_available(), reason="no compiled kernels")


@requires_kernels
@pytest.mark.parametrize("shared", [True, False])
@pytest.mark.parametrize("name", list(MODE_CASES))
def test_cpp_derivatives_match_torch(name: str, shared: bool) -> None:
    tp, ex_torch, ex_cpp = _executors(name, shared)
    x1, x2, w = _inputs(tp, 19, shared, seed=3)
    for a, b in zip(_first_and_second_derivatives(ex_cpp, x1, x2, w), _first_and_second_derivatives(ex_torch, x1, x2, w)):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=0)


@requires_kernels
@pytest.mark.parametrize("name", ["uvw", "uvw_scalar", "uvu_mul2", "uuw", "uvu<v", "u<vw"])
def test_cpp_gradgradcheck(name: str) -> None:
    shared = name in ("uvw", "uvw_scalar", "u<vw")
    tp, _, ex = _executors(name, shared)
    inputs = tuple(t.requires_grad_() for t in _inputs(tp, 3, shared, seed=5))
    assert torch.autograd.gradcheck(ex, inputs)
    assert torch.autograd.gradgradcheck(ex, inputs)


@requires_kernels
def test_cpp_float32_close_to_float64() -> None:
    tp, _, ex = _executors("uvu", False)
    x1, x2, w = _inputs(tp, 40, False)
    ref = ex(x1, x2, w)
    out = ex.float()(x1.float(), x2.float(), w.float())
    assert out.dtype == torch.float32
    torch.testing.assert_close(out.double(), ref, atol=1e-5, rtol=1e-5)


@requires_kernels
def test_cpp_strided_inputs_and_empty_batch() -> None:
    tp, ex_torch, ex = _executors("uvw", False)
    x1, x2, w = _inputs(tp, 21, False)
    wide = torch.randn(21, 2 * tp.irreps_in1.dim)
    x1s = wide[:, 3 : 3 + tp.irreps_in1.dim]  # row stride larger than the row
    torch.testing.assert_close(ex(x1s, x2, w), ex_torch(x1s, x2, w), atol=1e-10, rtol=0)
    torch.testing.assert_close(ex(x1.t().contiguous().t(), x2, w), ex_torch(x1, x2, w), atol=1e-10, rtol=0)
    x1, x2, w = (t[:0].requires_grad_() for t in (x1, x2, w))
    out = ex(x1, x2, w)
    assert out.shape == (0, tp.irreps_out.dim)
    grads = torch.autograd.grad(out.sum(), (x1, x2, w))
    assert [tuple(g.shape) for g in grads] == [(0, tp.irreps_in1.dim), (0, tp.irreps_in2.dim), (0, tp.weight_numel)]


@requires_kernels
def test_cpp_shared_weight_gradient_empty_batch_is_zero() -> None:
    tp, _, ex = _executors("uvu", True)
    x1, x2, w = _inputs(tp, 0, True)
    w.requires_grad_()
    (grad,) = torch.autograd.grad(ex(x1, x2, w).sum(), (w,))
    assert grad.shape == (tp.weight_numel,) and not grad.any()


@requires_kernels
def test_cpp_compile_fullgraph_and_export() -> None:
    tp, ex_torch, ex = _executors("uvu", False)
    x1, x2, w = _inputs(tp, 9, False)
    compiled = torch.compile(ex, fullgraph=True, backend="aot_eager")
    x2c, x2t = x2.clone().requires_grad_(), x2.clone().requires_grad_()
    out = compiled(x1, x2c, w)
    torch.testing.assert_close(out, ex_torch(x1, x2, w), atol=1e-10, rtol=0)
    out.pow(2).sum().backward()  # the backward of a compiled graph runs the registered autograd formula
    ex_torch(x1, x2t, w).pow(2).sum().backward()
    torch.testing.assert_close(x2c.grad, x2t.grad, atol=1e-10, rtol=0)
    z = torch.export.Dim("z")
    exported = torch.export.export(ex, (x1, x2, w), dynamic_shapes=({0: z}, {0: z}, {0: z}))
    assert any("e3torch_tp" in str(n.target) for n in exported.graph.nodes)
    x1, x2, w = _inputs(tp, 23, False, seed=2)  # another batch size: the exported graph is batch-dynamic
    torch.testing.assert_close(exported.module()(x1, x2, w), ex_torch(x1, x2, w), atol=1e-10, rtol=0)


def test_no_weights() -> None:
    tp = e3nn_o3.TensorProduct("2x1o", "2x1o", "2x0e+2x1e", [(0, 0, 0, "uuu", False), (0, 0, 1, "uvu", False)][:1])
    plan = plan_from_e3nn(tp)
    x1, x2 = torch.randn(5, 6), torch.randn(5, 6)
    for backend in ["torch"] + (["cpp"] if tensor_product_ops_available() else []):
        ex = FastExecutor(plan, dtype=torch.float64, backend=backend)
        torch.testing.assert_close(ex(x1, x2), tp(x1, x2), atol=1e-10, rtol=0)


@requires_kernels
def test_cpp_broadcast_cotangent() -> None:
    """The gradient of ``out.sum()`` arrives as an expanded (stride 0) tensor: read in place, same result."""
    tp, ex_torch, ex = _executors("uvu", False)
    x1, x2, w = _inputs(tp, 18, False)
    grads = []
    for e in (ex, ex_torch):
        a, b, c = (t.clone().requires_grad_() for t in (x1, x2, w))
        grads.append(torch.autograd.grad(e(a, b, c).sum(), (a, b, c)))
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=0)


@requires_kernels
def test_cpp_copy_pickle_and_dtype_round_trip() -> None:
    import copy
    import io

    tp, ex_torch, ex = _executors("uvw", False)
    x1, x2, w = _inputs(tp, 11, False)
    ref = ex_torch(x1, x2, w)
    buffer = io.BytesIO()
    torch.save(ex, buffer)
    buffer.seek(0)
    for other in (copy.deepcopy(ex), torch.load(buffer, weights_only=False), ex.half().double()):
        assert other.backend == "cpp"
        torch.testing.assert_close(other(x1, x2, w), ref, atol=1e-10, rtol=0)  # CG tables survive .half()


def test_other_dtypes_use_the_torch_backend() -> None:
    tp = _e3nn_tp("uvu", False)
    ex = FastExecutor(plan_from_e3nn(tp), dtype=torch.bfloat16)
    x1, x2, w = (t.to(torch.bfloat16) for t in _inputs(tp, 6, False))
    out = ex(x1, x2, w)
    assert out.dtype == torch.bfloat16
    ref = tp(*(t.double() for t in (x1, x2, w)))
    torch.testing.assert_close(out.double(), ref, atol=0.1, rtol=0.05)


def test_cpp_backend_unavailable_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    from e3torch import _kernels

    monkeypatch.setattr(_kernels, "tensor_product_ops_available", lambda: False)
    monkeypatch.setattr(_kernels, "kernel_build_error", lambda: "no compiler (test)")
    plan = plan_from_e3nn(_e3nn_tp("uvw", True))
    with pytest.raises(RuntimeError, match=r"backend='cpp' needs the compiled .* no compiler \(test\)"):
        FastExecutor(plan, backend="cpp")
    assert FastExecutor(plan, backend="auto").backend == "torch"


@requires_kernels
def test_cpp_operator_checks_its_arguments() -> None:
    tp, _, ex = _executors("uvw", True)
    x1, x2, w = _inputs(tp, 4, True)
    plan = ex.plan
    dims = (plan.dim_in1, plan.dim_in2, plan.dim_out, plan.weight_numel)
    with pytest.raises(RuntimeError, match="operand 0 has shape"):
        torch.ops.e3torch_tp.apply(x1[:, :-1], x2, None, w, ex._tab_i, ex._tab_f, 4, True, False, *dims)
    with pytest.raises(RuntimeError, match="operand 2 is required"):
        torch.ops.e3torch_tp.apply(x1, x2, None, w, ex._tab_i, ex._tab_f, 1, True, False, *dims)
    with pytest.raises(RuntimeError, match="mask must be in"):
        torch.ops.e3torch_tp.apply(x1, x2, None, w, ex._tab_i, ex._tab_f, 0, True, False, *dims)


@requires_kernels
def test_cpp_shared_weight_gradient_is_reproducible() -> None:
    """The shared-weight gradient is summed over fixed chunks of samples, in order: bitwise the same every time."""
    tp, _, ex = _executors("uvw", True)
    x1, x2, w = _inputs(tp, 300, True)
    w.requires_grad_()
    cot = torch.randn(300, tp.irreps_out.dim)
    first = torch.autograd.grad(ex(x1, x2, w), (w,), cot)[0]
    for _ in range(3):
        assert torch.equal(torch.autograd.grad(ex(x1, x2, w), (w,), cot)[0], first)
