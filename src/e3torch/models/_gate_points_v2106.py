"""e3nn's ``nn.models.v2106`` networks (June 2021): interfaces, state dicts and numbers of e3nn 0.6.0.

- :class:`Convolution` (e3nn's ``v2106.points_convolution``): self-connection plus a gated point convolution whose
  mixing coefficient ``alpha`` is a learned scalar of each node, initialised to 0 (so the network starts as its
  self-connections), as e3nn does after `arXiv:2002.10444 <https://arxiv.org/abs/2002.10444>`_;
- :class:`MessagePassing` (``v2106.gate_points_message_passing``): convolutions and gates through a sequence of
  irreps;
- :class:`SimpleNetwork` and :class:`NetworkForAGraphWithAttributes` (``v2106.gate_points_networks``): point
  clouds to (pooled) features, edges within ``max_radius``, lengths embedded with 10 ``smooth_finite`` bases.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from e3torch import nn as e3nn_nn
from e3torch import o3
from e3torch.math import soft_one_hot_linspace
from e3torch.models._gate_points import (
    ACT_GATES,
    ACT_SCALARS,
    convolution_parts,
    radius_graph,
    scatter,
    tp_path_exists,
    uvu_tensor_product,
)

__all__ = [
    "Compose",
    "Convolution",
    "MessagePassing",
    "NetworkForAGraphWithAttributes",
    "SimpleNetwork",
    "radius_graph",
    "scatter",
    "tp_path_exists",
]

_SCALAR_EVEN = o3.Irrep("0e")


class Convolution(torch.nn.Module):
    """Point convolution ``sc(x, z) + alpha(h, z) lin2(h, z)``, ``h = sum_nbr tp(lin1(x, z), attr, fc(s))``.

    ``s`` are the scalar edge features; the tensor product keeps the paths to ``irreps_node_output`` and to
    ``0e`` (for ``alpha``). ``alpha`` is a scalar per node, its weights start at zero; output channels the
    self-connection cannot reach use coefficient 1 instead. Submodules (state-dict keys): ``sc``, ``lin1``,
    ``fc``, ``tp``, ``lin2``, ``alpha``.

    Parameters
    ----------
    irreps_node_input : Irreps
        Input node features.
    irreps_node_attr : Irreps
        Node attributes.
    irreps_edge_attr : Irreps
        Edge attributes.
    irreps_node_output : Irreps
        Output node features.
    fc_neurons : sequence of int
        Input and hidden widths of the radial MLP (its output layer, the tensor-product weights, is added).
    num_neighbors : float
        Neighbour sums are divided by its square root.

    Raises
    ------
    ValueError
        When the edge tensor product produces nothing, or no ``0e`` can be made for ``alpha``.

    Examples
    --------
    >>> conv = Convolution("2x0e", "0e", "0e+1o", "3x1o", [4, 8], 2.0)
    >>> conv.tp.irreps_out, conv.fc.hs, float(conv.alpha.weight.detach().abs().sum())
    (2x0e+2x1o, [4, 8, 4], 0.0)
    """

    def __init__(
        self,
        irreps_node_input: Any,
        irreps_node_attr: Any,
        irreps_edge_attr: Any,
        irreps_node_output: Any,
        fc_neurons: Sequence[int],
        num_neighbors: float,
    ) -> None:
        super().__init__()
        self.irreps_node_input = o3.Irreps(irreps_node_input)
        self.irreps_node_attr = o3.Irreps(irreps_node_attr)
        self.irreps_edge_attr = o3.Irreps(irreps_edge_attr)
        self.irreps_node_output = o3.Irreps(irreps_node_output)
        self.num_neighbors = num_neighbors
        self.sc = o3.FullyConnectedTensorProduct(
            self.irreps_node_input, self.irreps_node_attr, self.irreps_node_output
        )
        self.lin1 = o3.FullyConnectedTensorProduct(
            self.irreps_node_input, self.irreps_node_attr, self.irreps_node_input
        )
        irreps_mid, instructions = uvu_tensor_product(
            self.irreps_node_input,
            self.irreps_edge_attr,
            lambda ir: ir in self.irreps_node_output or ir == _SCALAR_EVEN,
        )
        if irreps_mid.dim == 0:
            raise ValueError(
                f"Convolution: irreps_node_input={self.irreps_node_input} times irreps_edge_attr="
                f"{self.irreps_edge_attr} produces nothing in irreps_node_output={self.irreps_node_output} nor 0e"
            )
        tp = o3.TensorProduct(
            self.irreps_node_input,
            self.irreps_edge_attr,
            irreps_mid,
            instructions,
            internal_weights=False,
            shared_weights=False,
        )
        # fc before tp: e3nn registers them in this order (state-dict key order)
        self.fc = e3nn_nn.FullyConnectedNet(
            [int(n) for n in fc_neurons] + [tp.weight_numel], torch.nn.functional.silu
        )
        self.tp = tp
        self.lin2 = o3.FullyConnectedTensorProduct(irreps_mid, self.irreps_node_attr, self.irreps_node_output)
        # drawn like the other weights (same random stream as e3nn), then zeroed
        self.alpha = o3.FullyConnectedTensorProduct(irreps_mid, self.irreps_node_attr, "0e")
        with torch.no_grad():
            self.alpha.weight.zero_()
        if not bool(self.alpha.output_mask[0] == 1.0):
            raise ValueError(
                f"Convolution: irreps_mid={irreps_mid} and irreps_node_attr={self.irreps_node_attr} cannot make the "
                "0e scalar alpha (expected a 0e or 0o in both, of equal parity)"
            )

    def forward(
        self,
        node_input: torch.Tensor,
        node_attr: torch.Tensor,
        edge_src: torch.Tensor,
        edge_dst: torch.Tensor,
        edge_attr: torch.Tensor,
        edge_scalars: torch.Tensor,
    ) -> torch.Tensor:
        """``(n, irreps_node_input.dim)`` -> ``(n, irreps_node_output.dim)``; messages go from ``edge_src`` to
        ``edge_dst``."""
        self_part, h = convolution_parts(
            self, node_input, node_attr, edge_src, edge_dst, edge_attr, edge_scalars
        )
        conv = self.lin2(h, node_attr)
        mask = self.sc.output_mask
        alpha = (1 - mask) + self.alpha(h, node_attr) * mask
        return self_part + alpha * conv


class Compose(torch.nn.Module):
    """``second(first(*args))``: attributes ``first`` and ``second`` (e3nn's state-dict names).

    Examples
    --------
    >>> Compose(torch.nn.Identity(), torch.nn.Tanh())(torch.zeros(2)).tolist()
    [0.0, 0.0]
    """

    def __init__(self, first: torch.nn.Module, second: torch.nn.Module) -> None:
        super().__init__()
        self.first = first
        self.second = second

    def forward(self, *args: torch.Tensor) -> torch.Tensor:
        """``second(first(*args))``."""
        return self.second(self.first(*args))


class MessagePassing(torch.nn.Module):
    """Gated :class:`Convolution` layers taking node features through ``irreps_node_sequence``.

    Each hidden entry of the sequence becomes a convolution and a gate: its scalars that the previous features
    and the edge attributes can reach (silu / tanh by parity), and its reachable ``l > 0`` irreps, each gated by
    a ``0e`` (sigmoid) or, if no ``0e`` is reachable, a ``0o`` (tanh) scalar. A last convolution gives the last
    entry.

    Parameters
    ----------
    irreps_node_sequence : sequence of Irreps
        Input, hidden and output node features (at least one entry).
    irreps_node_attr : Irreps
        Node attributes.
    irreps_edge_attr : Irreps
        Edge attributes.
    fc_neurons : sequence of int
        Input and hidden widths of the radial MLPs.
    num_neighbors : float
        Typical number of neighbours (normalises neighbour sums).

    Attributes
    ----------
    irreps_node_sequence : list of Irreps
        The features actually produced (the input, each gate's output, the output).
    irreps_node_input, irreps_node_output : Irreps
        First and last of them.

    Raises
    ------
    ValueError
        When the sequence is empty, or gated irreps cannot get gates.

    Examples
    --------
    >>> mp = MessagePassing(["0e", "4x0e+2x1o+2x2e", "1o"], "0e", "0e+1o", [3, 8], 2.0)
    >>> mp.irreps_node_sequence
    [1x0e, 4x0e+2x1o, 1x1o]
    """

    def __init__(
        self,
        irreps_node_sequence: Sequence[Any],
        irreps_node_attr: Any,
        irreps_edge_attr: Any,
        fc_neurons: Sequence[int],
        num_neighbors: float,
    ) -> None:
        super().__init__()
        self.num_neighbors = num_neighbors
        sequence = [o3.Irreps(irreps) for irreps in irreps_node_sequence]
        if not sequence:
            raise ValueError(
                "MessagePassing: expected irreps_node_sequence with at least one Irreps, got none"
            )
        self.irreps_node_attr = o3.Irreps(irreps_node_attr)
        self.irreps_edge_attr = o3.Irreps(irreps_edge_attr)
        conv_args = (self.irreps_node_attr, self.irreps_edge_attr)

        self.layers = torch.nn.ModuleList()
        irreps_node = sequence[0]
        self.irreps_node_sequence = [irreps_node]
        for irreps_hidden in sequence[1:-1]:
            gate = _gate(irreps_hidden, irreps_node, self.irreps_edge_attr)
            conv = Convolution(irreps_node, *conv_args, gate.irreps_in, fc_neurons, num_neighbors)
            self.layers.append(Compose(conv, gate))
            irreps_node = gate.irreps_out
            self.irreps_node_sequence.append(irreps_node)
        self.layers.append(Convolution(irreps_node, *conv_args, sequence[-1], fc_neurons, num_neighbors))
        self.irreps_node_sequence.append(sequence[-1])
        self.irreps_node_input = self.irreps_node_sequence[0]
        self.irreps_node_output = self.irreps_node_sequence[-1]

    def forward(
        self,
        node_features: torch.Tensor,
        node_attr: torch.Tensor,
        edge_src: torch.Tensor,
        edge_dst: torch.Tensor,
        edge_attr: torch.Tensor,
        edge_scalars: torch.Tensor,
    ) -> torch.Tensor:
        """``(n, irreps_node_input.dim)`` -> ``(n, irreps_node_output.dim)``."""
        for layer in self.layers:
            node_features = layer(node_features, node_attr, edge_src, edge_dst, edge_attr, edge_scalars)
        return node_features


def _gate(irreps_hidden: o3.Irreps, irreps_node: o3.Irreps, irreps_edge_attr: o3.Irreps) -> e3nn_nn.Gate:
    """The gate of a :class:`MessagePassing` layer (scalars and gates simplified, as in e3nn)."""

    def reachable(ir: Any) -> bool:
        return tp_path_exists(irreps_node, irreps_edge_attr, ir)

    scalars = o3.Irreps([(m, ir) for m, ir in irreps_hidden if ir.l == 0 and reachable(ir)]).simplify()
    gated = o3.Irreps([(m, ir) for m, ir in irreps_hidden if ir.l > 0 and reachable(ir)])
    ir_gate: str | None = None
    if gated.dim > 0:
        ir_gate = next((ir for ir in ("0e", "0o") if reachable(ir)), None)
        if ir_gate is None:
            raise ValueError(
                f"irreps_node={irreps_node} times irreps_edge_attr={irreps_edge_attr} is unable to produce gates "
                f"(0e or 0o) needed for irreps_gated={gated}"
            )
    gates = o3.Irreps([(m, ir_gate) for m, _ in gated]).simplify()
    return e3nn_nn.Gate(
        scalars, [ACT_SCALARS[ir.p] for _, ir in scalars], gates, [ACT_GATES[ir.p] for _, ir in gates], gated
    )


def _hidden_irreps(mul: int, lmax: int) -> o3.Irreps:
    """``mul`` copies of every ``(l, p)``, ``l <= lmax``, odd before even."""
    return o3.Irreps([(mul, (l, p)) for l in range(lmax + 1) for p in (-1, 1)])


def _graph(
    data: dict[str, torch.Tensor], max_radius: float, use_edge_index: bool
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``batch, edge_src, edge_dst, edge_vec`` of ``data`` (edges from ``data["edge_index"]`` if allowed)."""
    if "pos" not in data:
        raise KeyError("expected the input dict to have 'pos' (n, 3)")
    pos = data["pos"]
    batch = data["batch"] if "batch" in data else pos.new_zeros(pos.shape[0], dtype=torch.long)
    if use_edge_index and "edge_index" in data:
        edge_src, edge_dst = data["edge_index"][0], data["edge_index"][1]
    else:
        edge_src, edge_dst = radius_graph(pos, max_radius, batch)
    return batch, edge_src, edge_dst, pos[edge_src] - pos[edge_dst]


class _PointsNetwork(torch.nn.Module):
    """What both v2106 networks share: the length embedding and the pooling."""

    lmax: int
    max_radius: float
    number_of_basis: int
    num_nodes: float
    pool_nodes: bool
    mp: MessagePassing

    def _embed_length(self, edge_vec: torch.Tensor) -> torch.Tensor:
        # smooth_finite with cutoff=True vanishes at max_radius: no separate smooth cutoff
        return soft_one_hot_linspace(
            edge_vec.norm(dim=1),
            0.0,
            self.max_radius,
            self.number_of_basis,
            basis="smooth_finite",
            cutoff=True,
        ).mul(self.number_of_basis**0.5)

    def _pool(self, node_outputs: torch.Tensor, batch: torch.Tensor) -> torch.Tensor:
        if not self.pool_nodes:
            return node_outputs
        return scatter(node_outputs, batch, int(batch.max()) + 1).div(self.num_nodes**0.5)


class SimpleNetwork(_PointsNetwork):
    """e3nn's ``v2106.gate_points_networks.SimpleNetwork``: node features of a point cloud to (pooled) outputs.

    Edges join points within ``max_radius`` (per graph); their attributes are the spherical harmonics up to
    ``lmax``, the radial MLPs (``[10, 100]`` hidden) read 10 ``smooth_finite`` bases of the length. There are no
    node attributes (the constant ``0e``).

    Parameters
    ----------
    irreps_in, irreps_out : Irreps
        Input and output node features.
    max_radius : float
        Convolution radius.
    num_neighbors : float
        Typical number of neighbours.
    num_nodes : float
        Typical number of nodes of a graph (the pooled sum is divided by its square root).
    mul : int
        Multiplicity of each hidden irrep ``(l, p)``, ``l <= lmax``.
    layers : int
        Number of gated layers.
    lmax : int
        Largest ``l`` of the hidden features and the edge spherical harmonics.
    pool_nodes : bool
        Sum the node outputs per graph; otherwise return them per node.

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> net = SimpleNetwork("2x0e", "1x1o", max_radius=2.0, num_neighbors=3.0, num_nodes=4.0, mul=4, layers=1)
    >>> net({"pos": torch.randn(4, 3), "x": torch.randn(4, 2)}).shape
    torch.Size([1, 3])
    """

    def __init__(
        self,
        irreps_in: Any,
        irreps_out: Any,
        max_radius: float,
        num_neighbors: float,
        num_nodes: float,
        mul: int = 50,
        layers: int = 3,
        lmax: int = 2,
        pool_nodes: bool = True,
    ) -> None:
        super().__init__()
        _check_sizes(mul, layers, lmax, max_radius)
        self.lmax = lmax
        self.max_radius = max_radius
        self.number_of_basis = 10
        self.num_nodes = num_nodes
        self.pool_nodes = pool_nodes
        self.mp = MessagePassing(
            irreps_node_sequence=[irreps_in] + layers * [_hidden_irreps(mul, lmax)] + [irreps_out],
            irreps_node_attr="0e",
            irreps_edge_attr=o3.Irreps.spherical_harmonics(lmax),
            fc_neurons=[self.number_of_basis, 100],
            num_neighbors=num_neighbors,
        )
        self.irreps_in = self.mp.irreps_node_input
        self.irreps_out = self.mp.irreps_node_output

    def preprocess(
        self, data: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(batch, x, edge_src, edge_dst, edge_vec)`` from ``data`` (``pos``, ``x``, optional ``batch``)."""
        batch, edge_src, edge_dst, edge_vec = _graph(data, self.max_radius, use_edge_index=False)
        if "x" not in data:
            raise KeyError(f"SimpleNetwork: expected the input dict to have 'x' (n, {self.irreps_in.dim})")
        return batch, data["x"], edge_src, edge_dst, edge_vec

    def forward(self, data: dict[str, torch.Tensor]) -> torch.Tensor:
        """``(n_graphs, irreps_out.dim)`` if ``pool_nodes`` else ``(n, irreps_out.dim)``."""
        batch, node_inputs, edge_src, edge_dst, edge_vec = self.preprocess(data)
        edge_attr = o3.spherical_harmonics(range(self.lmax + 1), edge_vec, True, normalization="component")
        node_attr = node_inputs.new_ones(node_inputs.shape[0], 1)
        out = self.mp(node_inputs, node_attr, edge_src, edge_dst, edge_attr, self._embed_length(edge_vec))
        return self._pool(out, batch)


class NetworkForAGraphWithAttributes(_PointsNetwork):
    """e3nn's ``v2106.gate_points_networks.NetworkForAGraphWithAttributes``: node and edge attributes given.

    As :class:`SimpleNetwork`, but with node attributes and edge attributes from the data; the edge attributes
    the convolutions see are ``data["edge_attr"]`` followed by the spherical harmonics up to ``lmax``. Edges
    come from ``data["edge_index"]`` if present, else from the radius graph.

    Parameters
    ----------
    irreps_node_input, irreps_node_attr, irreps_edge_attr, irreps_node_output : Irreps
        Input node features, node attributes, given edge attributes, output node features.
    max_radius, num_neighbors, num_nodes : float
        As in :class:`SimpleNetwork`.
    mul, layers, lmax : int
        As in :class:`SimpleNetwork`.
    pool_nodes : bool
        Sum the node outputs per graph; otherwise return them per node.

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> net = NetworkForAGraphWithAttributes("2x0e", "0e+1o", "1e", "0o", max_radius=2.0, num_neighbors=2.0,
    ...                                      num_nodes=3.0, mul=3, layers=1, lmax=1)
    >>> net.mp.irreps_edge_attr
    1x1e+1x0e+1x1o
    >>> data = {"pos": torch.randn(3, 3), "edge_index": torch.tensor([[0, 1, 2], [1, 2, 0]]),
    ...         "x": torch.randn(3, 2), "node_attr": torch.randn(3, 4), "edge_attr": torch.randn(3, 3)}
    >>> net(data).shape
    torch.Size([1, 1])
    """

    def __init__(
        self,
        irreps_node_input: Any,
        irreps_node_attr: Any,
        irreps_edge_attr: Any,
        irreps_node_output: Any,
        max_radius: float,
        num_neighbors: float,
        num_nodes: float,
        mul: int = 50,
        layers: int = 3,
        lmax: int = 2,
        pool_nodes: bool = True,
    ) -> None:
        super().__init__()
        _check_sizes(mul, layers, lmax, max_radius)
        self.lmax = lmax
        self.max_radius = max_radius
        self.number_of_basis = 10
        self.num_nodes = num_nodes
        self.irreps_edge_attr = o3.Irreps(irreps_edge_attr)
        self.pool_nodes = pool_nodes
        self.mp = MessagePassing(
            irreps_node_sequence=[irreps_node_input]
            + layers * [_hidden_irreps(mul, lmax)]
            + [irreps_node_output],
            irreps_node_attr=irreps_node_attr,
            irreps_edge_attr=self.irreps_edge_attr + o3.Irreps.spherical_harmonics(lmax),
            fc_neurons=[self.number_of_basis, 100],
            num_neighbors=num_neighbors,
        )
        self.irreps_node_input = self.mp.irreps_node_input
        self.irreps_node_attr = self.mp.irreps_node_attr
        self.irreps_node_output = self.mp.irreps_node_output

    def preprocess(
        self, data: dict[str, torch.Tensor]
    ) -> tuple[
        torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor
    ]:
        """``(batch, node_input, node_attr, edge_attr, edge_src, edge_dst, edge_vec)`` from ``data``.

        ``data`` has ``pos``, ``x`` (or ``node_input``), ``node_attr``, ``edge_attr`` and optionally ``batch``
        and ``edge_index``.
        """
        batch, edge_src, edge_dst, edge_vec = _graph(data, self.max_radius, use_edge_index=True)
        for key in ("node_attr", "edge_attr"):
            if key not in data:
                raise KeyError(f"NetworkForAGraphWithAttributes: expected the input dict to have {key!r}")
        if "x" in data:
            node_input = data["x"]
        elif "node_input" in data:
            node_input = data["node_input"]
        else:
            raise KeyError(
                "NetworkForAGraphWithAttributes: expected the input dict to have 'x' or 'node_input'"
            )
        return batch, node_input, data["node_attr"], data["edge_attr"], edge_src, edge_dst, edge_vec

    def forward(self, data: dict[str, torch.Tensor]) -> torch.Tensor:
        """``(n_graphs, irreps_node_output.dim)`` if ``pool_nodes`` else ``(n, irreps_node_output.dim)``."""
        batch, node_input, node_attr, edge_attr, edge_src, edge_dst, edge_vec = self.preprocess(data)
        edge_sh = o3.spherical_harmonics(range(self.lmax + 1), edge_vec, True, normalization="component")
        edge_attr = torch.cat([edge_attr, edge_sh], dim=1)
        out = self.mp(node_input, node_attr, edge_src, edge_dst, edge_attr, self._embed_length(edge_vec))
        return self._pool(out, batch)


def _check_sizes(mul: int, layers: int, lmax: int, max_radius: float) -> None:
    for name, value in (("mul", mul), ("layers", layers), ("lmax", lmax)):
        if isinstance(value, bool) or int(value) != value or value < 0:
            raise ValueError(f"{name}: expected an integer >= 0, got {value!r}")
    if not max_radius > 0:
        raise ValueError(f"max_radius: expected a positive number, got {max_radius!r}")
