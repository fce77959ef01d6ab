"""``e3nn.nn.models.v2106.gate_points_message_passing`` on e3torch: :class:`MessagePassing` and its self-test.

Filled from :data:`e3torch.compat._table.TABLE`; :func:`test` is e3nn's smoke test of the module, rewritten on
e3torch's testing helpers.

>>> test()
"""

from __future__ import annotations

import torch

from e3torch.compat._export import export

__all__ = ["test"]


def test() -> None:
    """Build a small :class:`MessagePassing` (``0e`` -> ``1e`` through three ``0e + 1e`` layers, node and edge
    attributes ``0e + 1e``), run it on 4 random points and check its output shape and its equivariance.

    e3nn's version also scripts the first convolution with TorchScript (``assert_auto_jitable``); e3torch modules
    have no TorchScript path (``e3nn.util.jit.compile`` is a no-op here), so that step is left out.

    Raises
    ------
    AssertionError
        When the shape is wrong or the equivariance error exceeds the tolerance of torch's default dtype.

    Examples
    --------
    >>> test()
    """
    from e3torch import o3
    from e3torch.models._gate_points_v2106 import MessagePassing, radius_graph
    from e3torch.util.test import assert_equivariant

    mp = MessagePassing(
        irreps_node_sequence=["0e", "0e + 1e", "0e + 1e", "0e + 1e", "1e"],
        irreps_node_attr="0e + 1e",
        irreps_edge_attr="0e + 1e",
        fc_neurons=[2, 100],
        num_neighbors=3.0,
    )
    num_nodes = 4
    pos = torch.randn(num_nodes, 3)
    edge_src, edge_dst = radius_graph(pos, 3.0)
    edge_attr = o3.spherical_harmonics([0, 1], pos[edge_src] - pos[edge_dst], True, normalization="component")
    args = [
        torch.randn(num_nodes, 1),
        torch.randn(num_nodes, 4),
        edge_src,
        edge_dst,
        edge_attr,
        torch.randn(edge_src.shape[0], 2),
    ]
    out = mp(*args)
    if out.shape != (num_nodes, 3):
        raise AssertionError(f"expected an output of shape ({num_nodes}, 3), got {tuple(out.shape)}")
    assert_equivariant(
        mp,
        args_in=args,
        irreps_in=[mp.irreps_node_input, mp.irreps_node_attr, None, None, mp.irreps_edge_attr, None],
        irreps_out=[mp.irreps_node_output],
    )


__all__ += export(globals())
