"""A NequIP-style equivariant interatomic potential built from e3torch modules.

Each interaction block: a linear self-interaction, a ``uvu`` convolution tensor product of neighbour features
with the spherical harmonics of the edge direction (its per-edge weights come from a radial MLP over a Bessel
basis times a smooth polynomial cutoff), a sum over neighbours, a linear map, a species-dependent
self-connection, and a gated nonlinearity. The per-atom energy is a linear read-out of the final scalars,
scaled
and shifted per species (:class:`~e3torch.models.AtomisticPotential`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import torch

from e3torch import o3
from e3torch import nn as e3nn_nn
from e3torch.models._io import register_model
from e3torch.models._potential import AtomisticPotential
from e3torch.models._radial import PolynomialCutoff, RadialEmbedding

__all__ = ["NequIP", "InteractionBlock", "NequIPPlan"]


@dataclasses.dataclass(frozen=True)
class NequIPPlan:
    """The irreps of every stage, fixed at construction (printable, immutable)."""

    irreps_node_attr: str
    irreps_sh: str
    irreps_layers: tuple[str, ...]


def _gate(irreps_target: o3.Irreps) -> e3nn_nn.Gate:
    """Gate producing ``irreps_target``: SiLU on even scalars, tanh on odd, sigmoid-gated ``l > 0`` irreps."""
    scalars = o3.Irreps([(mul, ir) for mul, ir in irreps_target if ir.l == 0])
    gated = o3.Irreps([(mul, ir) for mul, ir in irreps_target if ir.l > 0])
    act = {1: torch.nn.functional.silu, -1: torch.tanh}
    gates = o3.Irreps([(mul, "0e") for mul, _ in gated])
    return e3nn_nn.Gate(scalars, [act[ir.p] for _, ir in scalars], gates, [torch.sigmoid] * len(gates), gated)


class InteractionBlock(torch.nn.Module):
    """One NequIP interaction: convolution over neighbours + species self-connection + gate (+ residual).

    Parameters
    ----------
    irreps_in : Irreps
        Node features coming in.
    irreps_out : Irreps
        Node features going out (after the gate).
    irreps_sh : Irreps
        Spherical harmonics of the edge directions.
    irreps_node_attr : Irreps
        One-hot species (``n_species x 0e``).
    num_basis, radial_neurons, radial_layers : int
        The radial MLP ``num_basis -> radial_neurons (x radial_layers) -> weights``.
    avg_num_neighbors : float
        Neighbour sums are divided by its square root.

    Examples
    --------
    >>> block = InteractionBlock(o3.Irreps("4x0e"), o3.Irreps("4x0e+4x1o"), o3.Irreps("0e+1o"),
    ...                          o3.Irreps("2x0e"),
    ...                          num_basis=3, radial_neurons=8, radial_layers=1, avg_num_neighbors=2.0)
    >>> block.tp.irreps_out
    4x0e+4x1o
    """

    def __init__(
        self,
        irreps_in: o3.Irreps,
        irreps_out: o3.Irreps,
        irreps_sh: o3.Irreps,
        irreps_node_attr: o3.Irreps,
        *,
        num_basis: int,
        radial_neurons: int,
        radial_layers: int,
        avg_num_neighbors: float,
    ) -> None:
        super().__init__()
        self.gate = _gate(irreps_out)
        target = self.gate.irreps_in
        wanted = {ir for _, ir in target}
        mid: list[tuple[int, o3.Irrep]] = []
        instructions: list[tuple[int, int, int, str, bool]] = []
        for i1, (mul, ir1) in enumerate(irreps_in):
            for i2, (_, ir2) in enumerate(irreps_sh):
                for ir3 in ir1 * ir2:
                    if ir3 in wanted:
                        instructions.append((i1, i2, len(mid), "uvu", True))
                        mid.append((mul, ir3))
        if not mid:
            raise ValueError(f"no tensor-product path from {irreps_in} x {irreps_sh} reaches {irreps_out}")
        irreps_mid, perm, _ = o3.Irreps(mid).sort()
        instructions = [(i1, i2, perm[k], mode, w) for i1, i2, k, mode, w in instructions]
        self.linear_in = o3.Linear(irreps_in, irreps_in)
        self.tp = o3.TensorProduct(
            irreps_in, irreps_sh, irreps_mid, instructions, shared_weights=False, internal_weights=False
        )
        self.radial = e3nn_nn.FullyConnectedNet(
            [num_basis] + radial_layers * [radial_neurons] + [self.tp.weight_numel], torch.nn.functional.silu
        )
        self.linear_out = o3.Linear(irreps_mid, target)
        self.self_connection = o3.FullyConnectedTensorProduct(irreps_in, irreps_node_attr, target)
        self.residual = o3.Irreps(irreps_in) == o3.Irreps(irreps_out)
        self.norm = 1.0 / math.sqrt(avg_num_neighbors)

    def forward(
        self,
        h: torch.Tensor,
        node_attr: torch.Tensor,
        center: torch.Tensor,
        neighbor: torch.Tensor,
        edge_sh: torch.Tensor,
        edge_embedding: torch.Tensor,
        edge_envelope: torch.Tensor,
    ) -> torch.Tensor:
        """``h: (n_atoms, irreps_in.dim)`` -> ``(n_atoms, irreps_out.dim)``."""
        x = self.linear_in(h)
        weights = self.radial(edge_embedding) * edge_envelope.unsqueeze(-1)
        messages = self.tp(x[neighbor], edge_sh, weights)
        agg = torch.zeros(h.shape[0], messages.shape[1], dtype=messages.dtype, device=messages.device)
        agg = agg.index_add(0, center, messages) * self.norm
        out = self.gate(self.linear_out(agg) + self.self_connection(h, node_attr))
        return h + out if self.residual else out


@register_model
class NequIP(AtomisticPotential):
    """NequIP-style E(3)-equivariant interatomic potential (energy, forces, stress).

    Parameters
    ----------
    species : sequence of int
        Atomic numbers the model knows.
    cutoff : float
        Cutoff radius in Å.
    num_features : int
        Channels of every hidden irrep (``num_features x 0e + num_features x 1o + ...`` up to ``lmax``,
        with the parity ``(-1)^l`` of vectors and tensors).
    lmax : int
        Largest degree of the edge spherical harmonics and hidden features.
    num_layers : int
        Interaction blocks (the last one outputs scalars only).
    num_basis : int
        Bessel functions of the radial embedding.
    cutoff_p : int
        Order of the polynomial cutoff.
    radial_neurons, radial_layers : int
        Width and depth of the radial MLP.
    avg_num_neighbors : float
        Typical number of neighbours within the cutoff (normalises neighbour sums).

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> model = NequIP(species=[13, 29], cutoff=4.0, num_features=8, lmax=1, num_layers=2)
    >>> model.plan.irreps_layers
    ('8x0e', '8x0e+8x1o', '8x0e')
    >>> from ase.build import bulk
    >>> from e3torch.data import atoms_to_graph, collate
    >>> batch = collate([atoms_to_graph(bulk("Cu", "fcc", a=3.6, cubic=True), cutoff=4.0)])
    >>> out = model(batch.to(dtype=torch.float32), compute_stress=True)
    >>> tuple(out["energy"].shape), tuple(out["forces"].shape), tuple(out["stress"].shape)
    ((1,), (4, 3), (1, 3, 3))
    """

    def __init__(
        self,
        species: Sequence[int],
        cutoff: float = 5.0,
        num_features: int = 32,
        lmax: int = 1,
        num_layers: int = 2,
        num_basis: int = 8,
        cutoff_p: int = 6,
        radial_neurons: int = 32,
        radial_layers: int = 1,
        avg_num_neighbors: float = 1.0,
    ) -> None:
        super().__init__(species, cutoff)
        for name, value, low in (
            ("num_features", num_features, 1),
            ("lmax", lmax, 0),
            ("num_layers", num_layers, 1),
            ("num_basis", num_basis, 1),
            ("radial_neurons", radial_neurons, 1),
            ("radial_layers", radial_layers, 0),
        ):
            if int(value) != value or value < low:
                raise ValueError(f"NequIP: expected {name} to be an integer >= {low}, got {value}")
        if not avg_num_neighbors > 0:
            raise ValueError(f"NequIP: expected a positive avg_num_neighbors, got {avg_num_neighbors}")
        self._hyper = {
            "num_features": int(num_features),
            "lmax": int(lmax),
            "num_layers": int(num_layers),
            "num_basis": int(num_basis),
            "cutoff_p": int(cutoff_p),
            "radial_neurons": int(radial_neurons),
            "radial_layers": int(radial_layers),
            "avg_num_neighbors": float(avg_num_neighbors),
        }
        irreps_attr = o3.Irreps(f"{self.num_species}x0e")
        irreps_sh = o3.Irreps.spherical_harmonics(lmax)
        scalars = o3.Irreps(f"{num_features}x0e")
        hidden = o3.Irreps([(num_features, (deg, (-1) ** deg)) for deg in range(lmax + 1)])
        layer_irreps = [scalars] + [hidden] * (num_layers - 1) + [scalars]
        self.plan = NequIPPlan(str(irreps_attr), str(irreps_sh), tuple(str(i) for i in layer_irreps))
        self.embedding = o3.Linear(irreps_attr, scalars)
        self.sh = o3.SphericalHarmonics(irreps_sh, normalize=True, normalization="component")
        self.radial_embedding = RadialEmbedding(cutoff, num_basis, cutoff_p)
        self.envelope = PolynomialCutoff(cutoff, cutoff_p)
        self.blocks = torch.nn.ModuleList(
            InteractionBlock(
                layer_irreps[k],
                layer_irreps[k + 1],
                irreps_sh,
                irreps_attr,
                num_basis=num_basis,
                radial_neurons=radial_neurons,
                radial_layers=radial_layers,
                avg_num_neighbors=avg_num_neighbors,
            )
            for k in range(num_layers)
        )
        self.readout = o3.Linear(scalars, o3.Irreps("1x0e"))

    def hyperparameters(self) -> dict[str, Any]:
        """Constructor arguments (for model files)."""
        return {**super().hyperparameters(), **self._hyper}

    def node_energies(
        self, species: torch.Tensor, edge_index: torch.Tensor, edge_vec: torch.Tensor
    ) -> torch.Tensor:
        """Unscaled per-atom energies from species indices and edge vectors ``r_j - r_i``."""
        dtype = edge_vec.dtype
        node_attr = torch.nn.functional.one_hot(species, self.num_species).to(dtype)
        center, neighbor = edge_index[0], edge_index[1]
        length = edge_vec.norm(dim=1)
        edge_sh = self.sh(edge_vec)
        edge_embedding = self.radial_embedding(length)
        edge_envelope = self.envelope(length)
        h = self.embedding(node_attr)
        for block in self.blocks:
            h = block(h, node_attr, center, neighbor, edge_sh, edge_embedding, edge_envelope)
        return self.readout(h).squeeze(-1)
