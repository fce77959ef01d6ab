"""o3.Norm: parity with e3nn 0.6.0 (values, gradients incl. at zero, state_dict, repr), equivariance,
errors."""

from __future__ import annotations

import e3nn.o3
import pytest
import torch

from e3torch import o3
from e3torch.util.test import assert_equivariant

DT = torch.float64


@pytest.mark.parametrize(
    "irreps", ["2x0e + 3x1o + 2e", "2x0e + 0x1o + 2e", "0e + 0e + 1o", "1o + 0e + 1o", ""]
)
@pytest.mark.parametrize("squared", [False, True])
def test_parity_with_e3nn(irreps: str, squared: bool) -> None:
    theirs, ours = e3nn.o3.Norm(irreps, squared=squared).to(DT), o3.Norm(irreps, squared=squared).to(DT)
    assert repr(ours) == repr(theirs) and repr(ours.tp) == repr(theirs.tp)
    assert (ours.irreps_in, ours.irreps_out) == (theirs.irreps_in, theirs.irreps_out)
    assert {k: v.shape for k, v in ours.state_dict().items()} == {
        k: v.shape for k, v in theirs.state_dict().items()
    }
    ours.load_state_dict(theirs.state_dict(), strict=True)
    x = torch.randn(4, 3, ours.irreps_in.dim, dtype=DT)
    if x.shape[-1]:
        x[0, 0] = 0.0
    x.requires_grad_()
    y_ours, y_theirs = ours(x), theirs(x)
    torch.testing.assert_close(y_ours, y_theirs, atol=1e-10, rtol=0)
    if y_ours.numel():
        g = torch.randn_like(y_ours)
        torch.testing.assert_close(
            torch.autograd.grad(y_ours, x, g)[0], torch.autograd.grad(y_theirs, x, g)[0], atol=1e-10, rtol=0
        )


def test_invariance() -> None:
    norm = o3.Norm("2x0e + 3x1o + 2e + 1e").to(DT)
    assert_equivariant(norm, [torch.randn(5, norm.irreps_in.dim, dtype=DT)])


def test_errors() -> None:
    with pytest.raises(TypeError, match=r"expected squared to be a bool, got 1 \(type int\)"):
        o3.Norm("1o", squared=1)
    norm = o3.Norm("0e + 1o")
    with pytest.raises(
        ValueError, match=r"expected input with last dimension 4 \(irreps 1x0e\+1x1o\), got shape \(3,\)"
    ):
        norm(torch.randn(3))
    with pytest.raises(TypeError, match="expected features to be a torch.Tensor, got list"):
        norm([1.0] * 4)
