"""``e3nn.nn.models.v2106.gate_points_networks`` on e3torch: :class:`SimpleNetwork`,
:class:`NetworkForAGraphWithAttributes` and e3nn's two smoke tests of them.

Filled from :data:`e3torch.compat._table.TABLE`.

>>> from e3torch.compat.nn.models.v2106 import gate_points_networks as m
>>> m.SimpleNetwork.__module__
'e3torch.models._gate_points_v2106'
"""

from __future__ import annotations

import torch

from e3torch.compat._export import export

__all__ = ["test_network_for_a_graph_with_attributes", "test_simple_network"]


def test_simple_network() -> None:
    """Run a default-sized :class:`SimpleNetwork` (``3x0e + 2x1o`` -> ``4x0e + 1x1o``) on 5 random points.

    Raises
    ------
    AssertionError
        When the pooled output does not have shape ``(1, 7)``.

    Examples
    --------
    >>> test_simple_network()
    """
    from e3torch.models._gate_points_v2106 import SimpleNetwork

    net = SimpleNetwork("3x0e + 2x1o", "4x0e + 1x1o", max_radius=2.0, num_neighbors=3.0, num_nodes=5.0)
    out = net({"pos": torch.randn(5, 3), "x": net.irreps_in.randn(5, -1)})
    if out.shape != (1, net.irreps_out.dim):
        raise AssertionError(f"expected an output of shape (1, {net.irreps_out.dim}), got {tuple(out.shape)}")


def test_network_for_a_graph_with_attributes() -> None:
    """Run a default-sized :class:`NetworkForAGraphWithAttributes` on a 3-cycle with random attributes.

    Raises
    ------
    AssertionError
        When the pooled output does not have shape ``(1, 6)``.

    Examples
    --------
    >>> test_network_for_a_graph_with_attributes()
    """
    from e3torch.models._gate_points_v2106 import NetworkForAGraphWithAttributes

    net = NetworkForAGraphWithAttributes(
        "3x0e + 2x1o", "4x0e + 1x1o", "1e", "3x0o + 1e", max_radius=2.0, num_neighbors=3.0, num_nodes=5.0
    )
    out = net(
        {
            "pos": torch.randn(3, 3),
            "edge_index": torch.tensor([[0, 1, 2], [1, 2, 0]]),
            "node_input": net.irreps_node_input.randn(3, -1),
            "node_attr": net.irreps_node_attr.randn(3, -1),
            "edge_attr": net.irreps_edge_attr.randn(3, -1),
        }
    )
    if out.shape != (1, net.irreps_node_output.dim):
        raise AssertionError(
            f"expected an output of shape (1, {net.irreps_node_output.dim}), got {tuple(out.shape)}"
        )


__all__ += export(globals())
