"""nn.Dropout: same masks as e3nn 0.6.0 from the same seed, one mask entry per irrep copy, train/eval,
errors."""

from __future__ import annotations

import e3nn.nn
import pytest
import torch

from e3torch import nn
from e3torch.util.test import assert_equivariant


@pytest.mark.parametrize("shape", [(6,), (4, 3)])  # (batch, [extra,]) before the irreps dimension
@pytest.mark.parametrize("p", [0.0, 0.3, 1.0])
def test_parity_with_e3nn(shape: tuple, p: float) -> None:
    theirs, ours = e3nn.nn.Dropout("2x0e + 1o + 2e", p), nn.Dropout("2x0e + 1o + 2e", p)
    assert repr(ours) == repr(theirs) and list(ours.state_dict()) == list(theirs.state_dict())
    x = torch.randn(*shape, 10)
    torch.manual_seed(5)
    y_theirs = theirs(x)
    torch.manual_seed(5)
    y_ours = ours(x)
    torch.testing.assert_close(y_ours, y_theirs, atol=0, rtol=0)
    theirs.eval(), ours.eval()
    torch.testing.assert_close(ours(x), theirs(x), atol=0, rtol=0)


def test_single_sample() -> None:  # e3nn 0.6.0 broadcasts a 1-D input wrongly; here it is one sample
    drop = nn.Dropout("2x0e + 1o", 0.5)
    y = drop(torch.ones(5))
    assert y.shape == (5,) and y[2] == y[3] == y[4]


def test_one_mask_per_copy() -> None:
    drop = nn.Dropout("3x1o + 2e", 0.5)
    y = drop(torch.ones(2000, 14))
    copies = torch.cat([y[:, :9].reshape(-1, 3, 3), y[:, 9:].reshape(-1, 1, 5)[..., :3]], dim=1)
    assert (copies == copies[..., :1]).all()  # all components of a copy share the mask
    assert 0.4 < (y[:, 0] == 0).float().mean().item() < 0.6
    assert set(y.unique().tolist()) == {0.0, 2.0}


def test_equivariance_in_train_mode() -> None:
    drop = nn.Dropout("2x0e + 1o + 2e", 0.5)

    def seeded(x: torch.Tensor) -> torch.Tensor:
        torch.manual_seed(0)
        return drop(x)

    assert_equivariant(
        seeded, [torch.randn(6, 10, dtype=torch.float64)], irreps_in=drop.irreps, irreps_out=drop.irreps
    )


def test_errors() -> None:
    with pytest.raises(ValueError, match=r"expected p in \[0, 1\], got 1.5"):
        nn.Dropout("0e", 1.5)
    with pytest.raises(TypeError, match=r"expected p to be a float, got '0.5' \(type str\)"):
        nn.Dropout("0e", "0.5")
    with pytest.raises(
        ValueError, match=r"expected input with last dimension 3 \(irreps 1x1o\), got shape \(2, 4\)"
    ):
        nn.Dropout("1o", 0.5)(torch.randn(2, 4))
    with pytest.raises(TypeError, match="expected x to be a torch.Tensor, got list"):
        nn.Dropout("1o", 0.5)([0.0] * 3)
