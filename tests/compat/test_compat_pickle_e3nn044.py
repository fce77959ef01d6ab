"""Whole-model pickles made with e3nn 0.4.4 (TorchScript code in their CodeGenMixin state) load on e3torch.

The pickles in ``data/e3nn044/`` were written by ``_make_e3nn044_pickles.py`` with e3nn 0.4.4. They load in a
subprocess with the hook and no e3nn. Where e3nn 0.4's Wigner 3j symbols have the other sign than 0.6's, internal
weights absorb it (``fctp_flip``: same outputs); where nothing can (external weights, unweighted paths), loading
fails with a clear error instead of silently computing something else.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from conftest import Py

DATA = Path(__file__).parent / "data" / "e3nn044"
REFUSED = {"tp_external_flip": "external weights", "etp_flip": "no weights"}

_LOADER = """
import glob, json, os, sys
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
        err = max(float((a - b).abs().max()) for a, b in zip(outs, data["ys"]))
        results[name] = {"ok": True, "err": err, "version": data["version"],
                         "modules": sorted({type(m).__module__.split(".")[0] for m in model.modules()})}
    except Exception as error:
        results[name] = {"ok": False, "error": f"{type(error).__name__}: {error}"}
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def loaded(py: Py) -> dict[str, Any]:
    proc = py.run(["-c", _LOADER, str(DATA)])
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("name", sorted(p.stem for p in DATA.glob("*.pt")))
def test_e3nn044_pickle(name: str, loaded: dict[str, Any]) -> None:
    result = loaded[name]
    if name in REFUSED:
        assert not result["ok"], f"{name} loaded, but its signs cannot be represented"
        assert result["error"].startswith("ValueError: the pickled e3nn")
        assert "other sign (as e3nn 0.4 did)" in result["error"] and REFUSED[name] in result["error"]
        return
    assert result["ok"], result["error"]
    assert result["version"] == "0.4.4"
    assert result["err"] < 1e-12, f"{name}: outputs differ from e3nn 0.4.4's by {result['err']}"
    assert result["modules"] == ["e3torch"] or "e3nn" not in result["modules"]
