"""The gated point-convolution network of e3nn's ``gate_points_2101``: same interface, numbers, state dict.

Edges join points closer than ``max_radius`` (within one graph of the batch). Edge attributes are
``smooth_cutoff(r / max_radius) * Y(r_vec / r)``; edge lengths are embedded with ``number_of_basis``
Gaussians. Each layer is a convolution (self-connection + linear + ``uvu`` tensor product with radial-MLP
weights + linear, mixed as ``sin(pi/8) * self + cos(pi/8) * conv``) followed by a gate; a last convolution
gives ``irreps_out``.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from e3torch import o3
from e3torch import nn as e3nn_nn
from e3torch.math import soft_one_hot_linspace

__all__ = ["Network", "Convolution", "Compose", "smooth_cutoff", "radius_graph", "tp_path_exists"]


def smooth_cutoff(x: torch.Tensor) -> torch.Tensor:
    """1 below ``x = 1/2``, a half cosine down to 0 at ``x = 1``, 0 beyond.

    Examples
    --------
    >>> smooth_cutoff(torch.tensor([0.2, 0.75, 1.0, 1.5], dtype=torch.float64)).tolist()
    [1.0, 0.5, 0.0, 0.0]
    """
    y = 0.5 * (1.0 + torch.cos(math.pi * (2.0 * x - 1.0)))
    y = torch.where(x < 0.5, torch.ones_like(y), y)
    return torch.where(x < 1.0, y, torch.zeros_like(y))


def radius_graph(pos: torch.Tensor, r_max: float, batch: torch.Tensor) -> torch.Tensor:
    """All ordered pairs ``(a, b)``, ``a != b``, of the same graph with ``|pos[a] - pos[b]| < r_max``.

    Parameters
    ----------
    pos : ``(n, 3)``
    r_max : float
    batch : int64 ``(n,)``

    Returns
    -------
    torch.Tensor
        ``(2, n_edges)`` sorted by the first index then the second.

    Examples
    --------
    >>> pos = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [5.0, 0.0, 0.0]])
    >>> radius_graph(pos, 2.0, torch.zeros(3, dtype=torch.long)).tolist()
    [[0, 1], [1, 0]]
    """
    d = torch.cdist(pos.detach(), pos.detach())
    mask = (d < r_max) & (batch[:, None] == batch[None, :])
    mask.fill_diagonal_(False)
    return mask.nonzero().t()


def tp_path_exists(irreps_in1: Any, irreps_in2: Any, ir_out: Any) -> bool:
    """Whether some ``ir1 x ir2`` of the two irreps contains ``ir_out``.

    Examples
    --------
    >>> tp_path_exists("1o", "1o", "1e"), tp_path_exists("0e", "1o", "0e")
    (True, False)
    """
    ir_out = o3.Irrep(ir_out)
    return any(ir_out in ir1 * ir2 for _, ir1 in o3.Irreps(irreps_in1) for _, ir2 in o3.Irreps(irreps_in2))


class Compose(torch.nn.Module):
    """``second(first(*args))``: attributes ``first`` and ``second`` (e3nn's state-dict names).

    Examples
    --------
    >>> Compose(torch.nn.Identity(), torch.nn.ReLU())(torch.tensor([-1.0, 2.0])).tolist()
    [0.0, 2.0]
    """

    def __init__(self, first: torch.nn.Module, second: torch.nn.Module) -> None:
        super().__init__()
        self.first = first
        self.second = second

    def forward(self, *args: torch.Tensor) -> torch.Tensor:
        return self.second(self.first(*args))


class Convolution(torch.nn.Module):
    """Point convolution: ``sin(pi/8) sc(x, z) + cos(pi/8) lin2(sum_nbr tp(lin1(x, z), attr, fc(emb)), z)``.

    Output channels that the self-connection cannot reach keep the convolution with coefficient 1.

    Parameters
    ----------
    irreps_in, irreps_node_attr, irreps_edge_attr, irreps_out : Irreps
    number_of_basis, radial_layers, radial_neurons : int
        The radial MLP ``number_of_basis -> radial_neurons (x radial_layers) -> tp weights``.
    num_neighbors : float
        Neighbour sums are divided by its square root.

    Examples
    --------
    >>> conv = Convolution("2x0e", "1x0e", "0e+1o", "4x0e+2x1o", 3, 1, 8, 2.0)
    >>> conv.tp.irreps_out
    2x0e+2x1o
    """

    def __init__(
        self,
        irreps_in: Any,
        irreps_node_attr: Any,
        irreps_edge_attr: Any,
        irreps_out: Any,
        number_of_basis: int,
        radial_layers: int,
        radial_neurons: int,
        num_neighbors: float,
    ) -> None:
        super().__init__()
        self.irreps_in = o3.Irreps(irreps_in)
        self.irreps_node_attr = o3.Irreps(irreps_node_attr)
        self.irreps_edge_attr = o3.Irreps(irreps_edge_attr)
        self.irreps_out = o3.Irreps(irreps_out)
        self.num_neighbors = float(num_neighbors)
        self.sc = o3.FullyConnectedTensorProduct(self.irreps_in, self.irreps_node_attr, self.irreps_out)
        self.lin1 = o3.FullyConnectedTensorProduct(self.irreps_in, self.irreps_node_attr, self.irreps_in)
        mid: list[tuple[int, o3.Irrep]] = []
        instructions = []
        for i1, (mul, ir1) in enumerate(self.irreps_in):
            for i2, (_, ir2) in enumerate(self.irreps_edge_attr):
                for ir3 in ir1 * ir2:
                    if ir3 in self.irreps_out:
                        instructions.append((i1, i2, len(mid), "uvu", True))
                        mid.append((mul, ir3))
        irreps_mid, perm, _ = o3.Irreps(mid).sort()
        instructions = [(i1, i2, perm[k], mode, w) for i1, i2, k, mode, w in instructions]
        tp = o3.TensorProduct(
            self.irreps_in,
            self.irreps_edge_attr,
            irreps_mid,
            instructions,
            internal_weights=False,
            shared_weights=False,
        )
        # registered after the radial network, as in e3nn (same state_dict key order)
        self.fc = e3nn_nn.FullyConnectedNet(
            [number_of_basis] + radial_layers * [radial_neurons] + [tp.weight_numel],
            torch.nn.functional.silu,
        )
        self.tp = tp
        self.lin2 = o3.FullyConnectedTensorProduct(irreps_mid, self.irreps_node_attr, self.irreps_out)
        self.c_s = math.sin(math.pi / 8)
        self.c_x = math.cos(math.pi / 8)

    def forward(
        self,
        node_input: torch.Tensor,
        node_attr: torch.Tensor,
        edge_src: torch.Tensor,
        edge_dst: torch.Tensor,
        edge_attr: torch.Tensor,
        edge_length_embedded: torch.Tensor,
    ) -> torch.Tensor:
        """``node_input: (n, irreps_in.dim)`` -> ``(n, irreps_out.dim)``; messages go from ``edge_src`` to
        ``edge_dst``."""
        weight = self.fc(edge_length_embedded)
        s = self.sc(node_input, node_attr)
        h = self.lin1(node_input, node_attr)
        messages = self.tp(h[edge_src], edge_attr, weight)
        agg = torch.zeros(
            node_input.shape[0], messages.shape[1], dtype=messages.dtype, device=messages.device
        )
        agg = agg.index_add(0, edge_dst, messages) / math.sqrt(self.num_neighbors)
        conv = self.lin2(agg, node_attr)
        mask = self.sc.output_mask.to(conv.dtype)
        return self.c_s * s + ((1.0 - mask) + self.c_x * mask) * conv


class Network(torch.nn.Module):
    """e3nn's ``gate_points_2101.Network``: a gated equivariant point-convolution network.

    Parameters
    ----------
    irreps_in : Irreps or None
        Input node features (``None``: every node gets the constant ``1x0e``).
    irreps_hidden : Irreps
        Hidden features (irreps without a tensor-product path from the previous layer are dropped).
    irreps_out : Irreps
        Output features.
    irreps_node_attr : Irreps or None
        Node attributes, e.g. one-hot atom types (``None``: constant ``1x0e``).
    irreps_edge_attr : Irreps
        Spherical harmonics of the edge directions.
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

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> net = Network("2x0e", "8x0e+4x1o", "1x0e", "1x0e", "0e+1o", layers=1, max_radius=3.0,
    ...               number_of_basis=5, radial_layers=1, radial_neurons=16, num_neighbors=3.0, num_nodes=4.0)
    >>> pos = torch.randn(5, 3)
    >>> net({"pos": pos, "x": torch.randn(5, 2), "z": torch.ones(5, 1)}).shape
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
        if int(layers) != layers or layers < 0:
            raise ValueError(f"layers: expected an integer >= 0, got {layers}")
        if not max_radius > 0:
            raise ValueError(f"max_radius: expected a positive number, got {max_radius}")
        self.max_radius = float(max_radius)
        self.number_of_basis = int(number_of_basis)
        self.num_neighbors = float(num_neighbors)
        self.num_nodes = float(num_nodes)
        self.reduce_output = bool(reduce_output)
        self.irreps_in = o3.Irreps(irreps_in) if irreps_in is not None else None
        self.irreps_hidden = o3.Irreps(irreps_hidden)
        self.irreps_out = o3.Irreps(irreps_out)
        self.irreps_node_attr = (
            o3.Irreps(irreps_node_attr) if irreps_node_attr is not None else o3.Irreps("0e")
        )
        self.irreps_edge_attr = o3.Irreps(irreps_edge_attr)
        self.input_has_node_in = irreps_in is not None
        self.input_has_node_attr = irreps_node_attr is not None
        irreps = self.irreps_in if self.irreps_in is not None else o3.Irreps("0e")
        act = {1: torch.nn.functional.silu, -1: torch.tanh}
        act_gates = {1: torch.sigmoid, -1: torch.tanh}
        self.layers = torch.nn.ModuleList()
        for _ in range(int(layers)):
            scalars = o3.Irreps(
                [
                    (mul, ir)
                    for mul, ir in self.irreps_hidden
                    if ir.l == 0 and tp_path_exists(irreps, self.irreps_edge_attr, ir)
                ]
            )
            gated = o3.Irreps(
                [
                    (mul, ir)
                    for mul, ir in self.irreps_hidden
                    if ir.l > 0 and tp_path_exists(irreps, self.irreps_edge_attr, ir)
                ]
            )
            ir_gate = "0e" if tp_path_exists(irreps, self.irreps_edge_attr, "0e") else "0o"
            gates = o3.Irreps([(mul, ir_gate) for mul, _ in gated])
            gate = e3nn_nn.Gate(
                scalars, [act[ir.p] for _, ir in scalars], gates, [act_gates[ir.p] for _, ir in gates], gated
            )
            conv = Convolution(
                irreps,
                self.irreps_node_attr,
                self.irreps_edge_attr,
                gate.irreps_in,
                number_of_basis,
                radial_layers,
                radial_neurons,
                num_neighbors,
            )
            irreps = gate.irreps_out
            self.layers.append(Compose(conv, gate))
        self.layers.append(
            Convolution(
                irreps,
                self.irreps_node_attr,
                self.irreps_edge_attr,
                self.irreps_out,
                number_of_basis,
                radial_layers,
                radial_neurons,
                num_neighbors,
            )
        )

    def forward(self, data: dict[str, torch.Tensor]) -> torch.Tensor:
        """Evaluate on ``data``: ``pos (n, 3)``; optional ``x (n, irreps_in.dim)``, ``z (n,
        irreps_node_attr.dim)``,
        ``batch (n,)`` graph indices; and (an extension) ``edge_src``/``edge_dst`` to skip the radius graph.

        Returns ``(n_graphs, irreps_out.dim)`` if ``reduce_output`` else ``(n, irreps_out.dim)``.
        """
        if "pos" not in data:
            raise ValueError("Network: expected the input dict to have 'pos' (n, 3)")
        pos = data["pos"]
        batch = data["batch"] if "batch" in data else pos.new_zeros(pos.shape[0], dtype=torch.long)
        if "edge_src" in data and "edge_dst" in data:
            edge_src, edge_dst = data["edge_src"], data["edge_dst"]
        else:
            edge_src, edge_dst = radius_graph(pos, self.max_radius, batch)
        edge_vec = pos[edge_src] - pos[edge_dst]
        edge_sh = o3.spherical_harmonics(self.irreps_edge_attr, edge_vec, True, normalization="component")
        edge_length = edge_vec.norm(dim=1)
        edge_length_embedded = soft_one_hot_linspace(
            edge_length,
            start=0.0,
            end=self.max_radius,
            number=self.number_of_basis,
            basis="gaussian",
            cutoff=False,
        ).mul(self.number_of_basis**0.5)
        edge_attr = smooth_cutoff(edge_length / self.max_radius)[:, None] * edge_sh
        if self.input_has_node_in:
            if "x" not in data:
                raise ValueError(f"Network: irreps_in is {self.irreps_in}, so the input dict needs 'x'")
            x = data["x"]
        else:
            x = pos.new_ones((pos.shape[0], 1))
        if self.input_has_node_attr:
            if "z" not in data:
                raise ValueError(
                    f"Network: irreps_node_attr is {self.irreps_node_attr}, so the input dict needs 'z'"
                )
            z = data["z"]
        else:
            z = pos.new_ones((pos.shape[0], 1))
        for layer in self.layers:
            x = layer(x, z, edge_src, edge_dst, edge_attr, edge_length_embedded)
        if not self.reduce_output:
            return x
        num_graphs = int(batch.max()) + 1 if batch.numel() > 0 else 1
        out = torch.zeros(num_graphs, x.shape[1], dtype=x.dtype, device=x.device).index_add(0, batch, x)
        return out.div(self.num_nodes**0.5)
