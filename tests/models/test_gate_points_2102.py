"""e3torch's ``gate_points_2102`` network against e3nn 0.6.0's: state dicts, seeded weights, outputs, gradients."""

from __future__ import annotations

import pytest
import torch

e3nn_g = pytest.importorskip("e3nn.nn.models.gate_points_2102")

from e3torch import o3
from e3torch.models import _gate_points_2102 as ours_g

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")

CONFIGS = {
    "attrs": {
        "irreps_in": "2x0e+1x1o",
        "irreps_hidden": "6x0e+3x0o+2x1o+2x1e+1x2e",
        "irreps_out": "2x0o+1x1o",
        "irreps_node_attr": "2x0e+1x1o",
        "irreps_edge_attr": "0e+1o+2e",
        "layers": 2,
        "max_radius": 2.5,
        "number_of_basis": 4,
        "radial_layers": 2,
        "radial_neurons": 8,
        "num_neighbors": 2.0,
        "num_nodes": 5.0,
    },
    "no_inputs": {
        "irreps_in": None,
        "irreps_hidden": "4x0e+2x0o+2x1o+2x1e",
        "irreps_out": "1x0e+1x1o",
        "irreps_node_attr": None,
        "irreps_edge_attr": "0e+1o",
        "layers": 1,
        "max_radius": 3.0,
        "number_of_basis": 5,
        "radial_layers": 1,
        "radial_neurons": 8,
        "num_neighbors": 3.0,
        "num_nodes": 4.0,
        "reduce_output": False,
    },
}


@pytest.fixture(autouse=True)
def _float64():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def _pair(config):
    torch.manual_seed(0)
    ref = e3nn_g.Network(**config)
    torch.manual_seed(0)
    ours = ours_g.Network(**config)
    return ref, ours


def _data(config, n=9, seed=1):
    g = torch.Generator().manual_seed(seed)
    data = {"pos": 1.5 * torch.randn(n, 3, generator=g), "batch": torch.tensor([0] * 5 + [1] * (n - 5))}
    if config["irreps_in"] is not None:
        data["x"] = torch.randn(n, o3.Irreps(config["irreps_in"]).dim, generator=g)
    if config["irreps_node_attr"] is not None:
        data["z"] = torch.randn(n, o3.Irreps(config["irreps_node_attr"]).dim, generator=g)
    return data


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_seeded_construction_and_state_dict(name):
    ref, ours = _pair(CONFIGS[name])
    sd_ref, sd_ours = ref.state_dict(), ours.state_dict()
    assert list(sd_ours) == list(sd_ref)
    assert [v.shape for v in sd_ours.values()] == [v.shape for v in sd_ref.values()]
    for key in sd_ref:
        torch.testing.assert_close(sd_ours[key], sd_ref[key], atol=1e-12, rtol=0, msg=key)
    # both ways, strict, with weights that neither construction made
    with torch.no_grad():
        for p in ours.parameters():
            p.copy_(torch.randn_like(p))
    ref.load_state_dict(ours.state_dict(), strict=True)
    fresh = _pair(CONFIGS[name])[1]
    fresh.load_state_dict(ref.state_dict(), strict=True)
    for key, value in ours.state_dict().items():
        assert torch.equal(ref.state_dict()[key], value) and torch.equal(fresh.state_dict()[key], value), key


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_outputs_and_gradients_match_e3nn(name):
    config = CONFIGS[name]
    ref, ours = _pair(config)
    with torch.no_grad():
        for p in ref.parameters():
            p.add_(0.3 * torch.randn_like(p))
    ours.load_state_dict(ref.state_dict())
    results = []
    for net in (ref, ours):
        data = {k: v.clone().requires_grad_(v.is_floating_point()) for k, v in _data(config).items()}
        out = net(dict(data))
        weights = torch.linspace(-1.0, 1.0, out.numel()).reshape(out.shape)
        grads = torch.autograd.grad((out * weights).sum(), [v for v in data.values() if v.requires_grad])
        results.append((out, grads))
    (out_ref, grads_ref), (out_ours, grads_ours) = results
    assert out_ours.shape == out_ref.shape
    assert out_ref.abs().max() > 1e-3
    torch.testing.assert_close(out_ours, out_ref, atol=1e-10, rtol=0)
    for g_ours, g_ref in zip(grads_ours, grads_ref):
        torch.testing.assert_close(g_ours, g_ref, atol=1e-10, rtol=0)


def test_radial_mlp_sees_node_scalars():
    ref, ours = _pair(CONFIGS["attrs"])
    assert ours.layers[0].first.fc.hs[0] == 4 + 2 * 2 == ref.layers[0].first.fc.hs[0]
    assert ours.ext_z.irreps_out == ref.ext_z.irreps_out
    assert (ours.layers[0].irreps_in, ours.layers[0].irreps_out) == (
        ref.layers[0].irreps_in,
        ref.layers[0].irreps_out,
    )


def test_equivariance():
    config = CONFIGS["attrs"]
    net = ours_g.Network(**config)
    data = _data(config, n=7)
    irreps_x, irreps_z, irreps_out = (
        o3.Irreps(config[k]) for k in ("irreps_in", "irreps_node_attr", "irreps_out")
    )
    out = net(dict(data))
    torch.manual_seed(3)
    for rot in (o3.rand_matrix(), -o3.rand_matrix()):
        moved = dict(data)
        moved["pos"] = data["pos"] @ rot.T + torch.tensor([0.3, -1.0, 2.0])
        moved["x"] = data["x"] @ irreps_x.D_from_matrix(rot).T
        moved["z"] = data["z"] @ irreps_z.D_from_matrix(rot).T
        torch.testing.assert_close(net(moved), out @ irreps_out.D_from_matrix(rot).T, atol=1e-10, rtol=0)


def test_radius_graph_and_scatter_match_e3nn():
    pos = torch.tensor([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 3.0, 0.0], [0.5, 0.5, 0.0]])
    batch = torch.tensor([0, 0, 0, 1, 1])
    assert torch.equal(ours_g.radius_graph(pos, 2.0, batch), e3nn_g.radius_graph(pos, 2.0, batch))
    src = torch.randn(6, 3)
    index = torch.tensor([0, 2, 2, 1, 0, 2])
    torch.testing.assert_close(
        ours_g.scatter(src, index, 4), e3nn_g.scatter(src, index, 4), atol=1e-15, rtol=0
    )
    x = torch.linspace(-0.5, 1.5, 41)
    torch.testing.assert_close(ours_g.smooth_cutoff(x), e3nn_g.smooth_cutoff(x.clone()), atol=1e-15, rtol=0)


def test_node_attributes_may_be_left_out_when_0e():
    config = dict(CONFIGS["no_inputs"], irreps_node_attr="0e")
    ref, ours = _pair(config)
    data = _data(config)
    torch.testing.assert_close(ours(dict(data)), ref(dict(data)), atol=1e-10, rtol=0)


def test_compat_path():
    from e3torch.compat.nn.models import gate_points_2102 as compat

    assert compat.Network is ours_g.Network and compat.Convolution is ours_g.Convolution
    assert compat.ExtractIr is __import__("e3torch.nn", fromlist=["ExtractIr"]).ExtractIr


def test_errors():
    config = CONFIGS["attrs"]
    net = ours_g.Network(**config)
    data = _data(config)
    with pytest.raises(ValueError, match="irreps_in is 2x0e\\+1x1o, so the input dict needs 'x'"):
        net({k: v for k, v in data.items() if k != "x"})
    with pytest.raises(ValueError, match="so the input dict needs 'z'"):
        net({k: v for k, v in data.items() if k != "z"})
    with pytest.raises(ValueError, match="expected the input dict to have 'pos'"):
        net({"x": data["x"]})
    with pytest.raises(ValueError, match="irreps_edge_attr: expected spherical-harmonic irreps"):
        ours_g.Network("0e", "4x0e", "0e", None, None, 1, 2.0, 3, 1, 4, 1.0, 1.0)
    with pytest.raises(ValueError, match="layers: expected an integer >= 0, got -1"):
        ours_g.Network("0e", "4x0e", "0e", None, "0e+1o", -1, 2.0, 3, 1, 4, 1.0, 1.0)
    with pytest.raises(ValueError, match="max_radius: expected a positive number, got 0.0"):
        ours_g.Network("0e", "4x0e", "0e", None, "0e+1o", 1, 0.0, 3, 1, 4, 1.0, 1.0)
    with pytest.raises(ValueError, match=r"expected index of shape \(3,\)"):
        ours_g.scatter(torch.ones(3, 2), torch.zeros(2, dtype=torch.long), 2)
    with pytest.raises(ValueError, match="expected a 2-d src"):
        ours_g.scatter(torch.ones(3), torch.zeros(3, dtype=torch.long), 2)
    with pytest.raises(ValueError, match=r"expected batch of shape \(3,\)"):
        ours_g.radius_graph(torch.zeros(3, 3), 1.0, torch.zeros(2, dtype=torch.long))
