"""The gated point-convolution network of e3nn's ``gate_points_2102`` (February 2021): interface, state dict, numbers.

It is the network of ``gate_points_2101`` (:mod:`e3torch.models._gate_points`) with one change: the radial MLP of
every convolution reads, besides the ``number_of_basis`` Gaussians of the edge length, the scalar (``0e``) node
attributes of both ends of the edge, so it has ``number_of_basis + 2 * irreps_node_attr.count("0e")`` inputs.

Its helpers (``scatter``, ``radius_graph``, ``uvu_tensor_product``, the gate and edge embedding, and the
convolution's message passing) live in :mod:`e3torch.models._gate_points` and are shared with the 2101 and
``v2106`` networks.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from e3torch import nn as e3nn_nn
from e3torch import o3
from e3torch.models._gate_points import (
    _gate,
    convolution_parts,
    edge_embedding,
    radius_graph,
    scatter,
    smooth_cutoff,
    tp_path_exists,
    uvu_tensor_product,
)

__all__ = [
    "Compose",
    "Convolution",
    "Network",
    "radius_graph",
    "scatter",
    "smooth_cutoff",
    "tp_path_exists",
    "uvu_tensor_product",
]


class Compose(torch.nn.Module):
    """``second(first(*args))``, with ``irreps_in`` of ``first`` and ``irreps_out`` of ``second``.

    Parameters
    ----------
    first, second : torch.nn.Module
        ``first`` needs an ``irreps_in`` attribute and ``second`` an ``irreps_out`` one (as in e3nn).

    Examples
    --------
    >>> gate = e3nn_nn.Gate("2x0e", [torch.tanh], "", [], "")
    >>> c = Compose(Convolution("0e", "0e", "0e", "2x0e", 3, 1, 4, 1.0), gate)
    >>> c.irreps_in, c.irreps_out
    (1x0e, 2x0e)
    """

    def __init__(self, first: torch.nn.Module, second: torch.nn.Module) -> None:
        super().__init__()
        self.first = first
        self.second = second
        self.irreps_in = self.first.irreps_in
        self.irreps_out = self.second.irreps_out

    def forward(self, *args: torch.Tensor) -> torch.Tensor:
        """``second(first(*args))``."""
        return self.second(self.first(*args))


class Convolution(torch.nn.Module):
    """Point convolution: ``sin(pi/8) sc(x, z) + cos(pi/8) lin2(sum_nbr tp(lin1(x, z), attr, fc(f)), z)``.

    ``f`` are the scalar edge features. Output channels that the self-connection ``sc`` cannot reach keep the
    convolution with coefficient 1. Submodules (and state-dict keys): ``sc``, ``lin1``, ``fc``, ``tp``, ``lin2``.

    Parameters
    ----------
    irreps_in : Irreps
        Input node features.
    irreps_node_attr : Irreps
        Node attributes.
    irreps_edge_attr : Irreps
        Edge attributes (e.g. cut-off spherical harmonics).
    irreps_out : Irreps
        Output node features.
    number_of_edge_features : int
        Number of scalar edge features fed to the radial MLP.
    radial_layers, radial_neurons : int
        Hidden layers and their width in the radial MLP.
    num_neighbors : float
        Neighbour sums are divided by its square root.

    Examples
    --------
    >>> conv = Convolution("2x0e", "1x0e", "0e+1o", "4x0e+2x1o", 5, 1, 8, 2.0)
    >>> conv.tp.irreps_out, conv.fc.hs
    (2x0e+2x1o, [5, 8, 4])
    """

    def __init__(
        self,
        irreps_in: Any,
        irreps_node_attr: Any,
        irreps_edge_attr: Any,
        irreps_out: Any,
        number_of_edge_features: int,
        radial_layers: int,
        radial_neurons: int,
        num_neighbors: float,
    ) -> None:
        super().__init__()
        self.irreps_in = o3.Irreps(irreps_in)
        self.irreps_node_attr = o3.Irreps(irreps_node_attr)
        self.irreps_edge_attr = o3.Irreps(irreps_edge_attr)
        self.irreps_out = o3.Irreps(irreps_out)
        self.num_neighbors = num_neighbors
        self.sc = o3.FullyConnectedTensorProduct(self.irreps_in, self.irreps_node_attr, self.irreps_out)
        self.lin1 = o3.FullyConnectedTensorProduct(self.irreps_in, self.irreps_node_attr, self.irreps_in)
        irreps_mid, instructions = uvu_tensor_product(
            self.irreps_in, self.irreps_edge_attr, lambda ir: ir in self.irreps_out
        )
        tp = o3.TensorProduct(
            self.irreps_in,
            self.irreps_edge_attr,
            irreps_mid,
            instructions,
            internal_weights=False,
            shared_weights=False,
        )
        hidden = int(radial_layers) * [int(radial_neurons)]
        # fc before tp: e3nn registers them in this order (state-dict key order)
        self.fc = e3nn_nn.FullyConnectedNet(
            [int(number_of_edge_features)] + hidden + [tp.weight_numel], torch.nn.functional.silu
        )
        self.tp = tp
        self.lin2 = o3.FullyConnectedTensorProduct(irreps_mid, self.irreps_node_attr, self.irreps_out)

    def forward(
        self,
        node_input: torch.Tensor,
        node_attr: torch.Tensor,
        edge_src: torch.Tensor,
        edge_dst: torch.Tensor,
        edge_attr: torch.Tensor,
        edge_features: torch.Tensor,
    ) -> torch.Tensor:
        """``(n, irreps_in.dim)`` -> ``(n, irreps_out.dim)``; messages go from ``edge_src`` to ``edge_dst``."""
        self_part, h = convolution_parts(
            self, node_input, node_attr, edge_src, edge_dst, edge_attr, edge_features
        )
        conv = self.lin2(h, node_attr)
        mask = self.sc.output_mask
        coefficient = (1 - mask) + math.cos(math.pi / 8) * mask
        return math.sin(math.pi / 8) * self_part + coefficient * conv


class Network(torch.nn.Module):
    """e3nn's ``gate_points_2102.Network``: gated point convolutions whose radial MLPs see the node scalars.

    Parameters
    ----------
    irreps_in : Irreps or None
        Input node features (``None``: every node gets the constant ``1x0e``).
    irreps_hidden : Irreps
        Hidden features (irreps that no tensor-product path from the previous layer reaches are dropped).
    irreps_out : Irreps
        Output features.
    irreps_node_attr : Irreps or None
        Node attributes, e.g. one-hot atom types (``None``: the constant ``1x0e``). Its ``0e`` part also feeds
        the radial MLPs, for both ends of each edge.
    irreps_edge_attr : Irreps
        Spherical harmonics of the edge directions (times a smooth cutoff).
    layers : int
        Number of gated layers.
    max_radius : float
        Convolution radius.
    number_of_basis : int
        Gaussians embedding the edge lengths.
    radial_layers, radial_neurons : int
        Depth and width of the radial MLPs.
    num_neighbors : float
        Typical number of neighbours (normalises neighbour sums).
    num_nodes : float
        Typical number of nodes of a graph (normalises the sum over nodes).
    reduce_output : bool
        Sum node outputs per graph (divided by ``sqrt(num_nodes)``); otherwise return per-node outputs.

    Attributes
    ----------
    ext_z : ExtractIr
        Picks the ``0e`` node attributes.
    layers : torch.nn.ModuleList
        ``layers`` :class:`Compose` (convolution, gate) and a last :class:`Convolution`.

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> net = Network("2x0e", "8x0e+4x1o", "1x0e", "2x0e", "0e+1o", layers=1, max_radius=3.0,
    ...               number_of_basis=5, radial_layers=1, radial_neurons=16, num_neighbors=3.0, num_nodes=4.0)
    >>> net.layers[0].first.fc.hs[0]
    9
    >>> net({"pos": torch.randn(5, 3), "x": torch.randn(5, 2), "z": torch.randn(5, 2)}).shape
    torch.Size([1, 1])
    """

    def __init__(
        self,
        irreps_in: Any,
        irreps_hidden: Any,
        irreps_out: Any,
        irreps_node_attr: Any,
        irreps_edge_attr: Any,
        layers: int,
        max_radius: float,
        number_of_basis: int,
        radial_layers: int,
        radial_neurons: int,
        num_neighbors: float,
        num_nodes: float,
        reduce_output: bool = True,
    ) -> None:
        super().__init__()
        if irreps_edge_attr is None:
            raise ValueError(
                "irreps_edge_attr: expected spherical-harmonic irreps such as '0e+1o+2e', got None"
            )
        if isinstance(layers, bool) or int(layers) != layers or layers < 0:
            raise ValueError(f"layers: expected an integer >= 0, got {layers!r}")
        if not max_radius > 0:
            raise ValueError(f"max_radius: expected a positive number, got {max_radius!r}")
        self.max_radius = max_radius
        self.number_of_basis = number_of_basis
        self.num_neighbors = num_neighbors
        self.num_nodes = num_nodes
        self.reduce_output = reduce_output
        self.irreps_in = o3.Irreps(irreps_in) if irreps_in is not None else None
        self.irreps_hidden = o3.Irreps(irreps_hidden)
        self.irreps_out = o3.Irreps(irreps_out)
        self.irreps_node_attr = (
            o3.Irreps(irreps_node_attr) if irreps_node_attr is not None else o3.Irreps("0e")
        )
        self.irreps_edge_attr = o3.Irreps(irreps_edge_attr)
        self.input_has_node_in = irreps_in is not None
        self.input_has_node_attr = irreps_node_attr is not None
        self.ext_z = e3nn_nn.ExtractIr(self.irreps_node_attr, "0e")
        edge_features = int(number_of_basis) + 2 * self.irreps_node_attr.count("0e")
        conv_args = (radial_layers, radial_neurons, num_neighbors)

        irreps = self.irreps_in if self.irreps_in is not None else o3.Irreps("0e")
        self.layers = torch.nn.ModuleList()
        for _ in range(int(layers)):
            gate = _gate(self.irreps_hidden, irreps, self.irreps_edge_attr)
            conv = Convolution(
                irreps,
                self.irreps_node_attr,
                self.irreps_edge_attr,
                gate.irreps_in,
                edge_features,
                *conv_args,
            )
            irreps = gate.irreps_out
            self.layers.append(Compose(conv, gate))
        self.layers.append(
            Convolution(
                irreps,
                self.irreps_node_attr,
                self.irreps_edge_attr,
                self.irreps_out,
                edge_features,
                *conv_args,
            )
        )

    def forward(self, data: dict[str, torch.Tensor]) -> torch.Tensor:
        """Evaluate on ``data``: ``pos (n, 3)``; ``x (n, irreps_in.dim)`` when ``irreps_in`` is set; ``z (n,
        irreps_node_attr.dim)`` (may be left out when the node attributes are ``0e``); optional ``batch (n,)``.

        Returns ``(n_graphs, irreps_out.dim)`` if ``reduce_output`` else ``(n, irreps_out.dim)``.
        """
        if "pos" not in data:
            raise ValueError("Network: expected the input dict to have 'pos' (n, 3)")
        pos = data["pos"]
        batch = data["batch"] if "batch" in data else pos.new_zeros(pos.shape[0], dtype=torch.long)
        edge_src, edge_dst = radius_graph(pos, self.max_radius, batch)
        edge_attr, edge_length_embedded = edge_embedding(
            pos, edge_src, edge_dst, self.irreps_edge_attr, self.max_radius, self.number_of_basis
        )

        if self.input_has_node_in and "x" in data:
            x = data["x"]
        elif self.irreps_in is None:
            x = pos.new_ones((pos.shape[0], 1))
        else:
            raise ValueError(f"Network: irreps_in is {self.irreps_in}, so the input dict needs 'x'")
        if self.input_has_node_attr and "z" in data:
            z = data["z"]
        elif self.irreps_node_attr == o3.Irreps("0e"):
            z = pos.new_ones((pos.shape[0], 1))
        else:
            raise ValueError(
                f"Network: irreps_node_attr is {self.irreps_node_attr}, so the input dict needs 'z'"
            )

        scalar_z = self.ext_z(z)
        edge_features = torch.cat([edge_length_embedded, scalar_z[edge_src], scalar_z[edge_dst]], dim=1)
        for layer in self.layers:
            x = layer(x, z, edge_src, edge_dst, edge_attr, edge_features)
        if not self.reduce_output:
            return x
        return scatter(x, batch, int(batch.max()) + 1).div(self.num_nodes**0.5)
