"""Helpers for the compat tests: run Python code in a subprocess where the real e3nn cannot be imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

_BLOCKER = '''
import importlib.abc, sys

class _BlockRealE3nn(importlib.abc.MetaPathFinder):
    """Refuse the real e3nn: only e3torch.compat's import hook (placed before this finder) may answer for it."""

    def find_spec(self, name, path, target=None):
        if name == "e3nn" or name.startswith("e3nn."):
            raise ImportError(f"the real e3nn is blocked in this test ({name})")
        return None

sys.meta_path.insert(0, _BlockRealE3nn())
'''


@pytest.fixture(scope="session")
def blocker_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder whose ``sitecustomize.py`` blocks the real e3nn in any interpreter that has it on PYTHONPATH."""
    folder = tmp_path_factory.mktemp("no_e3nn")
    (folder / "sitecustomize.py").write_text(_BLOCKER)
    return folder


def _env(blocker: Path | None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in [str(blocker) if blocker else "", env.get("PYTHONPATH", "")] if p)
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def run_python(
    args: list[str], blocker: Path | None, cwd: Path | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """``python args...`` in a subprocess (with the real e3nn blocked when ``blocker`` is given)."""
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=_env(blocker), cwd=cwd, timeout=timeout
    )


def run_json(code: str, blocker: Path | None, timeout: float = 600) -> dict:
    """Run ``code`` (which prints one JSON object as its last line) in a subprocess; return that object."""
    proc = run_python(["-c", textwrap.dedent(code)], blocker, timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(f"subprocess failed (rc={proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


class Py:
    """Run Python subprocesses; ``blocked=True`` (the default) hides the real e3nn."""

    def __init__(self, blocker: Path) -> None:
        self.blocker = blocker

    def run(self, args: list[str], blocked: bool = True, cwd: Path | None = None, timeout: float = 600):
        return run_python(args, self.blocker if blocked else None, cwd=cwd, timeout=timeout)

    def json(self, code: str, blocked: bool = True, timeout: float = 600) -> dict:
        return run_json(code, self.blocker if blocked else None, timeout=timeout)


@pytest.fixture(scope="session")
def py(blocker_dir: Path) -> Py:
    """A :class:`Py` runner (session-wide)."""
    return Py(blocker_dir)
