"""e3torch's ``nn.models.v2106`` networks against e3nn 0.6.0's: state dicts, seeded weights, outputs, gradients."""

from __future__ import annotations

import pytest
import torch

e3nn_pc = pytest.importorskip("e3nn.nn.models.v2106.points_convolution")
e3nn_mp = pytest.importorskip("e3nn.nn.models.v2106.gate_points_message_passing")
e3nn_nw = pytest.importorskip("e3nn.nn.models.v2106.gate_points_networks")

from e3torch import o3
from e3torch.models import _gate_points_v2106 as ours
from e3torch.util.test import assert_equivariant

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")


@pytest.fixture(autouse=True)
def _float64():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def _build(name, *args, **kwargs):
    """e3nn's and e3torch's ``name``, each built right after ``torch.manual_seed(0)``."""
    modules = {
        "Convolution": (e3nn_pc.Convolution, ours.Convolution),
        "MessagePassing": (e3nn_mp.MessagePassing, ours.MessagePassing),
        "SimpleNetwork": (e3nn_nw.SimpleNetwork, ours.SimpleNetwork),
        "NetworkForAGraphWithAttributes": (
            e3nn_nw.NetworkForAGraphWithAttributes,
            ours.NetworkForAGraphWithAttributes,
        ),
    }
    pair = []
    for cls in modules[name]:
        torch.manual_seed(0)
        pair.append(cls(*args, **kwargs))
    return tuple(pair)


def _check_state_dicts(ref, mine):
    """Same keys in the same order, shapes and seeded values; strict loading both ways."""
    sd_ref, sd_ours = ref.state_dict(), mine.state_dict()
    assert list(sd_ours) == list(sd_ref)
    assert [v.shape for v in sd_ours.values()] == [v.shape for v in sd_ref.values()]
    for key in sd_ref:
        torch.testing.assert_close(sd_ours[key], sd_ref[key], atol=1e-12, rtol=0, msg=key)
    # random weights everywhere (alpha included, which both constructions zero), then strict both ways
    with torch.no_grad():
        for p in mine.parameters():
            p.copy_(torch.randn_like(p))
    ref.load_state_dict(mine.state_dict(), strict=True)
    mine.load_state_dict(ref.state_dict(), strict=True)
    for key, value in mine.state_dict().items():
        assert torch.equal(ref.state_dict()[key], value), key


def _check_outputs(ref, mine, call, inputs):
    """``call(module, inputs)`` agrees to 1e-10, and so do the gradients w.r.t. the floating inputs."""
    results = []
    for module in (ref, mine):
        leaves = {k: v.clone().requires_grad_(v.is_floating_point()) for k, v in inputs.items()}
        out = call(module, leaves)
        weights = torch.linspace(-1.0, 1.0, out.numel()).reshape(out.shape)
        grads = torch.autograd.grad((out * weights).sum(), [v for v in leaves.values() if v.requires_grad])
        results.append((out, grads))
    (out_ref, grads_ref), (out_ours, grads_ours) = results
    assert out_ours.shape == out_ref.shape
    assert out_ref.abs().max() > 1e-3
    torch.testing.assert_close(out_ours, out_ref, atol=1e-10, rtol=0)
    assert len(grads_ours) == len(grads_ref)
    for g_ours, g_ref in zip(grads_ours, grads_ref):
        torch.testing.assert_close(g_ours, g_ref, atol=1e-10, rtol=0)
    return out_ours


def _graph_inputs(n, irreps_x, irreps_attr, irreps_edge, n_scalars, seed=1):
    g = torch.Generator().manual_seed(seed)
    pos = 1.2 * torch.randn(n, 3, generator=g)
    edge_src, edge_dst = ours.radius_graph(pos, 2.5)
    return {
        "x": torch.randn(n, o3.Irreps(irreps_x).dim, generator=g),
        "attr": torch.randn(n, o3.Irreps(irreps_attr).dim, generator=g),
        "src": edge_src,
        "dst": edge_dst,
        "edge_attr": torch.randn(edge_src.shape[0], o3.Irreps(irreps_edge).dim, generator=g),
        "scalars": torch.randn(edge_src.shape[0], n_scalars, generator=g),
    }


def _call_tensors(module, t):
    return module(t["x"], t["attr"], t["src"], t["dst"], t["edge_attr"], t["scalars"])


CONV_CASES = {
    "vectors": ("2x0e+1x1o", "0e+1o", "0e+1o+2e", "3x0e+2x1o+1x2e", [3, 8], 2.0),
    "no_0e_output": ("1x0e+2x1o", "2x0e", "0e+1o", "2x1e+1x0o", [2], 3.0),
}


@pytest.mark.parametrize("case", sorted(CONV_CASES))
def test_convolution(case):
    args = CONV_CASES[case]
    ref, mine = _build("Convolution", *args)
    assert mine.tp.irreps_out == ref.tp.irreps_out
    _check_state_dicts(ref, mine)
    inputs = _graph_inputs(6, args[0], args[1], args[2], args[4][0])
    _check_outputs(ref, mine, _call_tensors, inputs)


MP_CASES = {
    # e3nn's own test sequence
    "e3nn_test": (["0e", "0e + 1e", "0e + 1e", "0e + 1e", "1e"], "0e + 1e", "0e + 1e", [2, 16], 3.0),
    # the hidden layer has no reachable 0e: gated by 0o scalars (tanh), no plain scalars
    "odd_gates": (["0o", "2x0e+2x1e", "1x0e+1x1o"], "0e+0o", "0e+1o+1e", [3], 2.0),
    "single": (["2x0e+1x1o"], "0e", "0e+1o", [2, 4], 2.0),
}


@pytest.mark.parametrize("case", sorted(MP_CASES))
def test_message_passing(case):
    sequence, attr, edge, fc, num_neighbors = MP_CASES[case]
    ref, mine = _build("MessagePassing", sequence, attr, edge, fc, num_neighbors)
    assert mine.irreps_node_sequence == ref.irreps_node_sequence
    assert (mine.irreps_node_input, mine.irreps_node_output) == (
        ref.irreps_node_input,
        ref.irreps_node_output,
    )
    _check_state_dicts(ref, mine)
    inputs = _graph_inputs(6, sequence[0], attr, edge, fc[0])
    _check_outputs(ref, mine, _call_tensors, inputs)
    if case == "e3nn_test":
        assert_equivariant(
            mine,
            args_in=[inputs[k] for k in ("x", "attr", "src", "dst", "edge_attr", "scalars")],
            irreps_in=[
                mine.irreps_node_input,
                mine.irreps_node_attr,
                None,
                None,
                mine.irreps_edge_attr,
                None,
            ],
            irreps_out=[mine.irreps_node_output],
            tolerance=1e-10,
        )


def _points(n=7, seed=2):
    g = torch.Generator().manual_seed(seed)
    return 1.2 * torch.randn(n, 3, generator=g), torch.tensor([0] * 4 + [1] * (n - 4))


@pytest.mark.parametrize("pool_nodes", [True, False])
def test_simple_network(pool_nodes):
    kwargs = {
        "max_radius": 2.0,
        "num_neighbors": 3.0,
        "num_nodes": 4.0,
        "mul": 3,
        "layers": 2,
        "lmax": 2,
        "pool_nodes": pool_nodes,
    }
    ref, mine = _build("SimpleNetwork", "2x0e+1x1o", "1x0e+1x1o+1x2e", **kwargs)
    assert (mine.irreps_in, mine.irreps_out) == (ref.irreps_in, ref.irreps_out)
    _check_state_dicts(ref, mine)
    pos, batch = _points()
    x = torch.randn(7, mine.irreps_in.dim, generator=torch.Generator().manual_seed(3))
    data = {"pos": pos, "x": x, "batch": batch}
    out = _check_outputs(ref, mine, lambda m, d: m(dict(d)), data)
    for mine_part, ref_part in zip(mine.preprocess(dict(data)), ref.preprocess(dict(data))):
        assert torch.equal(mine_part, ref_part)
    # rotation, inversion, translation
    torch.manual_seed(4)
    for rot in (o3.rand_matrix(), -o3.rand_matrix()):
        moved = {"pos": pos @ rot.T + torch.tensor([1.0, 0.5, -2.0]), "batch": batch}
        moved["x"] = x @ mine.irreps_in.D_from_matrix(rot).T
        expected = out @ mine.irreps_out.D_from_matrix(rot).T
        torch.testing.assert_close(mine(moved), expected, atol=1e-10, rtol=0)


@pytest.mark.parametrize("given_edges", [True, False])
def test_network_for_a_graph_with_attributes(given_edges):
    kwargs = {"max_radius": 2.0, "num_neighbors": 2.0, "num_nodes": 4.0, "mul": 3, "layers": 1, "lmax": 1}
    ref, mine = _build(
        "NetworkForAGraphWithAttributes", "2x0e+1x1o", "1x0e+1x1e", "1x0e+1x1o", "1x0o+1x1e", **kwargs
    )
    assert (mine.irreps_node_input, mine.irreps_node_attr, mine.irreps_node_output) == (
        ref.irreps_node_input,
        ref.irreps_node_attr,
        ref.irreps_node_output,
    )
    assert (
        mine.irreps_edge_attr == ref.irreps_edge_attr and mine.mp.irreps_edge_attr == ref.mp.irreps_edge_attr
    )
    _check_state_dicts(ref, mine)
    g = torch.Generator().manual_seed(5)
    pos, batch = _points()
    data = {"pos": pos, "batch": batch, "node_attr": torch.randn(7, 4, generator=g)}
    if given_edges:
        data["edge_index"] = torch.tensor([[0, 1, 2, 3, 4, 5, 6, 4], [1, 2, 3, 0, 5, 6, 4, 6]])
        data["node_input"] = torch.randn(7, 5, generator=g)
    else:
        data["x"] = torch.randn(7, 5, generator=g)
    n_edges = data["edge_index"].shape[1] if given_edges else ours.radius_graph(pos, 2.0, batch).shape[1]
    data["edge_attr"] = torch.randn(n_edges, 4, generator=g)
    _check_outputs(ref, mine, lambda m, d: m(dict(d)), data)


def test_helpers_match_e3nn():
    pos = torch.tensor([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.5, 0.0]])
    batch = torch.tensor([0, 0, 0, 1])
    assert torch.equal(ours.radius_graph(pos, 2.0), e3nn_mp.radius_graph(pos, 2.0))
    assert torch.equal(ours.radius_graph(pos, 2.0, batch), e3nn_nw.radius_graph(pos, 2.0, batch))
    src, index = torch.randn(5, 2), torch.tensor([1, 0, 1, 3, 1])
    torch.testing.assert_close(
        ours.scatter(src, index, 4), e3nn_pc.scatter(src, index, 4), atol=1e-15, rtol=0
    )
    for args in (("0e", "1o", "1o"), ("1o", "1o", "2e"), ("1o", "2e", "0e")):
        assert ours.tp_path_exists(*args) == e3nn_mp.tp_path_exists(*args)


def test_compat_paths():
    from e3torch.compat.nn.models import v2106
    from e3torch.compat.nn.models.v2106 import (
        gate_points_message_passing,
        gate_points_networks,
        points_convolution,
    )

    assert points_convolution.Convolution is gate_points_message_passing.Convolution is ours.Convolution
    assert gate_points_networks.SimpleNetwork is ours.SimpleNetwork
    assert gate_points_networks.MessagePassing is ours.MessagePassing
    assert v2106.gate_points_networks is gate_points_networks


def test_errors():
    with pytest.raises(ValueError, match="produces nothing in irreps_node_output=1x1e nor 0e"):
        ours.Convolution("1o", "0e", "0e", "1e", [2], 1.0)
    with pytest.raises(ValueError, match="cannot make the 0e scalar alpha"):
        ours.Convolution("1o", "2e", "0e", "1o", [2], 1.0)
    # e3nn raises ValueError here too
    for module in (e3nn_mp, ours):
        with pytest.raises(ValueError, match="is unable to produce gates"):
            module.MessagePassing(["1o", "2x1o", "1o"], "0e", "2e", [2], 1.0)
    with pytest.raises(ValueError, match="at least one Irreps"):
        ours.MessagePassing([], "0e", "0e", [2], 1.0)
    with pytest.raises(ValueError, match="mul: expected an integer >= 0, got -2"):
        ours.SimpleNetwork("0e", "0e", 2.0, 1.0, 1.0, mul=-2)
    with pytest.raises(ValueError, match="max_radius: expected a positive number"):
        ours.SimpleNetwork("0e", "0e", -1.0, 1.0, 1.0)
    net = ours.SimpleNetwork("0e", "0e", 2.0, 1.0, 1.0, mul=2, layers=1, lmax=1)
    with pytest.raises(KeyError, match="expected the input dict to have 'x'"):
        net({"pos": torch.randn(3, 3)})
    with pytest.raises(KeyError, match="'pos'"):
        net({"x": torch.randn(3, 1)})
    net = ours.NetworkForAGraphWithAttributes("0e", "0e", "0e", "0e", 2.0, 1.0, 1.0, mul=2, layers=1, lmax=1)
    with pytest.raises(KeyError, match="to have 'edge_attr'"):
        net({"pos": torch.randn(3, 3), "x": torch.randn(3, 1), "node_attr": torch.ones(3, 1)})
    with pytest.raises(KeyError, match="'x' or 'node_input'"):
        net({"pos": torch.randn(3, 3), "node_attr": torch.ones(3, 1), "edge_attr": torch.ones(6, 1)})
