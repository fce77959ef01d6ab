"""Classify 3D tetris shapes, including a chiral pair, with an E(3)-equivariant network.

Eight shapes of four unit cubes. Two of them are mirror images of each other (a chiral pair): no rotation maps
one onto the other, so telling them apart needs a pseudoscalar (``0o``) output. The network
(:class:`e3torch.models.Network`, e3nn's ``gate_points_2101`` architecture) is trained on the shapes in one
orientation only; equivariance makes it exact on every rotated copy.

Run ``python examples/tetris.py`` (a few seconds on a laptop CPU).
"""

from __future__ import annotations

import argparse
import time

import torch

from e3torch import o3
from e3torch.models import Network

SHAPES: dict[str, list[tuple[int, int, int]]] = {
    "chiral_a": [(0, 0, 0), (0, 0, 1), (1, 0, 0), (1, 1, 0)],
    "chiral_b": [(0, 0, 0), (0, 0, 1), (1, 0, 0), (1, -1, 0)],
    "square": [(0, 0, 0), (1, 0, 0), (0, 1, 0), (1, 1, 0)],
    "line": [(0, 0, 0), (0, 0, 1), (0, 0, 2), (0, 0, 3)],
    "corner": [(0, 0, 0), (0, 0, 1), (0, 1, 0), (1, 0, 0)],
    "T": [(0, 0, 0), (0, 0, 1), (0, 0, 2), (0, 1, 1)],
    "zigzag": [(0, 0, 0), (1, 0, 0), (1, 1, 0), (2, 1, 0)],
    "L": [(0, 0, 0), (1, 0, 0), (2, 0, 0), (2, 1, 0)],
}
NAMES = list(SHAPES)


def tetris(dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Positions ``(32, 3)`` (centred per shape), graph index ``(32,)`` and labels ``(8,)``."""
    pos = torch.tensor([p for shape in SHAPES.values() for p in shape], dtype=dtype)
    batch = torch.arange(len(SHAPES)).repeat_interleave(4)
    centres = torch.zeros(len(SHAPES), 3, dtype=dtype).index_add(0, batch, pos) / 4
    return pos - centres[batch], batch, torch.arange(len(SHAPES))


class TetrisClassifier(torch.nn.Module):
    """6 scalar + 1 pseudoscalar outputs; the chiral pair's logits are ``s6 + p`` and ``s6 - p``."""

    def __init__(self) -> None:
        super().__init__()
        self.net = Network(
            irreps_in=None,
            irreps_hidden="16x0e + 16x0o + 8x1o + 8x1e",
            irreps_out="7x0e + 1x0o",
            irreps_node_attr=None,
            irreps_edge_attr=o3.Irreps.spherical_harmonics(2),
            layers=2,
            max_radius=1.5,
            number_of_basis=6,
            radial_layers=1,
            radial_neurons=32,
            num_neighbors=2.0,
            num_nodes=4.0,
        )

    def forward(self, pos: torch.Tensor, batch: torch.Tensor) -> torch.Tensor:
        out = self.net({"pos": pos, "batch": batch})
        s, p = out[:, :7], out[:, 7:]
        return torch.cat([s[:, 6:7] + p, s[:, 6:7] - p, s[:, :6]], dim=1)


def accuracy(model: TetrisClassifier, rotations: int = 20, seed: int = 1) -> float:
    """Fraction of shapes classified correctly over ``rotations`` random proper rotations of all shapes."""
    pos, batch, labels = tetris()
    gen = torch.Generator().manual_seed(seed)
    correct = 0
    with torch.no_grad():
        for _ in range(rotations):
            q = torch.linalg.qr(torch.randn(3, 3, generator=gen))[0]
            rot = q * torch.sign(torch.det(q))
            pred = model(pos @ rot.T, batch).argmax(dim=1)
            correct += int((pred == labels).sum())
    return correct / (rotations * len(labels))


def train(
    steps: int = 100, seed: int = 0, lr: float = 0.02, verbose: bool = True
) -> tuple[TetrisClassifier, float]:
    """Train on the unrotated shapes; return the model and its accuracy on randomly rotated ones."""
    torch.manual_seed(seed)
    model = TetrisClassifier()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    pos, batch, labels = tetris()
    start = time.perf_counter()
    for step in range(1, steps + 1):
        loss = torch.nn.functional.cross_entropy(model(pos, batch), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if verbose and (step % 25 == 0 or step == steps):
            acc = (model(pos, batch).argmax(1) == labels).float().mean()
            print(f"step {step:4d}  loss {loss.item():.4f}  train accuracy {acc:.2f}")
    acc = accuracy(model)
    if verbose:
        print(f"accuracy on randomly rotated shapes: {acc:.3f}  ({time.perf_counter() - start:.1f} s)")
    return model, acc


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    _, final = train(args.steps, args.seed)
    raise SystemExit(0 if final == 1.0 else 1)
