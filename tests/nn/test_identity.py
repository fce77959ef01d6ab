"""nn.Identity: repr and simplification as e3nn 0.6.0, returns its input, errors."""

from __future__ import annotations

import e3nn.nn
import pytest
import torch

from e3torch import nn


def test_parity_with_e3nn() -> None:
    theirs, ours = (
        e3nn.nn.Identity("2x0e + 1o", "1x0e + 1x0e + 1o"),
        nn.Identity("2x0e + 1o", "1x0e + 1x0e + 1o"),
    )
    assert repr(ours) == repr(theirs)
    assert (ours.irreps_in, ours.irreps_out) == (theirs.irreps_in, theirs.irreps_out)
    x = torch.randn(3, 5)
    assert ours(x) is x


def test_error() -> None:
    with pytest.raises(
        ValueError,
        match=r"expected equal irreps_in and irreps_out once simplified, got 2x0e\+1x1o and 3x0e\+1x1o",
    ):
        nn.Identity("2x0e + 1o", "3x0e + 1o")
