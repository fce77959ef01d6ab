"""Checkpoints both ways: e3nn and e3torch modules built with the same arguments have the same ``state_dict``.

Each case is one constructor expression, evaluated once with e3nn's ``o3``/``nn`` and once with e3torch.compat's.
The e3nn ``state_dict`` loads into the e3torch module with ``strict=True`` and the outputs agree in float64; and the
other way round.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

e3nn = pytest.importorskip("e3nn")
import e3nn.nn
import e3nn.o3

from e3torch import compat
from e3torch.compat._export import MISSING, resolve

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")

T, S = torch.tanh, torch.sigmoid
SILU = torch.nn.functional.silu

#: name -> (e3torch classes needed, constructor expression in o3/nn, input shapes: irreps strings or tuples)
CASES: dict[str, tuple[str, str, list[Any]]] = {
    "linear": ("o3:Linear", "o3.Linear('2x0e+1x1o+1x2e', '3x0e+2x1o', biases=True)", ["2x0e+1x1o+1x2e"]),
    "linear_f": ("o3:Linear", "o3.Linear('1x0e+1x1o', '2x1o', f_in=2, f_out=3)", [(3, 2, 4)]),
    "linear_instr": (
        "o3:Linear", "o3.Linear('2x0e+1x0e', '1x0e+3x0e', instructions=[(0, 1), (1, 1), (1, 0)])", ["2x0e+1x0e"]
    ),
    "tp_modes": (
        "o3:TensorProduct",
        "o3.TensorProduct('2x0e+2x1o', '2x1o', '2x1o+2x0e+4x1e', [(0,0,0,'uvw',True), (1,0,1,'uuu',True), "
        "(1,0,2,'uvuv',True), (0,0,0,'uuw',True), (1,0,1,'uvu',False)])",
        ["2x0e+2x1o", "2x1o"],
    ),
    "fctp": ("o3:FullyConnectedTensorProduct", "o3.FullyConnectedTensorProduct('2x0e+1x1o+1x2e', '1x0e+1x1o', "
             "'2x0e+1x1o+1x2e')", ["2x0e+1x1o+1x2e", "1x0e+1x1o"]),
    "etp": ("o3:ElementwiseTensorProduct", "o3.ElementwiseTensorProduct('2x0e+1x1o', '1x0e+2x1o')",
            ["2x0e+1x1o", "1x0e+2x1o"]),
    "ftp": ("o3:FullTensorProduct", "o3.FullTensorProduct('2x0e+1x1o', '1x1o+1x2e')", ["2x0e+1x1o", "1x1o+1x2e"]),
    "square": ("o3:TensorSquare", "o3.TensorSquare('2x0e+1x1o', '2x0e+1x1e+1x2e')", ["2x0e+1x1o"]),
    "norm": ("o3:Norm", "o3.Norm('2x1o+1x0e')", ["2x1o+1x0e"]),
    "sh": ("o3:SphericalHarmonics", "o3.SphericalHarmonics([0, 1, 2, 3], True, 'component')", ["1x1o"]),
    "gate": ("nn:Gate", "nn.Gate('2x0e+1x0o', [T, T], '1x0e+1x0e', [S, T], '1x1o+1x2e')",
             ["2x0e+1x0o+1x0e+1x0e+1x1o+1x2e"]),
    "fc": ("nn:FullyConnectedNet", "nn.FullyConnectedNet([3, 8, 8, 2], SILU)", [(5, 3)]),
    "norm_act": ("nn:NormActivation", "nn.NormActivation(o3.Irreps('2x1o+1x0e'), S, bias=True)", ["2x1o+1x0e"]),
    "batchnorm": ("nn:BatchNorm", "nn.BatchNorm('2x0e+1x1o').eval()", ["2x0e+1x1o"]),
    "batchnorm_inst": ("nn:BatchNorm", "nn.BatchNorm('2x0e+1x1o', instance=True, reduce='max')", ["2x0e+1x1o"]),
    "identity": ("nn:Identity", "nn.Identity('2x0e+1x1o', '2x0e+1x1o')", ["2x0e+1x1o"]),
    "rtp": ("o3:ReducedTensorProducts", "o3.ReducedTensorProducts('ij=ji', i='1o')", ["1x1o", "1x1o"]),
    "rtp_sym3": ("o3:ReducedTensorProducts", "o3.ReducedTensorProducts('ijk=jik=ikj', i='0e+1o')",
                 ["0e+1o", "0e+1o", "0e+1o"]),
    "rtp_elastic": ("o3:ReducedTensorProducts", "o3.ReducedTensorProducts('ijkl=jikl=ijlk=klij', i='1o')",
                    ["1x1o"] * 4),
    "rtp_mixed": ("o3:ReducedTensorProducts", "o3.ReducedTensorProducts('ijk=-jik', i='1o+1e', k='2x0e+1o')",
                  ["1o+1e", "1o+1e", "2x0e+1o"]),
    "rtp_filters": (
        "o3:ReducedTensorProducts",
        "o3.ReducedTensorProducts('ijk', i='1o', j='1o', k='1o', filter_ir_out=['1o'], filter_ir_mid=['2e', '1o'])",
        ["1x1o"] * 3,
    ),
    "s2act": ("nn:S2Activation", "nn.S2Activation('1x0e+1x1o+1x2e', T, 10)", ["1x0e+1x1o+1x2e"]),
    "so3act": ("nn:SO3Activation", "nn.SO3Activation(1, 2, T, 8)", [(3, 10)]),
}


#: layouts that differ today, with what differs (reported to the module owners); xfail (not strict) until fixed.
KNOWN_GAPS: dict[str, str] = {}


def _namespace(lib: Any) -> dict[str, Any]:
    return {"o3": lib.o3, "nn": lib.nn, "torch": torch, "T": T, "S": S, "SILU": SILU}


def _inputs(shapes: list[Any]) -> list[torch.Tensor]:
    from e3nn import o3

    return [torch.randn(*s) if isinstance(s, tuple) else o3.Irreps(s).randn(4, -1) for s in shapes]


def _outputs(y: Any) -> list[torch.Tensor]:
    return list(y) if isinstance(y, (tuple, list)) else [y]


def _build(name: str) -> tuple[torch.nn.Module, torch.nn.Module, list[torch.Tensor]]:
    needs, expression, shapes = CASES[name]
    for need in needs.split(","):
        package, _, cls = need.partition(":")
        if resolve(f"e3torch.{package}", cls) is MISSING:
            pytest.skip(f"e3torch does not provide {package}.{cls} yet")
    if name in KNOWN_GAPS:
        pytest.xfail(KNOWN_GAPS[name])
    torch.manual_seed(0)
    theirs = eval(expression, _namespace(e3nn))
    torch.manual_seed(1)
    ours = eval(expression, _namespace(compat))
    return theirs.double(), ours.double(), _inputs(shapes)


@pytest.fixture(autouse=True)
def _float64() -> Any:
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def _assert_same_outputs(a: torch.nn.Module, b: torch.nn.Module, xs: list[torch.Tensor]) -> None:
    with torch.no_grad():
        ya, yb = _outputs(a(*xs)), _outputs(b(*xs))
    assert len(ya) == len(yb)
    for u, v in zip(ya, yb):
        torch.testing.assert_close(u, v, atol=1e-10, rtol=0)


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_keys_and_shapes(name: str) -> None:
    theirs, ours, _ = _build(name)
    a, b = theirs.state_dict(), ours.state_dict()
    assert list(a) == list(b), f"{name}: keys differ: e3nn {list(a)}, e3torch {list(b)}"
    assert [tuple(t.shape) for t in a.values()] == [tuple(t.shape) for t in b.values()]


@pytest.mark.parametrize("name", sorted(CASES))
def test_e3nn_checkpoint_loads_into_e3torch(name: str) -> None:
    theirs, ours, xs = _build(name)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    _assert_same_outputs(theirs, ours, xs)


@pytest.mark.parametrize("name", sorted(CASES))
def test_e3torch_checkpoint_loads_into_e3nn(name: str) -> None:
    theirs, ours, xs = _build(name)
    for p in ours.parameters():  # make sure the weights that travel are not e3nn's by chance
        p.data.normal_()
    theirs.load_state_dict(ours.state_dict(), strict=True)
    _assert_same_outputs(theirs, ours, xs)


def test_gate_points_network_checkpoints_both_ways() -> None:
    """e3nn's example network (``nn.models.gate_points_2101.Network``): same keys (any order), same outputs."""
    if resolve("e3torch.models", "Network") is MISSING:
        pytest.skip("e3torch does not provide models.Network yet")
    from e3nn.nn.models import gate_points_2101 as theirs_module

    from e3torch.compat.nn.models import gate_points_2101 as ours_module

    kw = dict(
        irreps_in="2x0e", irreps_hidden="4x0e+2x1o+2x1e", irreps_out="1x0e+1x1o", irreps_node_attr=None,
        irreps_edge_attr="0e+1o+2e", layers=2, max_radius=2.5, number_of_basis=4, radial_layers=1, radial_neurons=8,
        num_neighbors=3.0, num_nodes=5.0, reduce_output=True,
    )
    torch.manual_seed(0)
    theirs, ours = theirs_module.Network(**kw), ours_module.Network(**kw)
    a, b = theirs.state_dict(), ours.state_dict()
    assert sorted(a) == sorted(b)
    assert all(a[k].shape == b[k].shape for k in a)
    data = {"pos": torch.randn(6, 3), "x": torch.randn(6, 2), "batch": torch.tensor([0, 0, 0, 1, 1, 1])}
    ours.load_state_dict(a, strict=True)
    torch.testing.assert_close(ours(dict(data)), theirs(dict(data)), atol=1e-10, rtol=0)
    for p in ours.parameters():
        p.data.normal_()
    theirs.load_state_dict(ours.state_dict(), strict=True)
    torch.testing.assert_close(ours(dict(data)), theirs(dict(data)), atol=1e-10, rtol=0)
