"""TensorProduct against e3nn 0.6.0: numbers, gradients, weights, state_dict, plan, equivariance, executors."""

from __future__ import annotations

import itertools
import warnings

import pytest
import torch
from e3nn import o3 as e3nn_o3

from e3torch import o3
from e3torch.o3._tensor_product._plan import build_plan

# A product that uses all eight modes, shared outputs, path weights, unweighted paths and an unreached output.
MIXED = (
    "2x0e+3x1o+2x2e",
    "2x0e+3x1o+1x1e",
    "4x0e+3x1o+3x1e+2x2e+3x2e+1x0o",
    [
        (1, 1, 0, "uvw", True, 0.7),
        (0, 0, 0, "uuw", True),
        (1, 0, 1, "uvu", True),
        (0, 1, 1, "uvv", False, 2.0),
        (1, 1, 2, "uuu", True),
        (1, 1, 2, "u<vw", True, 0.5),
        (2, 2, 3, "uvuv", True),
        (1, 1, 4, "uvu<v", False),
    ],
)

# e3nn 0.6.0 has no ``right`` for the u<v modes.
MIXED_RIGHT = MIXED[:3] + ([ins for ins in MIXED[3] if "<" not in ins[3]],)

# One product per mode and weighting, over several blocks with l up to 2.
MODE_CASES = {
    ("uvw", True): ("2x0e+2x1o+1x2e", "1x0e+2x1o", "3x0e+2x1o+2x1e+1x2e"),
    ("uvu", True): ("2x0e+2x1o+1x2e", "3x0e+1x1o", None),
    ("uvu", False): ("2x0e+2x1o+1x2e", "3x0e+1x1o", None),
    ("uvv", True): ("2x0e+1x1o", "3x0e+2x1o+1x2e", None),
    ("uvv", False): ("2x0e+1x1o", "3x0e+2x1o+1x2e", None),
    ("uuw", True): ("2x0e+2x1o+2x2e", "2x0e+2x1o+2x2e", "2x0e+3x1o+2x1e+2x2e"),
    ("uuw", False): ("2x0e+2x1o+2x2e", "2x0e+2x1o+2x2e", "1x0e+1x1e+1x2e"),
    ("uuu", True): ("2x0e+2x1o+2x2e", "2x0e+2x1o+2x2e", None),
    ("uuu", False): ("2x0e+2x1o+2x2e", "2x0e+2x1o+2x2e", None),
    ("uvuv", True): ("2x0e+2x1o", "1x0e+1x1o+2x2e", None),
    ("uvuv", False): ("2x0e+2x1o", "1x0e+1x1o+2x2e", None),
    ("uvu<v", True): ("3x0e+3x1o+2x2e", "3x0e+3x1o+2x2e", None),
    ("uvu<v", False): ("3x0e+3x1o+2x2e", "3x0e+3x1o+2x2e", None),
    ("u<vw", True): ("3x0e+3x1o+2x2e", "3x0e+3x1o+2x2e", "2x0e+2x1o+2x1e+2x2e"),
}


def mode_case(mode: str, has_weight: bool) -> tuple[str, str, str, list[tuple]]:
    """Irreps and instructions of a product made of one mode only (every allowed path, varied path weights)."""
    a, b, c = MODE_CASES[(mode, has_weight)]
    in1, in2 = e3nn_o3.Irreps(a), e3nn_o3.Irreps(b)
    same = mode in ("uuw", "uuu", "uvu<v", "u<vw")
    outs, instructions = [], []
    for (i1, (m1, ir1)), (i2, (m2, ir2)) in itertools.product(enumerate(in1), enumerate(in2)):
        if same and i1 != i2:
            continue
        for ir in ir1 * ir2:
            if c is not None:
                for i_out, (_, ir_out) in enumerate(e3nn_o3.Irreps(c)):
                    if ir_out == ir:
                        instructions.append((i1, i2, i_out, mode, has_weight, 0.5 + 0.25 * len(instructions)))
            else:
                mul = {"uvu": m1, "uvv": m2, "uuu": m1, "uvuv": m1 * m2, "uvu<v": m1 * (m2 - 1) // 2}[mode]
                instructions.append((i1, i2, len(outs), mode, has_weight, 0.5 + 0.25 * len(instructions)))
                outs.append((mul, ir))
    return a, b, (c if c is not None else str(e3nn_o3.Irreps(outs))), instructions


@pytest.fixture
def float64():
    """Build e3nn's and our modules in float64 (e3nn computes its constants in the default dtype)."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def pair(*args, executor: str = "naive", **kwargs):
    """The same tensor product in e3nn and in e3torch, with the same internal weights."""
    theirs = e3nn_o3.TensorProduct(*args, **kwargs)
    ours = o3.TensorProduct(*args, executor=executor, **kwargs)
    if theirs.internal_weights and theirs.weight_numel:
        with torch.no_grad():
            ours.weight.copy_(theirs.weight)
    return theirs, ours


def inputs(tp, batch=(4,), weight_batch=None, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(*batch, tp.irreps_in1.dim, generator=g, requires_grad=True)
    y = torch.randn(*batch, tp.irreps_in2.dim, generator=g, requires_grad=True)
    if tp.internal_weights:
        return x, y, None
    shape = (tp.weight_numel,) if tp.shared_weights else (*(weight_batch or batch), tp.weight_numel)
    return x, y, torch.randn(*shape, generator=g, requires_grad=True)


def assert_same(theirs, ours, batch=(4,), seed=0):
    """Outputs and gradients wrt x, y and the weights agree to 1e-10."""
    x, y, w = inputs(theirs, batch, seed=seed)
    out_theirs, out_ours = theirs(x, y, w), ours(x, y, w)
    torch.testing.assert_close(out_ours, out_theirs, atol=1e-10, rtol=0)
    grad = torch.randn_like(out_theirs)
    wrt_theirs = [x, y, w if w is not None else theirs.weight]
    wrt_ours = [x, y, w if w is not None else ours.weight]
    if not wrt_theirs[2].requires_grad or wrt_theirs[2].numel() == 0:
        wrt_theirs, wrt_ours = wrt_theirs[:2], wrt_ours[:2]
    g_theirs = torch.autograd.grad(out_theirs, wrt_theirs, grad, allow_unused=True)
    g_ours = torch.autograd.grad(out_ours, wrt_ours, grad, allow_unused=True)
    for a, b in zip(g_ours, g_theirs):
        torch.testing.assert_close(
            a if a is not None else torch.zeros_like(b),
            b if b is not None else torch.zeros_like(a),
            atol=1e-10,
            rtol=0,
        )


def assert_same_structure(theirs, ours):
    assert repr(ours) == repr(theirs)
    assert ours.weight_numel == theirs.weight_numel
    assert (ours.shared_weights, ours.internal_weights) == (theirs.shared_weights, theirs.internal_weights)
    assert [tuple(i[:5]) + (i[6],) for i in ours.instructions] == [
        tuple(i[:5]) + (i[6],) for i in theirs.instructions
    ]
    for a, b in zip(ours.instructions, theirs.instructions):
        assert a.path_weight == pytest.approx(b.path_weight, rel=1e-13)
    torch.testing.assert_close(ours.output_mask, theirs.output_mask, atol=0, rtol=0)
    assert set(ours.state_dict()) == set(theirs.state_dict())


# ------------------------------------------------------------------------------------------------------ parity
@pytest.mark.parametrize("mode, has_weight", sorted(MODE_CASES))
@pytest.mark.parametrize("weights", ["internal", "shared", "unshared"])
def test_modes_match_e3nn(float64, mode, has_weight, weights):
    a, b, c, instructions = mode_case(mode, has_weight)
    kwargs = {"internal": {}, "shared": {"internal_weights": False}, "unshared": {"shared_weights": False}}[
        weights
    ]
    theirs, ours = pair(a, b, c, instructions, **kwargs)
    assert_same_structure(theirs, ours)
    assert_same(theirs, ours)


@pytest.mark.parametrize("irrep_normalization", ["component", "norm", "none"])
@pytest.mark.parametrize("path_normalization", ["element", "path", "none"])
def test_normalizations_match_e3nn(float64, irrep_normalization, path_normalization):
    kw = {"irrep_normalization": irrep_normalization, "path_normalization": path_normalization}
    theirs, ours = pair(*MIXED, **kw)
    assert_same_structure(theirs, ours)
    assert_same(theirs, ours)
    variances = {
        "in1_var": [0.5, 2.0, 1.5],
        "in2_var": torch.tensor([3.0, 0.25, 1.0]),
        "out_var": [1, 2, 3, 4, 5, 6],
    }
    theirs, ours = pair(*MIXED, shared_weights=False, **variances, **kw)
    assert_same_structure(theirs, ours)
    assert_same(theirs, ours)


def test_defaults_and_deprecated_normalization(float64):
    theirs, ours = pair(*MIXED)
    assert_same_structure(theirs, ours)
    with pytest.warns(DeprecationWarning, match="`normalization` is deprecated"):
        ours = o3.TensorProduct(*MIXED, normalization="norm", executor="naive")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = e3nn_o3.TensorProduct(*MIXED, normalization="norm")
    assert [i.path_weight for i in ours.instructions] == pytest.approx(
        [i.path_weight for i in theirs.instructions]
    )
    o3.TensorProduct(*MIXED, _specialized_code=False, _optimize_einsums=False, compile_left_right=False)


@pytest.mark.parametrize(
    "x_batch, y_batch, w_batch", [((2, 1), (3,), (2, 3)), ((), (), ()), ((5,), (1,), (1,))]
)
def test_broadcasting_matches_e3nn(float64, x_batch, y_batch, w_batch):
    theirs, ours = pair(*MIXED, shared_weights=False)
    x = torch.randn(*x_batch, theirs.irreps_in1.dim)
    y = torch.randn(*y_batch, theirs.irreps_in2.dim)
    w = torch.randn(*w_batch, theirs.weight_numel)
    if not w_batch:
        w = w[None]
    out = ours(x, y, w)
    torch.testing.assert_close(out, theirs(x, y, w), atol=1e-10, rtol=0)
    theirs_shared, ours_shared = pair(*MIXED)
    torch.testing.assert_close(ours_shared(x, y), theirs_shared(x, y), atol=1e-10, rtol=0)


def test_weight_override_and_list_of_weights(float64):
    """Like e3nn, an explicit weight is used even when the module has internal weights; lists are concatenated."""
    theirs, ours = pair(*MIXED)
    x, y, _ = inputs(theirs)
    w = torch.randn(ours.weight_numel)
    torch.testing.assert_close(ours(x, y, w), theirs(x, y, w), atol=1e-10, rtol=0)
    views = list(ours.weight_views(w))
    torch.testing.assert_close(ours(x, y, views), theirs(x, y, w), atol=1e-10, rtol=0)
    unshared = o3.TensorProduct(*MIXED, shared_weights=False, executor="naive")
    wb = torch.randn(4, ours.weight_numel)
    torch.testing.assert_close(unshared(x, y, list(unshared.weight_views(wb))), unshared(x, y, wb))


def test_internal_weights_are_initialized_like_e3nn():
    torch.manual_seed(1)
    theirs = e3nn_o3.FullyConnectedTensorProduct("2x0e+1x1o", "1x0e+1x1o", "2x0e+1x1o")
    torch.manual_seed(1)
    ours = o3.FullyConnectedTensorProduct("2x0e+1x1o", "1x0e+1x1o", "2x0e+1x1o")
    assert isinstance(ours.weight, torch.nn.Parameter)
    torch.testing.assert_close(ours.weight, theirs.weight, atol=0, rtol=0)


# ------------------------------------------------------------------------------------------------- right, views
@pytest.mark.parametrize("shared", [True, False])
def test_right_matches_forward_and_e3nn(float64, shared):
    kwargs = {} if shared else {"shared_weights": False}
    theirs, ours = pair(*MIXED_RIGHT, compile_right=True, **kwargs)
    x, y, w = inputs(theirs, batch=(2, 3))
    r = ours.right(y, w)
    assert r.shape == (2, 3, ours.irreps_in1.dim, ours.irreps_out.dim)
    torch.testing.assert_close(r, theirs.right(y, w), atol=1e-10, rtol=0)
    torch.testing.assert_close(torch.einsum("...ik,...i->...k", r, x), ours(x, y, w), atol=1e-10, rtol=0)
    assert ours.right(y[0, 0], None if shared else w[0, 0][None]).shape[-2:] == r.shape[-2:]


def test_weight_views_match_e3nn(float64):
    theirs, ours = pair(*MIXED, shared_weights=False)
    w = torch.randn(3, 2, ours.weight_numel)
    a = list(ours.weight_views(w, yield_instruction=True))
    b = list(theirs.weight_views(w, yield_instruction=True))
    assert [(i, tuple(ins)[:5]) for i, ins, _ in a] == [(i, tuple(ins)[:5]) for i, ins, _ in b]
    for (_, _, va), (_, _, vb) in zip(a, b):
        assert va.shape == vb.shape
        torch.testing.assert_close(va, vb, atol=0, rtol=0)
    # e3nn 0.6.0 miscounts the offset after an unweighted instruction; ours follows weight_views
    for i, ins, view in a:
        torch.testing.assert_close(ours.weight_view_for_instruction(i, w), view, atol=0, rtol=0)
    internal = o3.TensorProduct(*MIXED, executor="naive")
    view = internal.weight_view_for_instruction(0)
    assert view.shape == (3, 3, 4) and view.data_ptr() == internal.weight.data_ptr()


# ------------------------------------------------------------------------------------------------ state_dict
@pytest.mark.parametrize(
    "kwargs", [{}, {"internal_weights": False}, {"shared_weights": False}, {"compile_right": True}]
)
def test_state_dict_round_trip_with_e3nn(float64, kwargs):
    case = MIXED_RIGHT if kwargs.get("compile_right") else MIXED
    theirs = e3nn_o3.TensorProduct(*case, **kwargs)
    ours = o3.TensorProduct(*case, executor="naive", **kwargs)
    assert set(ours.state_dict()) == set(theirs.state_dict())
    ours.load_state_dict(theirs.state_dict(), strict=True)
    assert_same(theirs, ours)
    ours2 = o3.TensorProduct(*case, executor="naive", **kwargs)
    theirs.load_state_dict(ours2.state_dict(), strict=True)
    assert_same(theirs, ours2)
    for key, value in theirs.state_dict().items():
        torch.testing.assert_close(ours2.state_dict()[key], value, atol=1e-15, rtol=0)


def test_state_dict_inside_a_parent_module(float64):
    theirs = torch.nn.Sequential(e3nn_o3.FullyConnectedTensorProduct("2x1o", "2x1o", "1x0e+1x1e"))
    ours = torch.nn.Sequential(o3.FullyConnectedTensorProduct("2x1o", "2x1o", "1x0e+1x1e"))
    assert set(ours.state_dict()) == set(theirs.state_dict())
    ours.load_state_dict(theirs.state_dict(), strict=True)
    theirs.load_state_dict(ours.state_dict(), strict=True)
    torch.testing.assert_close(ours[0].weight, theirs[0].weight, atol=0, rtol=0)
    bad = dict(theirs.state_dict())
    bad["0.extra"] = torch.zeros(1)
    with pytest.raises(RuntimeError, match="Unexpected key"):
        ours.load_state_dict(bad, strict=True)


def test_to_dtype_moves_constants():
    tp = o3.TensorProduct(*MIXED, executor="naive").double()
    x, y, _ = inputs(tp)
    assert tp(x.double(), y.double()).dtype == torch.float64
    assert all(b.dtype == torch.float64 for k, b in tp.state_dict().items() if b.is_floating_point())


# ------------------------------------------------------------------------------------------------------ plan
def test_plan_contract(float64):
    tp = o3.TensorProduct(*MIXED, executor="naive")
    plan = tp.plan
    assert plan == build_plan(
        o3.Irreps(MIXED[0]), o3.Irreps(MIXED[1]), o3.Irreps(MIXED[2]), MIXED[3]
    ) and hash(plan) == hash(tp.plan)
    assert (plan.dim_in1, plan.dim_in2, plan.dim_out, plan.weight_numel) == (21, 14, 48, tp.weight_numel)
    assert [b.offset for b in plan.out] == [0, 4, 13, 22, 32, 47]
    offset = 0
    for path, ins in zip(plan.paths, tp.instructions):
        assert path.coefficient == ins.path_weight
        assert path.weight_offset == (offset if path.has_weight else 0)
        offset += path.weight_numel
        b1, b2, bo = plan.in1[path.i_in1], plan.in2[path.i_in2], plan.out[path.i_out]
        torch.testing.assert_close(plan.dense_cg(path), o3.wigner_3j(b1.l, b2.l, bo.l, dtype=torch.float64))
        assert list(path.cg) == sorted(path.cg) and all(v != 0 for *_, v in path.cg)
    text = str(plan)
    assert (
        text.splitlines()[0] == repr(plan)
        and "u<vw" in text
        and len(text.splitlines()) == 2 + len(plan.paths)
    )


def test_executors_agree(float64):
    """The fast executor (whatever its backend) against the naive oracle, forward and double backward."""
    for kwargs in ({}, {"shared_weights": False}):
        naive = o3.TensorProduct(*MIXED, executor="naive", **kwargs)
        fast = o3.TensorProduct(*MIXED, executor="fast", **kwargs)
        fast.load_state_dict(naive.state_dict())
        x, y, w = inputs(naive, batch=(7,))
        out_n, out_f = naive(x, y, w), fast(x, y, w)
        torch.testing.assert_close(out_f, out_n, atol=1e-10, rtol=0)
        wrt = [x, y] + ([w] if w is not None else [naive.weight])
        wrt_f = [x, y] + ([w] if w is not None else [fast.weight])
        g_n = torch.autograd.grad(out_n.pow(2).sum(), wrt, create_graph=True)
        g_f = torch.autograd.grad(out_f.pow(2).sum(), wrt_f, create_graph=True)
        for a, b in zip(g_f, g_n):
            torch.testing.assert_close(a, b, atol=1e-10, rtol=0)
        gg_n = torch.autograd.grad(sum(g.pow(2).sum() for g in g_n), [x, y])
        gg_f = torch.autograd.grad(sum(g.pow(2).sum() for g in g_f), [x, y])
        for a, b in zip(gg_f, gg_n):
            torch.testing.assert_close(a, b, atol=1e-9, rtol=0)


@pytest.mark.parametrize("mode, has_weight", sorted(MODE_CASES))
@pytest.mark.parametrize("shared", [True, False])
def test_fast_matches_naive_per_mode(float64, mode, has_weight, shared):
    a, b, c, instructions = mode_case(mode, has_weight)
    naive = o3.TensorProduct(a, b, c, instructions, shared_weights=shared, executor="naive")
    fast = o3.TensorProduct(a, b, c, instructions, shared_weights=shared, executor="fast")
    fast.load_state_dict(naive.state_dict())
    x, y, w = inputs(naive, batch=(6,))
    out_n, out_f = naive(x, y, w), fast(x, y, w)
    torch.testing.assert_close(out_f, out_n, atol=1e-10, rtol=0)
    wrt_n = [x, y] + ([] if not has_weight else [w] if w is not None else [naive.weight])
    wrt_f = [x, y] + ([] if not has_weight else [w] if w is not None else [fast.weight])
    grad = torch.randn_like(out_n)
    for g_f, g_n in zip(torch.autograd.grad(out_f, wrt_f, grad), torch.autograd.grad(out_n, wrt_n, grad)):
        torch.testing.assert_close(g_f, g_n, atol=1e-10, rtol=0)


def test_deepcopy_and_pickle_naive():
    import copy
    import pickle

    tp = o3.FullyConnectedTensorProduct("2x0e+1x1o", "1x0e+1x1o", "2x0e+1x1o", executor="naive")
    x, y, _ = inputs(tp)
    for clone in (copy.deepcopy(tp), pickle.loads(pickle.dumps(tp))):
        torch.testing.assert_close(clone(x, y), tp(x, y), atol=0, rtol=0)


def test_deepcopy_and_pickle_fast():
    import copy
    import pickle

    tp = o3.FullyConnectedTensorProduct("2x0e+1x1o", "1x0e+1x1o", "2x0e+1x1o")
    x, y, _ = inputs(tp)
    for clone in (copy.deepcopy(tp), pickle.loads(pickle.dumps(tp))):
        torch.testing.assert_close(clone(x, y), tp(x, y), atol=0, rtol=0)


def test_fast_executor_float32():
    naive = o3.TensorProduct(*MIXED, executor="naive")
    fast = o3.TensorProduct(*MIXED)
    fast.load_state_dict(naive.state_dict())
    x, y, _ = inputs(naive, batch=(9,))
    torch.testing.assert_close(fast(x, y), naive(x, y), atol=1e-4, rtol=1e-4)


# ------------------------------------------------------------------------------------------------ properties
def _rotate(irreps: o3.Irreps, x: torch.Tensor, R: torch.Tensor) -> torch.Tensor:
    return x @ irreps.D_from_matrix(R).T


def test_equivariance(float64):
    tp = o3.TensorProduct(*MIXED, executor="naive")
    x, y, _ = inputs(tp)
    for R in (o3.rand_matrix(), -o3.rand_matrix()):  # a rotation, and one with inversion (parity)
        a = tp(_rotate(tp.irreps_in1, x, R), _rotate(tp.irreps_in2, y, R))
        b = _rotate(tp.irreps_out, tp(x, y), R)
        torch.testing.assert_close(a, b, atol=1e-10, rtol=0)
    from e3torch.util.test import assert_equivariant

    assert_equivariant(tp, irreps_in=[tp.irreps_in1, tp.irreps_in2], irreps_out=tp.irreps_out)
    square = o3.TensorSquare("2x0e+2x1o+1x2e", "2x0e+1x1e+2x2e", executor="naive")
    assert_equivariant(square, irreps_in=[square.irreps_in1], irreps_out=square.irreps_out)


def test_gradcheck_and_gradgradcheck(float64):
    tp = o3.TensorProduct("2x0e+2x1o+1x2e", "2x0e+2x1o+1x1e", "2x0e+2x1o+2x1e+1x2e+1x2e", [
        (1, 1, 0, "uvw", True), (0, 0, 0, "uuw", True), (1, 0, 1, "uvu", True), (0, 1, 1, "uvv", False),
        (1, 1, 2, "uuu", True), (1, 1, 2, "u<vw", True), (2, 2, 3, "uvuv", True), (1, 1, 4, "uvu<v", False),
    ], shared_weights=False, executor="naive")  # fmt: skip
    x, y, w = inputs(tp, batch=(2,))
    assert torch.autograd.gradcheck(tp, (x, y, w))
    assert torch.autograd.gradgradcheck(tp, (x, y, w))


def test_empty_batch_and_empty_irreps(float64):
    theirs, ours = pair(*MIXED, shared_weights=False)
    x, y, w = inputs(theirs, batch=(0,))
    out = ours(x, y, w)
    assert out.shape == theirs(x, y, w).shape == (0, ours.irreps_out.dim)
    out.sum().backward()
    assert x.grad.shape == x.shape
    assert ours.right(y, w).shape == (0, ours.irreps_in1.dim, ours.irreps_out.dim)
    empty = o3.TensorProduct("", "2x1o", "", [], executor="naive")
    assert repr(empty) == repr(e3nn_o3.TensorProduct("", "2x1o", "", []))
    assert empty(torch.randn(3, 0), torch.randn(3, 6)).shape == (3, 0)
    zero_mul = o3.TensorProduct("0x1o+1x0e", "2x1o", "2x1e+0x1o+1x0e", [(0, 0, 0, "uvw", True), (1, 0, 1, "uvw", True)],
                                executor="naive")  # fmt: skip
    e = e3nn_o3.TensorProduct(
        "0x1o+1x0e", "2x1o", "2x1e+0x1o+1x0e", [(0, 0, 0, "uvw", True), (1, 0, 1, "uvw", True)]
    )
    assert_same_structure(e, zero_mul)
    out = zero_mul(torch.randn(4, 1), torch.randn(4, 6))
    assert out.shape == (4, 7) and torch.count_nonzero(out) == 0


def test_no_weights_needed(float64):
    theirs, ours = pair("2x1o", "2x1o", "2x0e", [(0, 0, 0, "uvu", False)], shared_weights=False)
    assert not ours.internal_weights and ours.weight_numel == 0
    x, y, _ = inputs(theirs)
    torch.testing.assert_close(ours(x, y), theirs(x, y), atol=1e-10, rtol=0)
    assert ours.right(y[0]).shape == (6, 2)


def test_visualize():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    fig, ax = o3.TensorProduct(*MIXED).visualize()
    assert len(ax.lines) == 2 * len(MIXED[3])
    import matplotlib.pyplot as plt

    plt.close(fig)


@pytest.mark.slow
def test_state_dict_keys_match_e3nn_sweep():
    """e3nn keeps constants of its generated code in the state_dict; ours reproduces the names for every mode/l."""
    muls = {"uvw": (2, 3, 2), "uvu": (2, 3, 2), "uvv": (2, 3, 3), "uuu": (3, 3, 3), "uvuv": (2, 3, 6)}
    muls.update({"uvu<v": (3, 3, 3), "u<vw": (3, 3, 2), "uuw": (3, 3, 2)})
    checked = 0
    for mode, has_weight in sorted(MODE_CASES) + [("uuw", False)]:
        for a, b in itertools.product(["0e", "1o", "2e"], repeat=2):
            for ir_out in e3nn_o3.Irrep(a) * e3nn_o3.Irrep(b):
                m1, m2, mo = muls[mode]
                mo = 1 if mode == "uuw" and not has_weight else mo
                args = (f"{m1}x{a}", f"{m2}x{b}", f"{mo}x{ir_out}", [(0, 0, 0, mode, has_weight)])
                right = "<" not in mode
                theirs = e3nn_o3.TensorProduct(*args, compile_right=right)
                ours = o3.TensorProduct(*args, compile_right=right, executor="naive")
                assert set(ours.state_dict()) == set(theirs.state_dict()), (mode, has_weight, a, b, ir_out)
                checked += 1
    assert checked > 150
