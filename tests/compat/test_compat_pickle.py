"""Whole-model pickles made with e3nn 0.6.0 load under the hook, without e3nn, as e3torch modules that compute the same.

Each case builds an e3nn module in float64, saves it with ``torch.save(model)`` together with inputs and outputs; one
subprocess (real e3nn blocked, hook installed) loads them all, checks the classes are e3torch's, the outputs agree,
gradients flow, and that saving the loaded model again and reloading it gives the same outputs.
"""

from __future__ import annotations

import copy
import io
import pickle
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import torch

e3nn = pytest.importorskip("e3nn")

from e3torch.compat import _pickle
from e3torch.compat._export import MISSING, resolve

if TYPE_CHECKING:
    from conftest import Py

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")

T = torch.tanh
S = torch.sigmoid

#: name -> (e3torch classes needed, comma-separated; e3nn constructor expression; input irreps)
CASES: dict[str, tuple[str, str, list[str]]] = {
    "linear": ("e3torch.o3:Linear", "o3.Linear('2x0e+1x1o', '3x0e+2x1o', biases=True)", ["2x0e+1x1o"]),
    "linear_f": ("e3torch.o3:Linear", "o3.Linear('1x0e+1x1o', '2x1o', f_in=2, f_out=3)", []),
    "linear_path": (
        "e3torch.o3:Linear", "o3.Linear('2x0e+3x0e', '1x0e', path_normalization='path')", ["2x0e+3x0e"]
    ),
    "tp": (
        "e3torch.o3:TensorProduct",
        "o3.TensorProduct('1x0e+1x1o', '1x1o', '1x1o+1x0e', [(0,0,0,'uvw',True), (1,0,1,'uvu',True)])",
        ["1x0e+1x1o", "1x1o"],
    ),
    "tp_var": (
        "e3torch.o3:TensorProduct",
        "o3.TensorProduct('2x1o', '1x1o', '2x0e', [(0,0,0,'uvu',True)], in1_var=[3.0], out_var=[0.5])",
        ["2x1o", "1x1o"],
    ),
    "tp_external": (
        "e3torch.o3:FullyConnectedTensorProduct",
        "o3.FullyConnectedTensorProduct('1x0e+1x1o', '1x1o', '1x1o', shared_weights=False)",
        ["1x0e+1x1o", "1x1o"],
    ),
    "fctp": (
        "e3torch.o3:FullyConnectedTensorProduct",
        "o3.FullyConnectedTensorProduct('2x0e+1x1o', '1x0e+1x1o', '2x0e+1x1e', irrep_normalization='norm')",
        ["2x0e+1x1o", "1x0e+1x1o"],
    ),
    "etp": ("e3torch.o3:ElementwiseTensorProduct", "o3.ElementwiseTensorProduct('2x0e+1x1o', '1x0e+2x1o')",
            ["2x0e+1x1o", "1x0e+2x1o"]),
    "ftp": ("e3torch.o3:FullTensorProduct", "o3.FullTensorProduct('2x0e+1x1o', '1x0e+1x2e')",
            ["2x0e+1x1o", "1x0e+1x2e"]),
    "ftp_v2": (
        "e3torch.o3.experimental:FullTensorProductv2",
        "o3.experimental.FullTensorProductv2(o3.Irreps('1x1o+2x0e'), o3.Irreps('1x1o+1x2e'))",
        ["2x0e+1x1o", "1x1o+1x2e"],
    ),
    "etp_v2": (
        "e3torch.o3.experimental:ElementwiseTensorProductv2",
        "o3.experimental.ElementwiseTensorProductv2(o3.Irreps('2x1o'), o3.Irreps('1x0e+1x1e'), "
        "irrep_normalization='norm')",
        ["2x1o", "1x0e+1x1e"],
    ),
    "square": ("e3torch.o3:TensorSquare", "o3.TensorSquare('2x0e+1x1o')", ["2x0e+1x1o"]),
    "square_w": ("e3torch.o3:TensorSquare", "o3.TensorSquare('2x0e+1x1o', '1x0e+2x1e')", ["2x0e+1x1o"]),
    "sh": ("e3torch.o3:SphericalHarmonics", "o3.SphericalHarmonics([0, 1, 2], True, 'component')", ["1x1o"]),
    "sh_raw": ("e3torch.o3:SphericalHarmonics", "o3.SphericalHarmonics('1x0e+1x1o+1x3o', False)", ["1x1o"]),
    "sh_ab": ("e3torch.o3:SphericalHarmonicsAlphaBeta", "o3.SphericalHarmonicsAlphaBeta([0, 1, 2])", []),
    "norm": ("e3torch.o3:Norm", "o3.Norm('2x1o+1x0e', squared=True)", ["2x1o+1x0e"]),
    "rtp": ("e3torch.o3:ReducedTensorProducts", "o3.ReducedTensorProducts('ijk=jik', i='1o', k='1e')",
            ["1x1o", "1x1o", "1x1e"]),
    "activation": ("e3torch.nn:Activation", "nn.Activation('2x0e+1x0o+1x1o', [T, T, None])", ["2x0e+1x0o+1x1o"]),
    "gate": ("e3torch.nn:Gate,e3torch.nn:Extract", "nn.Gate('2x0e+1x0o', [T, T], '1x0e', [S], '1x1o')", ["2x0e+1x0o+1x0e+1x1o"]),
    "fc": ("e3torch.nn:FullyConnectedNet,e3torch.nn._fc:_Layer", "nn.FullyConnectedNet([3, 4, 2], torch.nn.functional.silu)", []),
    "fc_out_act": ("e3torch.nn:FullyConnectedNet", "nn.FullyConnectedNet([2, 3], T, out_act=True)", []),
    "extract": ("e3torch.nn:Extract", "nn.Extract('1x0e+1x1o', ['1x0e', '1x1o'], [(0,), (1,)])", ["1x0e+1x1o"]),
    "extract_sq": ("e3torch.nn:Extract", "nn.Extract('1x0e+1x1o', ['1x1o'], [(1,)], squeeze_out=True)",
                   ["1x0e+1x1o"]),
    "extract_ir": ("e3torch.nn:ExtractIr", "nn.ExtractIr('1x0e+2x1o', '1o')", ["1x0e+2x1o"]),
    "norm_act": ("e3torch.nn:NormActivation", "nn.NormActivation(o3.Irreps('2x1o+1x0e'), S, bias=True)", ["2x1o+1x0e"]),
    "batchnorm": ("e3torch.nn:BatchNorm", "nn.BatchNorm('2x0e+1x1o').eval()", ["2x0e+1x1o"]),
    "dropout": ("e3torch.nn:Dropout", "nn.Dropout('2x0e+1x1o', 0.3).eval()", ["2x0e+1x1o"]),
    "identity": ("e3torch.nn:Identity", "nn.Identity('2x0e+1x1o', '2x0e+1x1o')", ["2x0e+1x1o"]),
    "s2act": ("e3torch.nn:S2Activation", "nn.S2Activation('1x0e+1x1o', T, 8)", ["1x0e+1x1o"]),
    "so3act": ("e3torch.nn:SO3Activation", "nn.SO3Activation(1, 1, T, 6)", ["1x0e+1x1o+1x2e"]),
    "to_s2": ("e3torch.o3:ToS2Grid", "o3.ToS2Grid(2, (6, 7))", ["1x0e+1x1o+1x2e"]),
    "network": (
        "e3torch.models:Network,e3torch.models:Convolution,e3torch.nn:Extract",
        "gate_points_2101.Network(irreps_in='2x0e', irreps_hidden='4x0e+2x1o+2x1e', irreps_out='1x0e+1x1o', "
        "irreps_node_attr=None, irreps_edge_attr='0e+1o+2e', layers=2, max_radius=2.5, number_of_basis=4, "
        "radial_layers=1, radial_neurons=8, num_neighbors=3.0, num_nodes=5.0)",
        [],
    ),
    "network_2102": (
        "e3torch.models._gate_points_2102:Network",
        "gate_points_2102.Network(irreps_in='2x0e', irreps_hidden='4x0e+2x1o', irreps_out='1x0e+1x1o', "
        "irreps_node_attr='2x0e', irreps_edge_attr='0e+1o', layers=2, max_radius=2.5, number_of_basis=4, "
        "radial_layers=1, radial_neurons=8, num_neighbors=3.0, num_nodes=5.0)",
        [],
    ),
    "network_v2106": (
        "e3torch.models._gate_points_v2106:SimpleNetwork",
        "gate_points_networks.SimpleNetwork('2x0e', '1x0e+1x1o', max_radius=2.5, num_neighbors=3.0, num_nodes=5.0, "
        "mul=4, layers=2, lmax=1)",
        [],
    ),
    "client": ("e3torch.nn:Gate,e3torch.nn:Extract", "Client()", ["1x0e+1x1o"]),
}

#: inputs that are not irreps: plain (batch, n) tensors or (batch, f_in, dim)
RAW_INPUTS = {
    "linear_f": [(3, 2, 4)], "fc": [(3, 3)], "fc_out_act": [(3, 2)], "tp_external": None, "so3act": [(3, 10)], "sh_ab": [(3,), (3,)]
}


def _inputs(name: str, model: torch.nn.Module, irreps: list[str]) -> list[torch.Tensor]:
    from e3nn import o3

    if name in ("network", "network_2102", "network_v2106"):
        data = {"pos": torch.randn(6, 3), "x": torch.randn(6, 2), "batch": torch.tensor([0, 0, 0, 1, 1, 1])}
        return [dict(data, z=torch.randn(6, 2)) if name == "network_2102" else data]
    if name == "tp_external":
        return [o3.Irreps(i).randn(3, -1) for i in irreps] + [torch.randn(3, model.weight_numel)]
    if name in RAW_INPUTS:
        return [torch.randn(*shape) for shape in RAW_INPUTS[name]]
    return [o3.Irreps(i).randn(3, -1) for i in irreps]


def _outputs(y: Any) -> list[torch.Tensor]:
    return list(y) if isinstance(y, (tuple, list)) else [y]


@pytest.fixture(scope="module")
def pickles(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The e3nn pickles of all cases (float64), in one folder."""
    from _client_models import Client  # noqa: F401 - used by the constructor expressions
    from e3nn import nn, o3  # noqa: F401
    from e3nn.nn.models import gate_points_2101, gate_points_2102  # noqa: F401
    from e3nn.nn.models.v2106 import gate_points_networks  # noqa: F401

    folder = tmp_path_factory.mktemp("e3nn_pickles")
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        for name, (_, expression, irreps) in CASES.items():
            torch.manual_seed(0)
            model = eval(expression)
            xs = _inputs(name, model, irreps)
            with torch.no_grad():
                ys = _outputs(model(*xs))
            torch.save({"model": model, "xs": xs, "ys": ys}, folder / f"{name}.pt")
    finally:
        torch.set_default_dtype(previous)
    return folder


_LOADER = """
import glob, io, json, os, sys, traceback
sys.path.insert(0, sys.argv[2])  # the client model's module
import torch
import e3torch.compat.install
torch.set_default_dtype(torch.float64)
results = {}
for path in sorted(glob.glob(os.path.join(sys.argv[1], "*.pt"))):
    name = os.path.basename(path)[:-3]
    try:
        data = torch.load(path, weights_only=False)
        model = data["model"]
        outs = model(*data["xs"])
        outs = list(outs) if isinstance(outs, (tuple, list)) else [outs]
        err = max(float((a - b).abs().max()) if a.numel() else 0.0 for a, b in zip(outs, data["ys"]))
        modules = sorted({type(m).__module__ for m in model.modules()})
        try:
            buffer = io.BytesIO()
            torch.save(model, buffer)
            again = torch.load(io.BytesIO(buffer.getvalue()), weights_only=False)
            outs2 = again(*data["xs"])
            outs2 = list(outs2) if isinstance(outs2, (tuple, list)) else [outs2]
            err2 = max(float((a - b).abs().max()) if a.numel() else 0.0 for a, b in zip(outs2, data["ys"]))
        except Exception as error:
            err2 = f"{type(error).__name__}: {error}"
        params = [p for p in model.parameters() if p.requires_grad]
        grad = None
        if params:
            loss = sum((o ** 2).sum() for o in (model(*data["xs"]) if isinstance(model(*data["xs"]), (tuple, list))
                                                else [model(*data["xs"])]))
            loss.backward()
            grad = all(p.grad is not None for p in params)
        results[name] = {"ok": True, "err": err, "err_again": err2, "modules": modules, "grad": grad,
                         "cls": type(model).__module__ + ":" + type(model).__name__,
                         "count_lens": [len(outs), len(data["ys"])]}
    except Exception as error:
        results[name] = {"ok": False, "error": f"{type(error).__name__}: {error}"[:600],
                         "trace": traceback.format_exc()[-1500:]}
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def loaded(pickles: Path, py: Py) -> dict[str, Any]:
    """Load every pickle in one subprocess without e3nn; the results by case."""
    proc = py.run(["-c", _LOADER, str(pickles), str(Path(__file__).parent)])
    assert proc.returncode == 0, proc.stderr[-3000:]
    import json

    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CASES))
def test_e3nn_pickle_loads_as_e3torch(name: str, loaded: dict[str, Any]) -> None:
    for target in CASES[name][0].split(","):
        module, _, cls = target.partition(":")
        if resolve(module, cls) is MISSING:
            pytest.skip(f"e3torch does not provide {target} yet")
    result = loaded[name]
    assert result["ok"], f"{name}: {result['error']}\n{result['trace']}"
    assert result["count_lens"][0] == result["count_lens"][1]
    assert result["err"] < 1e-12, f"{name}: outputs differ from e3nn's by {result['err']}"
    assert not [m for m in result["modules"] if m.startswith("e3nn")], result["modules"]
    assert result["grad"] in (None, True)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CASES))
def test_loaded_model_pickles_again(name: str, loaded: dict[str, Any]) -> None:
    for target in CASES[name][0].split(","):
        module, _, cls = target.partition(":")
        if resolve(module, cls) is MISSING:
            pytest.skip(f"e3torch does not provide {target} yet")
    result = loaded[name]
    if not result["ok"]:
        pytest.skip("did not load (see test_e3nn_pickle_loads_as_e3torch)")
    again = result["err_again"]
    if isinstance(again, str) and "cannot pickle 'module' object" in again:
        pytest.xfail(f"e3torch's tensor product holds a module object (FastExecutor._kernel_ops): {again}")
    assert not isinstance(again, str), again
    assert again < 1e-12


# --- in-process: the wrapped __setstate__ leaves e3torch's own pickles and copies alone ---


def _available() -> list[str]:
    out = []
    for target in sorted(_pickle.registered()):
        module, _, name = target.partition(":")
        if resolve(module, name) is not MISSING:
            out.append(target)
    return out


@pytest.mark.parametrize("target", _available())
def test_e3torch_state_is_not_taken_for_e3nn(target: str) -> None:
    translator = _pickle.registered()[target]
    module, _, name = target.partition(":")
    cls = resolve(module, name)
    sample = translator.sample(cls)
    assert not _pickle.is_e3nn_state(cls, vars(sample))
    if not _pickle._own_attrs(cls, translator) and not _pickle._missing_tensors(cls, vars(sample)):
        # same attribute names as e3nn: e3nn's state is used as it is, which the end-to-end cases must prove right
        assert any(target in case[0].split(",") for case in CASES.values()), f"{target} needs an end-to-end case"
    try:
        clone = copy.deepcopy(sample)
    except TypeError as error:
        if "cannot pickle 'module' object" in str(error):
            pytest.xfail(f"e3torch's {name} holds a module object (FastExecutor._kernel_ops): {error}")
        raise
    assert type(clone) is cls and set(vars(clone)) == set(vars(sample))
    again = pickle.loads(pickle.dumps(sample))
    assert set(vars(again)) == set(vars(sample))
    buffer = io.BytesIO()
    torch.save(sample, buffer)
    assert type(torch.load(io.BytesIO(buffer.getvalue()), weights_only=False)) is cls


def test_rebuild_reports_layout_differences() -> None:
    a, b = torch.nn.Linear(2, 3), torch.nn.Linear(2, 4)
    with pytest.raises(ValueError, match=r"cannot load the pickled e3nn Linear into e3torch's Linear: state_dict"):
        _pickle.rebuild(b, vars(a), "Linear")
    with pytest.raises(ValueError, match=r"only in e3nn: \['extra'\]"):
        state = dict(vars(a))
        state["_buffers"] = {"extra": torch.zeros(1)}
        _pickle.rebuild(torch.nn.Linear(2, 3), state, "Linear")


def test_rebuild_follows_the_pickled_dtype() -> None:
    a = torch.nn.Linear(2, 3).double()
    b = _pickle.rebuild(torch.nn.Linear(2, 3), vars(a), "Linear")
    assert b.weight.dtype == torch.float64 and torch.equal(a.weight, b.weight)
