"""``import e3torch`` stays light: it does not load ``torch._dynamo`` (seconds), and the compile marks still work."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest
import torch

from e3torch import _compiler
from e3torch.o3 import _spherical_harmonics, _wigner, _wigner_3j

SRC = pathlib.Path(_compiler.__file__).parent

# Run in a fresh interpreter: is torch._dynamo loaded by `import e3torch`, and if so which e3torch file asked first?
_PROBE = r"""
import builtins, json, sys, traceback
import torch
first = []
real = builtins.__import__
def spy(name, *args, **kwargs):
    if name.startswith("torch._dynamo") and "torch._dynamo" not in sys.modules and not first:
        first.extend(f.filename for f in traceback.extract_stack())
    return real(name, *args, **kwargs)
builtins.__import__ = spy
import e3torch
builtins.__import__ = real
ours = [f for f in first if "e3torch" in f.replace("\\", "/").split("/")]
print(json.dumps({"dynamo": "torch._dynamo" in sys.modules, "culprit": ours[-1] if ours else None}))
"""

@pytest.fixture(scope="module")
def probe() -> dict:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    out = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_import_does_not_load_dynamo(probe: dict) -> None:
    assert not probe["dynamo"], f"`import e3torch` imports torch._dynamo (first from {probe['culprit']})"


def test_no_module_applies_torchs_decorator() -> None:
    users = [
        path.relative_to(SRC).as_posix()
        for path in sorted(SRC.rglob("*.py"))
        if "@torch.compiler.assume_constant_result" in path.read_text(encoding="utf-8")
    ]
    assert users == [], f"use e3torch._compiler.assume_constant_result instead of torch's in {users}"


def test_mark_is_torchs() -> None:
    def ours() -> int:
        return 1

    def theirs() -> int:
        return 1

    assert _compiler.assume_constant_result(ours) is ours
    assert torch.compiler.assume_constant_result(theirs) is theirs
    assert vars(ours) == vars(theirs) == {_compiler._MARK: True}


@pytest.mark.parametrize(
    "fn",
    [
        _wigner._wigner_D_frequency_phase,
        _wigner._wigner_D_coefficients,
        _spherical_harmonics._kernel_constants,
        _spherical_harmonics._factor_constants,
        _spherical_harmonics._parse_constant,
        _wigner_3j._e3nn04_sign_constant,
        _wigner_3j._wigner_3j_float64,
    ],
)
def test_constant_functions_are_marked(fn) -> None:
    assert getattr(fn, _compiler._MARK, False) is True


def test_marked_constant_folds_under_fullgraph_compile() -> None:
    calls = []

    @_compiler.assume_constant_result
    def table(n: int) -> tuple[float, ...]:
        calls.append(n)  # traced, this side effect would be replayed at every call of the compiled function
        return tuple(float(i) for i in range(n))

    def f(x: torch.Tensor) -> torch.Tensor:
        return x * torch.tensor(table(3), dtype=x.dtype)

    torch._dynamo.reset()
    compiled = torch.compile(f, fullgraph=True, backend="eager")
    for _ in range(2):
        torch.testing.assert_close(compiled(torch.ones(3)), torch.tensor([0.0, 1.0, 2.0]))
    assert calls == [3]  # called once, while tracing, not traced
