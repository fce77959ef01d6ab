"""Training steps of e3nn's ``gate_points_2101.Network`` used as a potential (energy, forces, backward).

Both sides train the same network (same state dict) on the same periodic-free point clouds: one step is a
forward pass, the forces ``-dE/dpos`` with ``create_graph=True``, and the backward pass of a force loss (a
double backward), as in interatomic-potential training. Case names start with ``training/``
(``python -m benchmarks.run -k training``). The NequIP-style potential has no e3nn counterpart: its throughput
(structures/s) is measured by ``python -m benchmarks.training_throughput``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from benchmarks.harness import Case, Workload

__all__ = ["CASES"]

_CONFIG = dict(
    irreps_in=None,
    irreps_hidden="16x0e + 8x1o + 8x1e",
    irreps_out="1x0e",
    irreps_node_attr=None,
    irreps_edge_attr="0e + 1o + 2e",
    layers=2,
    max_radius=2.5,
    number_of_basis=8,
    radial_layers=1,
    radial_neurons=32,
    num_neighbors=12.0,
    num_nodes=32.0,
)


def _step(
    net: torch.nn.Module, pos: torch.Tensor, batch: torch.Tensor, target: torch.Tensor
) -> Callable[[], Any]:
    def run() -> None:
        net.zero_grad(set_to_none=True)
        p = pos.detach().requires_grad_(True)
        energy = net({"pos": p, "batch": batch}).sum()
        forces = -torch.autograd.grad(energy, p, create_graph=True)[0]
        (forces - target).pow(2).mean().backward()

    return run


def _gate_points(graphs: int, atoms: int) -> Callable[[], Workload]:
    def setup() -> Workload:
        from e3nn.nn.models.gate_points_2101 import Network as E3nnNetwork

        from e3torch.models import Network

        torch.manual_seed(0)
        theirs = E3nnNetwork(**_CONFIG)
        ours = Network(**_CONFIG)
        ours.load_state_dict(theirs.state_dict())
        # points on a jittered cubic grid (spacing 1), ~12-18 neighbours within 2.5 per point
        side = round(atoms ** (1 / 3))
        grid = torch.stack(torch.meshgrid(*[torch.arange(side, dtype=torch.float32)] * 3, indexing="ij"), -1)
        grid = grid.reshape(-1, 3)
        pos = torch.cat([grid + 0.1 * torch.randn_like(grid) for _ in range(graphs)])
        batch = torch.arange(graphs).repeat_interleave(grid.shape[0])
        target = torch.randn_like(pos)
        return Workload(_step(ours, pos, batch, target), _step(theirs, pos, batch, target))

    return setup


CASES = [
    Case("training/gate_points force step 4x27 atoms", _gate_points(4, 27), repeat=10),
    Case("training/gate_points force step 8x64 atoms", _gate_points(8, 64), repeat=5),
]
