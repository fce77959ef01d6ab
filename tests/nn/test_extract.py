"""nn.Extract and nn.ExtractIr: parity with e3nn 0.6.0 outputs and attributes, views, errors."""

from __future__ import annotations

import e3nn.nn
import pytest
import torch

from e3torch import nn


@pytest.mark.parametrize(
    "irreps_in, outs, ins, squeeze",
    [
        ("1e + 0e + 0e", ["0e", "0e"], [(1,), (2,)], False),
        ("1e + 0e + 0e", ["0e"], [(1,)], True),
        ("1e + 0e + 0e", ["0e", "0e"], [(1,), (2,)], True),
        ("1e + 0e + 0e", ["0e + 1e", "0e"], [(1, 0), (2,)], False),
        ("1e + 0e + 0e + 2x1e", ["1e + 0e + 0e", "2x1e + 1e"], [(0, 1, 2), (3, 0)], False),
        ("1e + 0e + 0e", [""], [()], False),
    ],
)
def test_parity_with_e3nn(irreps_in: str, outs: list, ins: list, squeeze: bool) -> None:
    theirs = e3nn.nn.Extract(irreps_in, outs, ins, squeeze_out=squeeze)
    ours = nn.Extract(irreps_in, outs, ins, squeeze_out=squeeze)
    assert (ours.irreps_in, ours.irreps_outs, ours.instructions) == (
        theirs.irreps_in,
        theirs.irreps_outs,
        theirs.instructions,
    )
    assert list(ours.state_dict()) == list(theirs.state_dict()) == []
    x = torch.randn(3, 2, ours.irreps_in.dim)
    y_ours, y_theirs = ours(x), theirs(x)
    assert type(y_ours) is type(y_theirs)
    if isinstance(y_ours, torch.Tensor):
        y_ours, y_theirs = (y_ours,), (y_theirs,)
    assert len(y_ours) == len(y_theirs)
    for a, b in zip(y_ours, y_theirs):
        torch.testing.assert_close(a, b, atol=0, rtol=0)


@pytest.mark.parametrize(
    "irreps_in, ir", [("1e + 0e + 0e + 2x1e", "1e"), ("1e + 0e + 0e + 2x1e", "2e"), ("0e + 0e", "0e")]
)
def test_extract_ir_parity(irreps_in: str, ir: str) -> None:
    theirs, ours = e3nn.nn.ExtractIr(irreps_in, ir), nn.ExtractIr(irreps_in, ir)
    assert (ours.irreps_out, ours.irreps_outs, ours.instructions) == (
        theirs.irreps_out,
        theirs.irreps_outs,
        theirs.instructions,
    )
    x = torch.randn(4, ours.irreps_in.dim)
    torch.testing.assert_close(ours(x), theirs(x), atol=0, rtol=0)


def test_single_run_is_a_view_and_gradients_flow() -> None:
    ext = nn.Extract("2x0e + 1o + 2e", ["1o + 2e", "2x0e"], [(1, 2), (0,)])
    x = torch.randn(5, 10, requires_grad=True)
    a, b = ext(x)
    assert a._base is x or a.data_ptr() == x[:, 2:].data_ptr()
    (a.sum() + 2 * b.sum()).backward()
    torch.testing.assert_close(x.grad, torch.tensor([2.0, 2.0] + [1.0] * 8).expand(5, 10))


def test_errors() -> None:
    with pytest.raises(ValueError, match=r"expected one instruction per output \(2\), got 1"):
        nn.Extract("1e + 0e", ["0e", "1e"], [(1,)])
    with pytest.raises(
        ValueError, match=r"expected output 0 \(2x0e\) to have one term per index of \(1, 2\), got 1"
    ):
        nn.Extract("1e + 0e + 0e", ["2x0e"], [(1, 2)])
    with pytest.raises(ValueError, match=r"expected term 0 of 1x1e\+1x0e \(1x1e\) in output 0, got 1x0e"):
        nn.Extract("1e + 0e", ["0e"], [(0,)])
    with pytest.raises(ValueError, match=r"expected indices in \[0, 2\) for 1x1e\+1x0e, got 5"):
        nn.Extract("1e + 0e", ["0e"], [(5,)])
    with pytest.raises(TypeError, match="expected irreps_outs to be a list of irreps, got str"):
        nn.Extract("1e + 0e", "0e", [(1,)])
    ext = nn.ExtractIr("1e + 0e", "0e")
    with pytest.raises(
        ValueError, match=r"expected input with last dimension 4 \(irreps 1x1e\+1x0e\), got shape \(2, 5\)"
    ):
        ext(torch.randn(2, 5))
    with pytest.raises(TypeError, match="expected x to be a torch.Tensor, got list"):
        ext([0.0] * 4)
