"""o3.Linear: parity with e3nn 0.6.0 (instructions, state_dict, repr, outputs, gradients), fast vs naive,
equivariance, per-sample weights, errors, torch.compile."""

from __future__ import annotations

import e3nn.o3
import pytest
import torch

from e3torch import o3
from e3torch.o3._linear import Instruction, linear_naive

DT = torch.float64

CASES = [
    ("0e + 1o", "2x0e + 2x1o", {}),
    ("2x0e + 3x1o + 0e", "2x0e + 2x1o + 1e", {"biases": True}),
    ("2x0e + 1o + 3x0e", "3x0e + 1o + 0e", {"f_in": 3, "f_out": 2, "biases": True}),
    ("2x0e + 1o + 3x0e", "3x0e + 1o", {"path_normalization": "path"}),
    ("0x0e + 1o", "3x0e + 1o", {}),
    ("2x0e + 1o", "0x0e + 1o + 3x0e", {}),
    ("4x0e + 3x0e", "4x0e + 3x0e", {"instructions": [(0, 0), (1, 1)]}),
    ("2x0e + 1o", "3x0e + 1o + 0e + 2e", {"instructions": [(0, 2)]}),
    ("5x0e + 4x1o + 3x2e + 2x1e", "3x0e + 5x1o + 2x2e + 3x2o", {"biases": [True, False, False, False]}),
    ("0e + 1o", "2x0e + 2x1o", {"instructions": []}),
]
UNSHARED = [
    ("2x0e + 1o + 2e", "3x0e + 1o + 2x2e", {}),
    ("2x0e + 1o", "3x0e + 1o", {"f_in": 2, "f_out": 3}),
]


def _pair(irreps_in: str, irreps_out: str, kw: dict) -> tuple[e3nn.o3.Linear, o3.Linear]:
    theirs = e3nn.o3.Linear(irreps_in, irreps_out, **kw).to(DT)
    ours = o3.Linear(irreps_in, irreps_out, **kw).to(DT)
    sd = theirs.state_dict()
    if theirs.bias_numel and theirs.internal_weights:
        with torch.no_grad():
            sd["bias"].normal_()
    ours.load_state_dict(sd, strict=True)
    return theirs, ours


def _input(lin: o3.Linear, *batch: int) -> torch.Tensor:
    f = () if lin.f_in is None else (lin.f_in,)
    return torch.randn(*batch, *f, lin.irreps_in.dim, dtype=DT)


@pytest.mark.parametrize("irreps_in, irreps_out, kw", CASES)
def test_parity_with_e3nn(irreps_in: str, irreps_out: str, kw: dict) -> None:
    theirs, ours = _pair(irreps_in, irreps_out, kw)
    assert repr(ours) == repr(theirs)
    assert ours.instructions == theirs.instructions
    assert [tuple(s) for s in ours.weight_index_slices] == [tuple(s) for s in theirs.weight_index_slices]
    assert (ours.weight_numel, ours.bias_numel) == (theirs.weight_numel, theirs.bias_numel)
    assert {k: v.shape for k, v in ours.state_dict().items()} == {
        k: v.shape for k, v in theirs.state_dict().items()
    }
    assert set(dict(ours.named_parameters())) == set(dict(theirs.named_parameters()))
    torch.testing.assert_close(ours.output_mask, theirs.output_mask, atol=0, rtol=0)
    theirs.load_state_dict(ours.state_dict(), strict=True)

    x = _input(ours, 6).requires_grad_()
    y_ours, y_theirs = ours(x), theirs(x)
    torch.testing.assert_close(y_ours, y_theirs, atol=1e-10, rtol=0)
    if not y_ours.requires_grad:  # no instruction and no bias: the output is constant zero
        assert ours.weight_numel == ours.bias_numel == 0 and not y_ours.any()
        return
    g = torch.randn_like(y_ours)
    grads_ours = torch.autograd.grad(y_ours, [x] + list(ours.parameters()), g)
    grads_theirs = torch.autograd.grad(y_theirs, [x] + list(theirs.parameters()), g)
    for a, b in zip(grads_ours, grads_theirs):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=0)


@pytest.mark.parametrize("irreps_in, irreps_out, kw", UNSHARED)
def test_per_sample_weights_parity(irreps_in: str, irreps_out: str, kw: dict) -> None:
    theirs, ours = _pair(irreps_in, irreps_out, {**kw, "shared_weights": False})
    assert not ours.internal_weights and not ours.shared_weights
    assert {k: v.shape for k, v in ours.state_dict().items()} == {
        k: v.shape for k, v in theirs.state_dict().items()
    }
    f = () if ours.f_in is None else (ours.f_in, ours.f_out)
    x, w = _input(ours, 2, 5), torch.randn(2, 5, *f, ours.weight_numel, dtype=DT)
    torch.testing.assert_close(ours(x, w), theirs(x, w), atol=1e-10, rtol=0)
    torch.testing.assert_close(ours(x, w), linear_naive(ours.plan, x, w), atol=1e-10, rtol=0)


def test_per_sample_biases_and_broadcasting() -> None:
    lin = o3.Linear("2x0e + 1o", "3x0e + 1o", shared_weights=False, biases=True).to(DT)
    x = torch.randn(4, 1, 5, dtype=DT)
    w, b = torch.randn(3, lin.weight_numel, dtype=DT), torch.randn(4, 3, lin.bias_numel, dtype=DT)
    y = lin(x, w, b)
    assert y.shape == (4, 3, 6)
    torch.testing.assert_close(y, linear_naive(lin.plan, x, w, b), atol=1e-12, rtol=0)
    # a shared bias with per-sample weights, and one shared weight vector
    torch.testing.assert_close(lin(x, w, b[0, 0]), linear_naive(lin.plan, x, w, b[0, 0]), atol=1e-12, rtol=0)
    torch.testing.assert_close(
        lin(x, w[0], b[0, 0]), linear_naive(lin.plan, x, w[0], b[0, 0]), atol=1e-12, rtol=0
    )


@pytest.mark.parametrize("irreps_in, irreps_out, kw", CASES)
@pytest.mark.parametrize("use_kernel", [True, False])
def test_fast_matches_naive(irreps_in: str, irreps_out: str, kw: dict, use_kernel: bool) -> None:
    lin = o3.Linear(irreps_in, irreps_out, **kw).to(DT)
    lin._use_kernel = lin._use_kernel and use_kernel  # False: the pure-torch path
    with torch.no_grad():
        lin.bias.normal_()
    x = _input(lin, 3, 4)
    expected = linear_naive(lin.plan, x, lin.weight, lin.bias)
    torch.testing.assert_close(lin(x), expected, atol=1e-12, rtol=0)  # autograd path: concatenation
    with torch.no_grad():  # no autograd: blocks written in place
        torch.testing.assert_close(lin(x), expected, atol=1e-12, rtol=0)


def test_init_matches_e3nn_rng_stream() -> None:
    torch.manual_seed(7)
    theirs = e3nn.o3.Linear("2x0e + 3x1o", "2x0e + 2x1o + 0e", biases=True, f_in=2, f_out=3)
    torch.manual_seed(7)
    ours = o3.Linear("2x0e + 3x1o", "2x0e + 2x1o + 0e", biases=True, f_in=2, f_out=3)
    torch.testing.assert_close(ours.weight, theirs.weight, atol=0, rtol=0)
    torch.testing.assert_close(ours.bias, theirs.bias, atol=0, rtol=0)


def test_normalization_unit_variance() -> None:
    lin = o3.Linear("20x0e + 30x0e + 10x1o", "10x0e + 5x1o")
    x = torch.randn(20000, lin.irreps_in.dim)
    y = lin(x)
    assert abs(y.pow(2).mean().item() - 1) < 0.5  # one weight draw: loose, but catches a wrong fan-in


def test_equivariance() -> None:
    lin = o3.Linear("3x0e + 2x1o + 2e + 1e", "2x0e + 3x1o + 2x2e", biases=True).to(DT)
    with torch.no_grad():
        lin.bias.normal_()
    R = o3.rand_matrix(dtype=DT)
    x = _input(lin, 5)
    d_in, d_out = lin.irreps_in.D_from_matrix(R), lin.irreps_out.D_from_matrix(R)
    torch.testing.assert_close(lin(x @ d_in.T), lin(x) @ d_out.T, atol=1e-10, rtol=0)
    # parity: inversion acts as +-1 per irrep
    d_in, d_out = lin.irreps_in.D_from_matrix(-R), lin.irreps_out.D_from_matrix(-R)
    torch.testing.assert_close(lin(x @ d_in.T), lin(x) @ d_out.T, atol=1e-10, rtol=0)


def test_gradcheck() -> None:
    lin = o3.Linear("2x0e + 1o", "0e + 2x1o", biases=True).to(DT)
    x = _input(lin, 3).requires_grad_()
    torch.autograd.gradcheck(lambda x, w, b: lin(x, w, b), (x, lin.weight, lin.bias))
    torch.autograd.gradgradcheck(lambda x, w, b: lin(x, w, b), (x, lin.weight, lin.bias))


def test_weight_views() -> None:
    ours = o3.Linear("2x0e + 1o", "3x0e + 1o", f_in=4, f_out=5)
    theirs = e3nn.o3.Linear("2x0e + 1o", "3x0e + 1o", f_in=4, f_out=5)
    ours.load_state_dict(theirs.state_dict())
    for a, b in zip(ours.weight_views(yield_instruction=True), theirs.weight_views(yield_instruction=True)):
        assert a[0] == b[0] and a[1] == b[1] and torch.equal(a[2], b[2])
    w = torch.randn(7, 4, 5, ours.weight_numel)
    assert ours.weight_view_for_instruction(1, w).shape == (7, 4, 5, 1, 1)
    # bias instructions are not weight views
    assert len(list(o3.Linear("0e", "2x0e", biases=True).weight_views())) == 1
    assert o3.Linear("0e", "2x0e", biases=True).instructions[-1] == Instruction(-1, 0, (2,), 1.0)


def test_zero_batch_and_empty() -> None:
    lin = o3.Linear("2x0e + 1o", "3x0e + 1o")
    assert lin(torch.randn(0, 5)).shape == (0, 6)
    assert lin(torch.randn(5)).shape == (6,)
    assert o3.Linear("", "2x0e")(torch.randn(3, 0)).shape == (3, 2)
    assert o3.Linear("2x0e", "")(torch.randn(3, 2)).shape == (3, 0)


def test_seed_example() -> None:
    lin = o3.Linear("0e + 1o", "2x0e + 2x1o")
    assert lin(torch.randn(10, 4)).shape == (10, 8)
    assert repr(lin) == "Linear(1x0e+1x1o -> 2x0e+2x1o | 4 weights)"


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (
            {"path_normalization": "foo"},
            ValueError,
            "expected path_normalization 'element' or 'path', got 'foo'",
        ),
        ({"f_in": 2}, ValueError, "expected f_in and f_out both None or both given, got f_in=2, f_out=None"),
        ({"f_in": 0, "f_out": 1}, ValueError, "expected f_in to be None or a positive int, got 0"),
        (
            {"f_in": 1.5, "f_out": 1},
            TypeError,
            r"expected f_in to be None or a positive int, got 1.5 \(type float\)",
        ),
        ({"internal_weights": True, "shared_weights": False}, ValueError, "expected shared_weights=True"),
        (
            {"instructions": [(0, 1)]},
            ValueError,
            r"instruction \(0, 1\) connects 1x0e to 1x1o: expected equal",
        ),
        (
            {"instructions": [(2, 0)]},
            ValueError,
            r"expected i_in in \[0, 2\) for irreps_in 1x0e\+1x1o, got 2",
        ),
        (
            {"instructions": [(0, -1)]},
            ValueError,
            r"expected i_out in \[0, 2\) for irreps_out 2x0e\+1x1o, got -1",
        ),
        (
            {"instructions": [(0,)]},
            TypeError,
            r"expected each instruction to be a pair of ints \(i_in, i_out\)",
        ),
        (
            {"biases": [True]},
            ValueError,
            r"expected one bias flag per term of irreps_out 2x0e\+1x1o \(2\), got 1",
        ),
        ({"biases": [False, True]}, ValueError, "expected biases only on 0e outputs, got a bias on 1x1o"),
        ({"biases": [1, 0]}, TypeError, r"expected biases to be bools, got 1 \(type int\)"),
    ],
)
def test_constructor_errors(kwargs: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        o3.Linear("0e + 1o", "2x0e + 1o", **kwargs)


def test_forward_errors() -> None:
    lin = o3.Linear("0e + 1o", "2x0e + 1o", biases=True)
    with pytest.raises(
        ValueError,
        match=r"expected input with trailing shape \(4,\) \(irreps 1x0e\+1x1o\), got shape \(3, 5\)",
    ):
        lin(torch.randn(3, 5))
    with pytest.raises(TypeError, match="expected features to be a torch.Tensor, got list"):
        lin([1.0, 2.0, 3.0, 4.0])
    with pytest.raises(ValueError, match=r"expected weight with trailing shape \(3,\), got shape \(4,\)"):
        lin(torch.randn(3, 4), torch.randn(4))
    with pytest.raises(TypeError, match="expected weight to be a torch.Tensor, got float"):
        lin(torch.randn(3, 4), 1.0)
    with pytest.raises(ValueError, match=r"expected shared weights of shape \(3,\) \(shared_weights=True\)"):
        lin(torch.randn(3, 4), torch.randn(3, 3))
    with pytest.raises(ValueError, match=r"expected bias with trailing shape \(2,\), got shape \(3,\)"):
        lin(torch.randn(3, 4), bias=torch.randn(3))
    f = o3.Linear("0e", "0e", f_in=2, f_out=3)
    with pytest.raises(
        ValueError, match=r"expected input with trailing shape \(2, 1\) \(irreps 1x0e, f_in=2\)"
    ):
        f(torch.randn(4, 3, 1))
    ext = o3.Linear("0e + 1o", "2x0e + 1o", shared_weights=False, biases=True)
    with pytest.raises(
        ValueError, match="expected a weight argument: this Linear has internal_weights=False"
    ):
        ext(torch.randn(3, 4))
    with pytest.raises(ValueError, match="expected a bias argument: this Linear has internal_weights=False"):
        ext(torch.randn(3, 4), torch.randn(3, 3))
    with pytest.raises(ValueError, match=r"expected a weight instruction index in \[0, 2\), got 2"):
        lin.weight_view_for_instruction(2)


def test_compile_fullgraph() -> None:
    lin = o3.Linear("4x0e + 2x1o + 2e", "3x0e + 2x1o + 2e", biases=True)
    x = torch.randn(7, lin.irreps_in.dim)
    compiled = torch.compile(lin, fullgraph=True, dynamic=False)
    torch.testing.assert_close(compiled(x), lin(x), atol=1e-5, rtol=1e-5)


def test_chunked_no_grad_path(monkeypatch: pytest.MonkeyPatch) -> None:
    # blocks 256 wide, one thread: without autograd the rows are processed by chunks of 512 (4 for 2000 rows)
    monkeypatch.setattr(torch, "get_num_threads", lambda: 1)
    theirs, ours = _pair("64x0e + 64x1o + 32x2e", "32x0e + 64x1o + 64x2e", {"biases": True})
    ours._use_kernel = False  # the pure-torch path (the compiled one has no such chunks)
    x = _input(ours, 2000)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x), atol=1e-10, rtol=0)
