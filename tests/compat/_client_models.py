"""A small client model that holds e3nn modules (as mace or nequip models do), for the pickle tests.

It imports e3nn only when built, so a pickle of it loads where ``e3nn`` is e3torch's compat layer.
"""

from __future__ import annotations

import torch


class Client(torch.nn.Module):
    """``2 * Gate(Linear(x)) + sum(SH(x[1:4]))`` with e3nn's modules."""

    def __init__(self) -> None:
        super().__init__()
        from e3nn import nn, o3

        self.lin = o3.Linear("1x0e+1x1o", "2x0e+1x0e+1x1o")
        self.gate = nn.Gate("2x0e", [torch.tanh], "1x0e", [torch.sigmoid], "1x1o")
        self.sh = o3.SphericalHarmonics([0, 1], True)
        self.scale = 2.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * self.gate(self.lin(x)) + self.sh(x[..., 1:4]).sum(-1, keepdim=True)
