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

torch.set_default_dtype(torch.float64)


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


BACKEND_LIST = ["torch"]


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
