"""Real clients of e3nn run on e3torch: mace (MACE, ScaleShiftMACE with symmetric contraction) and nequip.

For each model, one subprocess builds it with the real e3nn 0.6.0 (float64, seeded), saves its ``state_dict`` (and,
for mace, the whole model with ``torch.save(model)``), and evaluates energies and forces; another runs the same code
under ``python -m e3torch.compat`` with the real e3nn blocked, loads that ``state_dict`` (``strict=True``) and must
give the same energies and forces to 1e-8, train a step and change its prediction; so must mace with its symmetric
contractions fused by :func:`e3torch.integrations.mace.accelerate`. The speed ratio e3nn / e3torch
of one energy+forces evaluation is reported (``-rA`` shows it; no assertion on it: speed lives in benchmarks/).

Needs mace-torch and nequip (``pip install --no-deps mace-torch`` plus the ``compat-test`` extra); skipped otherwise.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from conftest import Py

HERE = Path(__file__).parent


def _need(*packages: str) -> None:
    for package in packages:
        if importlib.util.find_spec(package) is None:
            pytest.skip(f"{package} is not installed (pip install --no-deps mace-torch; pip install .[compat-test])")


def _last_json(proc: Any, what: str) -> dict[str, Any]:
    assert proc.returncode == 0, f"{what} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _compare(reference: dict[str, Any], ours: dict[str, Any]) -> None:
    import torch

    assert reference["e3nn"] == "e3nn" and ours["e3nn"] == "e3torch.compat"
    assert reference["keys"] == ours["keys"], "state_dict keys differ"
    for key in ("energy", "forces"):
        a, b = torch.tensor(reference[key], dtype=torch.float64), torch.tensor(ours[key], dtype=torch.float64)
        torch.testing.assert_close(b, a, atol=1e-8, rtol=0, msg=lambda m, key=key: f"{key}: {m}")
    assert abs(reference["loss"] - ours["loss"]) <= 1e-8 * max(1.0, abs(reference["loss"]))
    assert ours["changed"], "the training step did not change the model's prediction"


def _report(record_property: Any, name: str, reference: dict[str, Any], ours: dict[str, Any]) -> None:
    import torch

    for key in ("energy", "forces"):
        a, b = torch.tensor(reference[key], dtype=torch.float64), torch.tensor(ours[key], dtype=torch.float64)
        diff = float((a - b).abs().max())
        record_property(f"{name}_max_{key}_difference", diff)
        print(f"\n{name}: max {key} difference {diff:.3g}")
    if reference.get("time") and ours.get("time"):
        ratio = reference["time"] / ours["time"]
        record_property(f"{name}_speed_ratio_e3nn_over_e3torch", round(ratio, 3))
        print(f"\n{name}: e3nn {reference['time'] * 1e3:.1f} ms, e3torch {ours['time'] * 1e3:.1f} ms, ratio {ratio:.2f}x")


@pytest.mark.slow
@pytest.mark.parametrize("scale_shift", [False, True], ids=["MACE", "ScaleShiftMACE"])
def test_mace_matches_e3nn(py: Py, tmp_path: Path, scale_shift: bool, record_property: Any) -> None:
    _need("mace", "e3nn")
    script = str(HERE / "_mace_case.py")
    flags = ["--repeat", "5"] + (["--scale-shift"] if scale_shift else [])
    reference = _last_json(py.run([script, str(tmp_path), "--save-pickle", *flags], blocked=False), "mace on e3nn")
    ours = _last_json(
        py.run(["-m", "e3torch.compat", script, str(tmp_path), "--load", str(tmp_path / "state.pt"), *flags]),
        "mace on e3torch",
    )
    _compare(reference, ours)
    assert "e3nn" not in ours["modules"]
    name = "MACE" + ("_scale_shift" if scale_shift else "")
    _report(record_property, name, reference, ours)

    # with the fused symmetric contractions (e3torch.integrations.mace.accelerate): same state dict, same numbers
    fused = _last_json(
        py.run(
            ["-m", "e3torch.compat", script, str(tmp_path), "--load", str(tmp_path / "state.pt"), "--accelerate",
             *flags]
        ),
        "accelerated mace on e3torch",
    )
    _compare(reference, fused)
    assert "e3nn" not in fused["modules"] and "e3torch" in fused["modules"]
    _report(record_property, name + "_accelerated", reference, fused)

    # the whole model, pickled with e3nn, loads without it
    loaded = _last_json(
        py.run(["-m", "e3torch.compat", script, str(tmp_path), "--load-pickle", str(tmp_path / "model.pt")]),
        "e3nn-pickled mace on e3torch",
    )
    _compare(reference, loaded)
    assert "e3nn" not in loaded["modules"] and "e3torch" in loaded["modules"]


@pytest.mark.slow
def test_nequip_matches_e3nn(py: Py, tmp_path: Path, record_property: Any) -> None:
    _need("nequip", "e3nn")
    script = str(HERE / "_nequip_case.py")
    reference = _last_json(py.run([script, str(tmp_path), "--repeat", "5"], blocked=False), "nequip on e3nn")
    ours = _last_json(
        py.run(
            ["-m", "e3torch.compat", script, str(tmp_path), "--load", str(tmp_path / "nequip_state.pt"),
             "--repeat", "5"]
        ),
        "nequip on e3torch",
    )
    _compare(reference, ours)
    _report(record_property, "nequip", reference, ours)
