"""e3torch.integrations.mace: the fused symmetric contraction against mace-torch's own, in float64 (outputs,
gradients of features, element attributes and weights, the double backward of force training), its plan, state
dicts, torch.compile, the accelerated MACE model against the original, and the error messages.

mace-torch is imported with the real e3nn here (the test environment has it); the compat client test
(tests/compat/test_compat_clients.py) runs the accelerated model under e3torch's import hook."""

from __future__ import annotations

import copy
import importlib.util
import sys
import warnings
from pathlib import Path

import pytest
import torch

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("mace") is None or importlib.util.find_spec("e3nn") is None,
    reason="mace-torch (and e3nn) are not installed",
)

from e3torch.integrations.mace import (
    FusedSymmetricContraction,
    SymmetricContractionPlan,
    _probe_check,
    accelerate,
)

DT = torch.float64
CASES = [  # (irreps_in, irreps_out, correlation, elements)
    ("3x0e + 3x1o", "3x0e", 1, 2),
    ("3x0e + 3x1o", "3x0e + 3x1o", 2, 1),
    ("2x0e + 2x1o + 2x2e", "2x0e + 2x1o", 3, 3),
    ("2x0e + 2x1o + 2x2e + 2x3o", "2x0e", 3, 2),
    ("2x0e + 2x1o + 2x2e", "2x0e + 2x1o + 2x2e", 2, 2),
]


def _mace_sc(irreps_in: str, irreps_out: str, correlation: int, elements: int) -> torch.nn.Module:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from e3nn import o3
        from mace.modules.symmetric_contraction import SymmetricContraction

        torch.manual_seed(correlation * 10 + elements)
        sc = SymmetricContraction(
            o3.Irreps(irreps_in), o3.Irreps(irreps_out), correlation, num_elements=elements
        )
    return sc.to(DT)


def _inputs(
    sc: torch.nn.Module, fused: FusedSymmetricContraction, nodes: int = 7
) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(nodes)
    plan = fused.plan
    x = torch.randn(nodes, plan.num_features, plan.num_ell, generator=g, dtype=DT)
    elements = sc.contractions[0].weights_max.shape[0]
    y = torch.rand(nodes, elements, generator=g, dtype=DT)  # not one-hot: the weights mix linearly
    return x, y


@pytest.mark.parametrize("use_kernel", [True, False], ids=["kernel", "reference"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}->{c[1]}@{c[2]}x{c[3]}".replace(" ", ""))
def test_matches_mace_with_derivatives(case: tuple, use_kernel: bool) -> None:
    sc = _mace_sc(*case)
    fused = FusedSymmetricContraction(sc, use_kernel=use_kernel)
    x, y = _inputs(sc, fused)
    params = [p for p in sc.parameters() if p.requires_grad]
    results = []
    for module in (sc, fused):
        xi, yi = x.clone().requires_grad_(), y.clone().requires_grad_()
        out = module(xi, yi)
        gx, gy, *gw = torch.autograd.grad(out.sin().sum(), [xi, yi] + params, create_graph=True)
        hw = torch.autograd.grad(gx.square().sum(), params)  # force training: d/dW of a loss on d/dx
        results.append([out, gx, gy, *gw, *hw])
    for want, got in zip(*results):
        torch.testing.assert_close(got, want, rtol=0, atol=1e-10 * (1.0 + float(want.abs().max())))


def test_plan_merges_the_permutations_of_each_monomial() -> None:
    sc = _mace_sc("2x0e + 2x1o + 2x2e + 2x3o", "2x0e", 3, 2)
    fused = FusedSymmetricContraction(sc)
    plan = fused.plan
    u3 = sc.contractions[0].U_matrix_3
    assert plan.num_features == 2 and plan.num_ell == 16 and plan.correlation == 3
    assert plan.outputs == ((0, 1),) and plan.dim_out == 1
    assert [(nu, k) for _, nu, k, _ in plan.weights] == [(1, 1), (2, 4), (3, u3.shape[-1])]
    third = plan.table[plan.table[:, 1] >= 5]  # terms of the third order (weights rows 5 and up)
    assert 0 < third.shape[0] < int((u3 != 0).sum())  # merged: fewer terms than nonzero entries
    assert bool((third[:, 2:5].diff(dim=1) >= 0).all())  # monomials as sorted index triples
    lower = plan.table[plan.table[:, 1] < 5]
    assert bool((lower[:, 4] == 16).all())  # orders below 3 are padded with the row of ones
    assert "terms=" in repr(fused) and repr(plan).startswith("SymmetricContractionPlan(features=2x16")


def test_state_dict_and_parameters_are_mace_s() -> None:
    sc = _mace_sc("3x0e + 3x1o", "3x0e + 3x1o", 2, 2)
    fused = FusedSymmetricContraction(sc)
    assert list(fused.state_dict()) == list(sc.state_dict())
    assert all(a is b for a, b in zip(fused.parameters(), sc.parameters()))
    other = _mace_sc("3x0e + 3x1o", "3x0e + 3x1o", 2, 2)
    with torch.no_grad():
        for p in other.parameters():
            p.add_(1.0)
    fused.load_state_dict(other.state_dict(), strict=True)
    x, y = _inputs(sc, fused)
    torch.testing.assert_close(fused(x, y), other(x, y), rtol=0, atol=1e-12)


def test_dtype_conversion_and_copies() -> None:
    sc = _mace_sc("3x0e + 3x1o", "3x0e", 2, 2)
    fused = FusedSymmetricContraction(sc)
    x, y = _inputs(sc, fused)
    want = sc(x, y)
    single = copy.deepcopy(fused).float()
    assert single.table.dtype == torch.int64
    torch.testing.assert_close(single(x.float(), y.float()).double(), want, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(copy.deepcopy(fused)(x, y), want, rtol=0, atol=1e-12)


def test_compile_fullgraph_forward_and_backward() -> None:
    sc = _mace_sc("2x0e + 2x1o + 2x2e", "2x0e + 2x1o", 3, 2)
    fused = FusedSymmetricContraction(sc)
    x, y = _inputs(sc, fused)
    compiled = torch.compile(fused, fullgraph=True, dynamic=False)
    xi = x.clone().requires_grad_()
    out = compiled(xi, y)
    (gx,) = torch.autograd.grad(out.sum(), xi)
    xj = x.clone().requires_grad_()
    want = sc(xj, y)
    (want_gx,) = torch.autograd.grad(want.sum(), xj)
    torch.testing.assert_close(out, want, rtol=0, atol=1e-11)
    torch.testing.assert_close(gx, want_gx, rtol=0, atol=1e-11)


def test_errors() -> None:
    with pytest.raises(TypeError, match="expected a mace SymmetricContraction, got Linear"):
        FusedSymmetricContraction(torch.nn.Linear(2, 2))
    sc = _mace_sc("3x0e + 3x1o", "3x0e", 2, 2)
    fused = FusedSymmetricContraction(sc)
    with pytest.raises(ValueError, match=r"expected features of shape \(nodes, 3, 4\), got \(5, 3, 3\)"):
        fused(torch.randn(5, 3, 3, dtype=DT), torch.randn(5, 2, dtype=DT))
    with pytest.raises(ValueError, match=r"expected element attributes of shape \(5, 2\), got \(5, 3\)"):
        fused(torch.randn(5, 3, 4, dtype=DT), torch.randn(5, 3, dtype=DT))
    with pytest.raises(ValueError, match="found none in Linear"):
        accelerate(torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match=r"got one itself: use FusedSymmetricContraction\(module\)"):
        accelerate(sc)
    with pytest.raises(ValueError, match=r"expected U_2 of contraction 0 to have shape \(1, 4 x 2, K\)"):
        SymmetricContractionPlan.from_tensors([{1: torch.ones(4, 1), 2: torch.ones(4, 3, 2)}], num_features=1)
    broken = copy.deepcopy(fused)
    broken.table = broken.table.clone()
    broken.table[:, -1] = (broken.table[:, -1].view(DT) * 2).view(torch.int64)
    with pytest.raises(RuntimeError, match="expected the fused symmetric contraction to reproduce mace's"):
        _probe_check(sc, broken)


@pytest.fixture(scope="module")
def mace_case() -> object:
    sys.path.insert(0, str(Path(__file__).parents[1] / "compat"))
    import _mace_case

    return _mace_case


def test_accelerated_mace_model_matches(mace_case: object) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prev = torch.get_default_dtype()
        torch.set_default_dtype(DT)
        try:
            model = mace_case.build_model(scale_shift=True).double()
            batch = mace_case.build_batch(2)
        finally:
            torch.set_default_dtype(prev)
    fast = accelerate(copy.deepcopy(model))
    assert sum(isinstance(m, FusedSymmetricContraction) for m in fast.modules()) == 2
    assert accelerate(fast) is fast  # a second call is a no-op
    assert list(fast.state_dict()) == list(model.state_dict())
    (e0, f0), (e1, f1) = mace_case.evaluate(model, batch), mace_case.evaluate(fast, batch)
    torch.testing.assert_close(e1, e0, rtol=0, atol=1e-10)
    torch.testing.assert_close(f1, f0, rtol=0, atol=1e-10)
    grads = []
    for m in (model, fast):  # a training step's gradients (a double backward through the model)
        m.zero_grad()
        out = m(dict(batch), training=True, compute_force=True)
        (out["energy"].pow(2).mean() + out["forces"].pow(2).mean()).backward()
        grads.append([p.grad for p in m.parameters() if p.grad is not None])
    assert len(grads[0]) == len(grads[1])
    for a, b in zip(*grads):
        torch.testing.assert_close(b, a, rtol=0, atol=1e-10 * (1.0 + float(a.abs().max())))
