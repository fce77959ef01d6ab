"""o3.experimental: FullTensorProductv2 and ElementwiseTensorProductv2 against e3nn 0.6.0's (outputs, gradients,
irreps, state dicts both ways), equivariance, the cases where e3nn fails, and the error messages."""

from __future__ import annotations

import warnings

import pytest
import torch

from e3torch import o3
from e3torch.o3.experimental import ElementwiseTensorProductv2, FullTensorProductv2
from e3torch.util.test import assert_equivariant

e3nn_o3 = pytest.importorskip("e3nn.o3")
from e3nn.o3 import experimental as e3nn_experimental

DT = torch.float64

FULL_CASES = [  # (irreps_in1, irreps_in2, kwargs)
    ("2x0e + 1x1o", "1x1o", {}),
    ("1x1o + 2x0e + 1x2e", "3x0e + 1x1e", {}),  # unsorted: regrouped, and the tensors read in that layout
    ("1x0e + 1x1o + 1x0e", "2x1o", {"irrep_normalization": "norm"}),
    ("2x1o + 1x2e", "1x1o + 1x2o", {"filter_ir_out": ["0e", "1e", "2o"]}),
    ("2x1o + 1x2e", "1x1o + 1x2o", {"filter_ir_out": "0e + 1e"}),
    ("1x0e + 1x1o", "1x1o + 1x0e", {"regroup_output": False}),
]
ELEMENTWISE_CASES = [
    ("2x1o", "1x0e + 1x1o", {}),
    ("3x0e + 2x1e", "1x1o + 2x1e + 2x0o", {}),
    ("1x0e + 1x1e + 2x2e", "2x1o + 2x1o", {"irrep_normalization": "norm"}),
    ("2x1o + 2x2e", "2x2e + 2x1o", {"filter_ir_out": ["1e", "2e", "3o"]}),
]


def _pair(kind: str, a: str, b: str, kwargs: dict) -> tuple[torch.nn.Module, torch.nn.Module]:
    prev = torch.get_default_dtype()
    torch.set_default_dtype(DT)
    try:
        if kind == "full":
            theirs_kwargs = dict(kwargs)
            if isinstance(theirs_kwargs.get("filter_ir_out"), (list, str)):
                theirs_kwargs["filter_ir_out"] = e3nn_o3.Irreps(
                    theirs_kwargs["filter_ir_out"]
                    if isinstance(theirs_kwargs["filter_ir_out"], str)
                    else " + ".join(theirs_kwargs["filter_ir_out"])
                )
            theirs = e3nn_experimental.FullTensorProductv2(
                e3nn_o3.Irreps(a), e3nn_o3.Irreps(b), **theirs_kwargs
            )
            mine = FullTensorProductv2(a, b, **kwargs)
        else:
            theirs_kwargs = dict(kwargs)
            if isinstance(theirs_kwargs.get("filter_ir_out"), list):
                theirs_kwargs["filter_ir_out"] = e3nn_o3.Irreps(" + ".join(theirs_kwargs["filter_ir_out"]))
            theirs = e3nn_experimental.ElementwiseTensorProductv2(
                e3nn_o3.Irreps(a), e3nn_o3.Irreps(b), **theirs_kwargs
            )
            mine = ElementwiseTensorProductv2(a, b, **kwargs)
    finally:
        torch.set_default_dtype(prev)
    return theirs, mine


CASES = [("full",) + c for c in FULL_CASES] + [("elementwise",) + c for c in ELEMENTWISE_CASES]


@pytest.mark.parametrize("kind, a, b, kwargs", CASES, ids=lambda v: str(v).replace(" ", ""))
def test_matches_e3nn(kind: str, a: str, b: str, kwargs: dict) -> None:
    theirs, mine = _pair(kind, a, b, kwargs)
    assert str(mine.irreps_in1) == str(theirs.irreps_in1) and str(mine.irreps_in2) == str(theirs.irreps_in2)
    assert str(mine.irreps_out) == str(theirs.irreps_out)
    assert mine.inv == tuple(theirs.inv)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 5, mine.irreps_in1.dim, generator=g, dtype=DT, requires_grad=True)
    y = torch.randn(5, mine.irreps_in2.dim, generator=g, dtype=DT, requires_grad=True)  # broadcast
    out_theirs, out_mine = theirs(x, y), mine(x, y)
    torch.testing.assert_close(out_mine, out_theirs, rtol=0, atol=1e-12)
    probe = torch.randn(out_mine.shape, generator=g, dtype=DT)
    grads_theirs = torch.autograd.grad(out_theirs, (x, y), probe)
    grads_mine = torch.autograd.grad(out_mine, (x, y), probe)
    for got, want in zip(grads_mine, grads_theirs):
        torch.testing.assert_close(got, want, rtol=0, atol=1e-12)


@pytest.mark.parametrize("kind, a, b, kwargs", CASES[:3] + CASES[-2:], ids=lambda v: str(v).replace(" ", ""))
def test_state_dict_both_ways(kind: str, a: str, b: str, kwargs: dict) -> None:
    theirs, mine = _pair(kind, a, b, kwargs)
    assert list(mine.state_dict()) == list(theirs.state_dict())
    for key, value in theirs.state_dict().items():
        torch.testing.assert_close(mine.state_dict()[key], value, rtol=0, atol=1e-14)
    mine.load_state_dict(theirs.state_dict(), strict=True)
    theirs.load_state_dict(mine.state_dict(), strict=True)


def test_equivariance_and_float32() -> None:
    tp = FullTensorProductv2("2x0e + 1x1o + 1x2e", "1x1o + 1x2e")
    args = (torch.randn(3, tp.irreps_in1.dim), torch.randn(3, tp.irreps_in2.dim))
    assert_equivariant(tp, args_in=args, irreps_in=[tp.irreps_in1, tp.irreps_in2], irreps_out=tp.irreps_out)
    etp = ElementwiseTensorProductv2("2x1o", "1x1e + 1x2o")
    x, y = torch.randn(4, 6), torch.randn(4, 8)
    assert etp(x, y).dtype == torch.float32
    assert etp.double()(x, y.double()).dtype == DT  # mixed inputs promoted, as e3nn does


def test_repeated_pairs_compute_every_path() -> None:
    """e3nn 0.6 keeps one of two equal pairs in its path dictionary and then fails in forward; here both paths run."""
    tp = FullTensorProductv2("1x0e + 1x0e", "1x0e", regroup_output=False)
    assert str(tp.irreps_out) == "1x0e+1x0e"
    x = torch.tensor([[2.0, 3.0]])
    assert tp(x, torch.tensor([[5.0]])).tolist() == [[10.0, 15.0]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = e3nn_experimental.FullTensorProductv2(
            e3nn_o3.Irreps("1x0e + 1x0e"), e3nn_o3.Irreps("1x0e"), regroup_output=False
        )
    with pytest.raises(IndexError):
        theirs(x, torch.tensor([[5.0]]))


def test_errors() -> None:
    with pytest.raises(
        ValueError,
        match="FullTensorProductv2: expected irrep_normalization 'component' or 'norm', got 'none'",
    ):
        FullTensorProductv2("1x0e", "1x0e", irrep_normalization="none")
    with pytest.raises(
        ValueError, match=r"ElementwiseTensorProductv2: expected inputs with the same number of irreps"
    ):
        ElementwiseTensorProductv2("2x0e", "1x0e")
    with pytest.raises(ValueError, match="expected irrep_normalization 'component' or 'norm', got 'bad'"):
        ElementwiseTensorProductv2("1x0e", "1x0e", irrep_normalization="bad")
    tp = FullTensorProductv2("1x1o", "1x1o")
    with pytest.raises(ValueError, match="expected"):
        tp(torch.randn(3, 4), torch.randn(3, 3))


def test_exported_from_o3() -> None:
    assert o3.FullTensorProductv2 is FullTensorProductv2
