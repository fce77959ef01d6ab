"""Whole-model pickles made with e3nn 0.4.4 (TorchScript code in their CodeGenMixin state) load on e3torch.

The pickles in ``data/e3nn044/`` were written by ``_make_e3nn044_pickles.py`` with e3nn 0.4.4. They load in a
subprocess with the hook and no e3nn. Where e3nn 0.4's Wigner 3j symbols have the other sign than 0.6's, the tensor
products are rebuilt with ``wigner_3j_convention="e3nn-0.4"``, so internal weights (``fctp_flip``), external weights
(``tp_external_flip``) and unweighted paths (``etp_flip``) all give e3nn 0.4.4's numbers, weights unchanged. Where
the rebuilt module and the pickled code still differ, loading fails with a clear error.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from conftest import Py

DATA = Path(__file__).parent / "data" / "e3nn044"
#: modules with paths whose 0.4 Wigner 3j sign differs from 0.6's
FLIPPED = {"fctp_flip", "tp_external_flip", "etp_flip"}
#: whole client models, by _make_e3nn044_mace.py (a model and a batch, not a module and its inputs)
MODELS = {"mace"}
MODULES = sorted(p.stem for p in DATA.glob("*.pt") if p.stem not in MODELS)

_LOADER = """
import glob, json, os, sys
import torch
import e3torch.compat.install
import e3torch.o3
torch.set_default_dtype(torch.float64)
results = {}
for path in sorted(glob.glob(os.path.join(sys.argv[1], "*.pt"))):
    name = os.path.basename(path)[:-3]
    if name in sys.argv[2].split(","):
        continue
    try:
        data = torch.load(path, weights_only=False)
        model = data["model"]
        outs = model(*data["xs"])
        outs = list(outs) if isinstance(outs, (tuple, list)) else [outs]
        err = max(float((a - b).abs().max()) for a, b in zip(outs, data["ys"]))
        tps = [m for m in model.modules() if isinstance(m, e3torch.o3.TensorProduct)]
        results[name] = {"ok": True, "err": err, "version": data["version"],
                         "modules": sorted({type(m).__module__.split(".")[0] for m in model.modules()}),
                         "conventions": sorted({m.wigner_3j_convention for m in tps})}
    except Exception as error:
        results[name] = {"ok": False, "error": f"{type(error).__name__}: {error}"}
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def loaded(py: Py) -> dict[str, Any]:
    proc = py.run(["-c", _LOADER, str(DATA), ",".join(sorted(MODELS))])
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_e3nn044_fixtures_present() -> None:
    assert FLIPPED <= set(MODULES) and MODELS <= {p.stem for p in DATA.glob("*.pt")}


@pytest.mark.parametrize("name", MODULES)
def test_e3nn044_pickle(name: str, loaded: dict[str, Any]) -> None:
    result = loaded[name]
    assert result["ok"], result["error"]
    assert result["version"] == "0.4.4"
    assert result["err"] < 1e-12, f"{name}: outputs differ from e3nn 0.4.4's by {result['err']}"
    assert result["modules"] == ["e3torch"] or "e3nn" not in result["modules"]
    if name.startswith(("tp", "fctp", "etp")):
        assert result["conventions"] == ["e3nn-0.4"]


_DIAGNOSE = """
import json, sys
import torch
import e3torch.compat.install
import e3torch.o3
from e3torch.compat._pickle import e3nn_state_of
from e3torch.compat._pickle_signs import generated_differences
import e3torch.compat._pickle_o3 as pickle_o3
torch.set_default_dtype(torch.float64)
out = {}
for name in ("fctp_flip", "tp_external_flip", "etp_flip"):
    model = torch.load(f"{sys.argv[1]}/{name}.pt", weights_only=False)["model"]
    state = e3nn_state_of(model)
    # the same module with e3nn >= 0.5's signs: the check names the paths whose sign differs
    default = e3torch.o3.TensorProduct(
        model.irreps_in1, model.irreps_in2, model.irreps_out,
        [tuple(i[:5]) + (i.path_weight ** 2,) for i in model.instructions],
        irrep_normalization="none", path_normalization="none", internal_weights=model.internal_weights,
        shared_weights=model.shared_weights,
    )
    default.load_state_dict(model.state_dict())
    out[name] = {"loaded": generated_differences(model, state),
                 "default": generated_differences(default, state)}
pickle_o3.generated_differences = lambda module, state: ["(0, 0, 0) made up: opposite sign"]
try:
    torch.load(f"{sys.argv[1]}/etp_flip.pt", weights_only=False)
    out["error"] = None
except ValueError as error:
    out["error"] = str(error)
print(json.dumps(out))
"""


def test_e3nn044_check_names_flipped_paths(py: Py) -> None:
    """The check against the pickled code finds the paths of the other sign, and a remaining difference refuses."""
    result = py.json(_DIAGNOSE.replace("sys.argv[1]", repr(str(DATA))))
    for name in ("fctp_flip", "tp_external_flip", "etp_flip"):
        assert result[name]["loaded"] == [], result[name]
        assert result[name]["default"], f"{name}: e3nn >= 0.5 signs should differ from the pickled 0.4 code"
        assert all(d.endswith("opposite sign") for d in result[name]["default"]), result[name]
    assert "1x2e -> 1x2e" in " ".join(result["tp_external_flip"]["default"])
    error = result["error"]
    assert error is not None and error.startswith(
        "the pickled e3nn ElementwiseTensorProduct does not compute"
    )
    assert "wigner_3j_convention='e3nn-0.4', nor 'e3nn'" in error and "made up: opposite sign" in error


_MACE = """
import json, sys
import torch
import e3torch.compat.install
import e3torch.o3
sys.path.insert(0, sys.argv[2])
from _mace_case import evaluate
torch.set_default_dtype(torch.float64)
data = torch.load(sys.argv[1], weights_only=False)
model = data["model"]
energy, forces = evaluate(model, data["batch"])
tps = {name: m.wigner_3j_convention for name, m in model.named_modules() if isinstance(m, e3torch.o3.TensorProduct)}
print(json.dumps({
    "version": data["version"],
    "energy_err": float((energy - data["energy"]).abs().max()),
    "forces_err": float((forces - data["forces"]).abs().max()),
    "energy_scale": float(data["energy"].abs().max()), "forces_scale": float(data["forces"].abs().max()),
    "modules": sorted({type(m).__module__.split(".")[0] for m in model.modules()}),
    "conventions": tps,
}))
"""


def test_e3nn044_mace_pickle(py: Py, record_property: Any) -> None:
    """A MACE model pickled whole under e3nn 0.4.4 (flipped paths with external weights) loads without e3nn.

    Its energies and forces on the pickled batch match the ones e3nn 0.4.4 computed, to float64 round-off.
    """
    if importlib.util.find_spec("mace") is None:
        pytest.skip("mace-torch is not installed (pip install --no-deps mace-torch)")
    proc = py.run(["-c", _MACE, str(DATA / "mace.pt"), str(Path(__file__).parent)])
    assert proc.returncode == 0, proc.stderr[-4000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["version"] == "0.4.4"
    assert "e3nn" not in result["modules"] and "e3torch" in result["modules"]
    conventions = result["conventions"]
    assert conventions and set(conventions.values()) == {"e3nn-0.4"}, conventions
    record_property("mace_e3nn044_energy_max_abs_diff", result["energy_err"])
    record_property("mace_e3nn044_forces_max_abs_diff", result["forces_err"])
    energy_err, forces_err = result["energy_err"], result["forces_err"]
    print(f"\nmace e3nn 0.4.4 pickle: energy diff {energy_err:.3g}, forces diff {forces_err:.3g}")
    assert result["energy_err"] <= 1e-10 * max(1.0, result["energy_scale"]), result
    assert result["forces_err"] <= 1e-10 * max(1.0, result["forces_scale"]), result
