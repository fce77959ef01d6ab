"""The one-line switch: ``import e3torch.compat.install`` / ``e3torch.compat.install()`` and the runner.

Every check runs in a subprocess where the real e3nn is blocked, so it proves the switch works without e3nn.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import Py

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_import_install_maps_every_path_to_the_same_module_objects(py: Py) -> None:
    out = py.json(
        """
        import importlib, json, sys
        try:
            import e3nn
            blocked = False
        except ImportError as error:
            blocked = "the real e3nn is blocked" in str(error)
        import e3torch.compat.install
        from e3torch.compat._table import TABLE
        import e3nn, e3torch.o3
        same, provided = {}, []
        for path in TABLE:
            name = "e3nn" + ("." + path if path else "")
            try:
                module = importlib.import_module(name)
            except ImportError as error:
                same[path] = repr(error)
                continue
            target = "e3torch.compat" + ("." + path if path else "")
            same[path] = module is sys.modules[target] and sys.modules[name] is module
        from e3nn.o3 import Irreps
        from e3nn.o3._irreps import Irreps as Irreps2, Irrep
        from e3nn.util.jit import compile_mode
        x = e3torch.o3.Irreps("1x0e")
        print(json.dumps({
            "same": same,
            "irreps": Irreps is e3torch.o3.Irreps and Irreps2 is Irreps,
            "isinstance": isinstance(x, Irreps) and isinstance(Irrep("1o"), e3torch.o3.Irrep),
            "name": e3nn.__name__,
            "version": e3nn.__version__,
            "spec": e3nn.o3.__spec__.name,
            "blocked": blocked,
        }))
        """
    )
    failed = {path: ok for path, ok in out["same"].items() if ok is not True}
    assert not failed, f"e3nn paths that do not give the compat module: {failed}"
    assert out["irreps"] and out["isinstance"]
    assert out["name"] == "e3torch.compat"
    assert out["spec"] == "e3torch.compat.o3"  # the module keeps its own spec (importlib.reload works)
    assert out["version"].startswith("0.6.0+e3torch.")
    assert out["blocked"], "the real e3nn was importable in the test subprocess"


def test_install_function_metadata_and_version(py: Py) -> None:
    out = py.json(
        """
        import importlib.metadata, json, sys
        import e3torch.compat
        e3torch.compat.install()
        e3torch.compat.install()  # idempotent
        import e3nn
        from packaging.version import Version
        import e3torch.compat.install as inst
        inst()  # the module is callable too
        out = {
            "is_compat": e3nn is e3torch.compat,
            "metadata": importlib.metadata.version("e3nn"),
            "ge_05": Version(e3nn.__version__) >= Version("0.5") and Version(e3nn.__version__) < Version("0.7"),
            "callable": callable(e3torch.compat.install),
        }
        from e3torch.compat import _hook
        _hook.uninstall()
        try:
            import e3nn
            out["blocked_after_uninstall"] = False
        except ImportError:
            out["blocked_after_uninstall"] = True
        out["installed"] = _hook.is_installed()
        out["left"] = "e3nn.o3" in sys.modules
        print(json.dumps(out))
        """
    )
    assert out == {
        "is_compat": True, "metadata": out["metadata"], "ge_05": True, "callable": True,
        "blocked_after_uninstall": True, "installed": False, "left": False,
    }
    assert out["metadata"].startswith("0.6.0+e3torch.")


def test_install_refuses_after_the_real_e3nn_was_imported(py: Py) -> None:
    pytest.importorskip("e3nn")
    proc = py.run(["-c", "import e3nn.o3, e3torch.compat; e3torch.compat.install()"], blocked=False)
    assert proc.returncode != 0
    assert "cannot switch e3nn to e3torch: the real e3nn is already imported" in proc.stderr


def _script(tmp_path: Path) -> Path:
    script = tmp_path / "client.py"
    script.write_text(
        textwrap.dedent(
            """
            import json, sys
            import e3nn
            from e3nn import o3
            print(json.dumps({"name": __name__, "argv": sys.argv, "path0": sys.path[0], "e3nn": e3nn.__name__,
                              "dim": o3.Irreps("2x1o").dim, "file": __file__}))
            """
        )
    )
    return script


def test_runner_runs_a_script_like_python(py: Py, tmp_path: Path) -> None:
    script = _script(tmp_path)
    proc = py.run(["-m", "e3torch.compat", str(script), "--flag", "x"])
    assert proc.returncode == 0, proc.stderr
    import json

    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["name"] == "__main__" and out["e3nn"] == "e3torch.compat" and out["dim"] == 6
    assert out["argv"] == [str(script), "--flag", "x"]
    assert Path(out["path0"]) == tmp_path


def test_runner_runs_a_module_and_propagates_the_exit_code(py: Py, tmp_path: Path) -> None:
    (tmp_path / "clientmod.py").write_text("import sys, e3nn\nprint(__name__, e3nn.__name__, sys.argv[1:])\nsys.exit(3)\n")
    proc = py.run(["-m", "e3torch.compat", "-m", "clientmod", "a"], cwd=tmp_path)
    assert proc.returncode == 3, proc.stderr
    assert proc.stdout.split() == ["__main__", "e3torch.compat", "['a']"]


def test_runner_argument_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from e3torch.compat.__main__ import main

    for argv, message in [
        ([], "usage: python -m e3torch.compat script.py"),
        ([str(tmp_path / "nope.py")], "can't open file"),
        (["-m"], "-m needs an argument"),
        (["-c"], "-c needs an argument"),
    ]:
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 2
        assert message in capsys.readouterr().err
    from e3torch.compat import _hook

    assert not _hook.is_installed()


def test_in_process_import_does_not_install() -> None:
    import e3torch.compat
    from e3torch.compat import _hook

    assert not _hook.is_installed()
    assert e3torch.compat.__name__ == "e3torch.compat"
