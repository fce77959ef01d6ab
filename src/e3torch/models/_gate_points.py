"""The gated point-convolution network of e3nn's ``gate_points_2101``: same interface, numbers, state dict.

Edges join points closer than ``max_radius`` (within one graph of the batch). Edge attributes are
``smooth_cutoff(r / max_radius) * Y(r_vec / r)``; edge lengths are embedded with ``number_of_basis``
Gaussians. Each layer is a convolution (self-connection + linear + ``uvu`` tensor product with radial-MLP
weights + linear, mixed as ``sin(pi/8) * self + cos(pi/8) * conv``) followed by a gate; a last convolution
gives ``irreps_out``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

from e3torch import nn as e3nn_nn
from e3torch import o3
from e3torch.math import soft_one_hot_linspace

__all__ = [
    "Compose",
    "Convolution",
    "Network",
    "convolution_parts",
    "edge_embedding",
    "radius_graph",
    "scatter",
    "smooth_cutoff",
    "tp_path_exists",
    "uvu_tensor_product",
]


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


def scatter(src: torch.Tensor, index: torch.Tensor, dim_size: int) -> torch.Tensor:
    """Sum the rows of a 2-d ``src`` into ``dim_size`` rows: ``out[index[i]] += src[i]``.

    Parameters
    ----------
    src : torch.Tensor
        ``(n, d)``.
    index : torch.Tensor
        ``(n,)`` integers in ``[0, dim_size)``.
    dim_size : int
        Number of output rows.

    Returns
    -------
    torch.Tensor
        ``(dim_size, d)``.

    Raises
    ------
    ValueError
        When ``src`` is not 2-d or ``index`` does not have one entry per row of ``src``.

    Examples
    --------
    >>> scatter(torch.tensor([[1.0], [2.0], [4.0]]), torch.tensor([1, 1, 0]), 3).tolist()
    [[4.0], [3.0], [0.0]]
    """
    if src.dim() != 2:
        raise ValueError(f"scatter: expected a 2-d src (n, d), got shape {tuple(src.shape)}")
    if index.shape != src.shape[:1]:
        raise ValueError(
            f"scatter: expected index of shape ({src.shape[0]},) (one per row of src), got {tuple(index.shape)}"
        )
    return src.new_zeros(int(dim_size), src.shape[1]).index_add(0, index, src)


def radius_graph(pos: torch.Tensor, r_max: float, batch: torch.Tensor | None = None) -> torch.Tensor:
    """Ordered pairs ``(a, b)`` of points of the same graph at a distance ``0 < |pos[a] - pos[b]| < r_max``.

    As in e3nn, coincident points (distance exactly 0) are not joined. The distances are computed directly (not
    through torch's matrix-product shortcut for ``cdist``, which e3nn gets for more than 25 points): that shortcut
    can leave a small nonzero distance between a point and itself in float32, and so join a point to itself.

    Parameters
    ----------
    pos : torch.Tensor
        ``(n, 3)`` positions.
    r_max : float
        Cutoff radius.
    batch : torch.Tensor, optional
        ``(n,)`` graph index of each point; ``None``: all points in one graph.

    Returns
    -------
    torch.Tensor
        ``(2, n_edges)`` int64, sorted by the first index then the second.

    Examples
    --------
    >>> pos = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.5, 0.0]])
    >>> radius_graph(pos, 1.2).tolist()
    [[0, 1], [1, 0]]
    >>> radius_graph(pos, 2.0, torch.tensor([0, 0, 1])).tolist()
    [[0, 1], [1, 0]]
    """
    if pos.dim() != 2:
        raise ValueError(f"radius_graph: expected pos of shape (n, 3), got {tuple(pos.shape)}")
    r = torch.cdist(pos.detach(), pos.detach(), compute_mode="donot_use_mm_for_euclid_dist")
    mask = (r < r_max) & (r > 0)
    if batch is not None:
        if batch.shape != pos.shape[:1]:
            raise ValueError(
                f"radius_graph: expected batch of shape ({pos.shape[0]},) (one per point), got {tuple(batch.shape)}"
            )
        mask &= batch[:, None] == batch[None, :]
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


#: activations of the gated networks, by parity of the scalar they act on.
ACT_SCALARS = {1: torch.nn.functional.silu, -1: torch.tanh}
ACT_GATES = {1: torch.sigmoid, -1: torch.tanh}


def uvu_tensor_product(
    irreps_in: o3.Irreps, irreps_edge_attr: o3.Irreps, keep: Any
) -> tuple[o3.Irreps, list[tuple[int, int, int, str, bool]]]:
    """The sorted middle irreps and ``uvu`` instructions of a point convolution's edge tensor product.

    Every path ``irreps_in[i] x irreps_edge_attr[j] -> ir`` with ``keep(ir)`` true gets its own output block of the
    multiplicity of ``irreps_in[i]``; the blocks are then sorted by irrep (stably) and the instructions renumbered.

    Parameters
    ----------
    irreps_in, irreps_edge_attr : Irreps
        The node features and the edge attributes.
    keep : callable
        ``Irrep -> bool``: which product irreps to keep.

    Returns
    -------
    tuple
        ``(irreps_mid, instructions)`` for :class:`~e3torch.o3.TensorProduct` (trainable, per-edge weights).

    Examples
    --------
    >>> mid, ins = uvu_tensor_product(o3.Irreps("2x1o"), o3.Irreps("0e+1o"), lambda ir: ir.l <= 1)
    >>> mid, ins
    (2x0e+2x1o+2x1e, [(0, 0, 1, 'uvu', True), (0, 1, 0, 'uvu', True), (0, 1, 2, 'uvu', True)])
    """
    blocks: list[tuple[int, o3.Irrep]] = []
    paths: list[tuple[int, int]] = []
    for i, (mul, ir_in) in enumerate(irreps_in):
        for j, (_, ir_edge) in enumerate(irreps_edge_attr):
            for ir in ir_in * ir_edge:
                if keep(ir):
                    paths.append((i, j))
                    blocks.append((mul, ir))
    irreps_mid, perm, _ = o3.Irreps(blocks).sort()
    return irreps_mid, [(i, j, perm[k], "uvu", True) for k, (i, j) in enumerate(paths)]


def _gate(irreps_hidden: Sequence[Any], irreps: o3.Irreps, irreps_edge_attr: o3.Irreps) -> e3nn_nn.Gate:
    """The gate of the 2101/2102 networks: the reachable hidden scalars and gated irreps, one gate per gated."""
    scalars = o3.Irreps(
        [(m, ir) for m, ir in irreps_hidden if ir.l == 0 and tp_path_exists(irreps, irreps_edge_attr, ir)]
    )
    gated = o3.Irreps(
        [(m, ir) for m, ir in irreps_hidden if ir.l > 0 and tp_path_exists(irreps, irreps_edge_attr, ir)]
    )
    ir_gate = "0e" if tp_path_exists(irreps, irreps_edge_attr, "0e") else "0o"
    gates = o3.Irreps([(m, ir_gate) for m, _ in gated])
    return e3nn_nn.Gate(
        scalars, [ACT_SCALARS[ir.p] for _, ir in scalars], gates, [ACT_GATES[ir.p] for _, ir in gates], gated
    )


def edge_embedding(
    pos: torch.Tensor,
    edge_src: torch.Tensor,
    edge_dst: torch.Tensor,
    irreps_edge_attr: o3.Irreps,
    max_radius: float,
    number_of_basis: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The edge attributes and embedded edge lengths of the 2101/2102 networks.

    Returns ``smooth_cutoff(r / max_radius) * Y(r_vec)`` (component-normalized spherical harmonics of
    ``pos[edge_src] - pos[edge_dst]``) and its length in ``number_of_basis`` Gaussians, times
    ``sqrt(number_of_basis)``.

    Examples
    --------
    >>> pos = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    >>> attr, emb = edge_embedding(pos, torch.tensor([0]), torch.tensor([1]), o3.Irreps("0e+1o"), 3.0, 4)
    >>> attr.shape, emb.shape
    (torch.Size([1, 4]), torch.Size([1, 4]))
    """
    edge_vec = pos[edge_src] - pos[edge_dst]
    edge_sh = o3.spherical_harmonics(irreps_edge_attr, edge_vec, True, normalization="component")
    edge_length = edge_vec.norm(dim=1)
    embedded = soft_one_hot_linspace(
        edge_length, 0.0, max_radius, number_of_basis, basis="gaussian", cutoff=False
    ).mul(number_of_basis**0.5)
    return smooth_cutoff(edge_length / max_radius)[:, None] * edge_sh, embedded


def convolution_parts(
    conv: torch.nn.Module,
    node_input: torch.Tensor,
    node_attr: torch.Tensor,
    edge_src: torch.Tensor,
    edge_dst: torch.Tensor,
    edge_attr: torch.Tensor,
    edge_scalars: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(sc(x, z), sum_nbr tp(lin1(x, z)[src], attr, fc(scalars)) / sqrt(num_neighbors))``.

    The common part of the point convolutions of e3nn's 2101, 2102 and v2106 networks (each applies ``lin2`` to
    the aggregated messages and mixes the two its own way); ``conv`` has their submodules ``sc``, ``lin1``, ``fc``
    and ``tp``, and ``num_neighbors``.

    Examples
    --------
    >>> conv = Convolution("2x0e", "1x0e", "0e", "2x0e", 3, 1, 4, 1.0)
    >>> z = torch.ones(2, 1)
    >>> s, c = convolution_parts(conv, torch.randn(2, 2), z, torch.tensor([0]), torch.tensor([1]),
    ...                          torch.ones(1, 1), torch.randn(1, 3))
    >>> s.shape, c.shape  # c: aggregated messages, in conv.tp.irreps_out
    (torch.Size([2, 2]), torch.Size([2, 2]))
    """
    weight = conv.fc(edge_scalars)
    self_part = conv.sc(node_input, node_attr)
    h = conv.lin1(node_input, node_attr)
    messages = conv.tp(h[edge_src], edge_attr, weight)
    return self_part, scatter(messages, edge_dst, node_input.shape[0]).div(conv.num_neighbors**0.5)


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
        s, h = convolution_parts(
            self, node_input, node_attr, edge_src, edge_dst, edge_attr, edge_length_embedded
        )
        conv = self.lin2(h, node_attr)
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
        self.layers = torch.nn.ModuleList()
        for _ in range(int(layers)):
            gate = _gate(self.irreps_hidden, irreps, self.irreps_edge_attr)
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
        edge_attr, edge_length_embedded = edge_embedding(
            pos, edge_src, edge_dst, self.irreps_edge_attr, self.max_radius, self.number_of_basis
        )
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
        return scatter(x, batch, num_graphs).div(self.num_nodes**0.5)
