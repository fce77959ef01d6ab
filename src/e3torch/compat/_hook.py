"""The import hook: ``import e3nn`` (and every ``e3nn.*``) gives the matching ``e3torch.compat`` module.

A meta-path finder, placed first on ``sys.meta_path``, answers for ``e3nn`` and ``e3nn.<path>``: it imports
``e3torch.compat.<path>`` and hands that very module object to the import system, so ``sys.modules["e3nn.o3"] is
sys.modules["e3torch.compat.o3"]``. Classes are the same objects under both names: ``isinstance`` checks agree, and
pickles that name ``e3nn.*`` classes load the e3torch ones. It works whether or not the real e3nn is installed (the
real one is shadowed). The same finder answers ``importlib.metadata`` queries for the distribution ``e3nn`` with the
version :data:`e3torch.compat.__version__`, so version checks of clients see a 0.6-compatible e3nn.

Examples
--------
>>> from e3torch.compat import _hook
>>> _hook.is_installed() in (True, False)
True
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.metadata
import sys
import types
from collections.abc import Iterator, Sequence
from typing import Any

__all__ = ["E3nnAliasFinder", "install", "is_installed", "uninstall"]

_ALIAS = "e3nn"
_TARGET = "e3torch.compat"


def _target_name(fullname: str) -> str | None:
    if fullname == _ALIAS:
        return _TARGET
    if fullname.startswith(_ALIAS + "."):
        return _TARGET + fullname[len(_ALIAS) :]
    return None


class _AliasLoader(importlib.abc.Loader):
    """Loads an ``e3nn.*`` name as the already imported ``e3torch.compat.*`` module."""

    def __init__(self, module: types.ModuleType) -> None:
        self._module = module
        self._spec = module.__spec__

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return self._module

    def exec_module(self, module: types.ModuleType) -> None:
        # the import system wrote the alias spec onto the module: give it back its own
        module.__spec__ = self._spec


class _E3nnDistribution(importlib.metadata.Distribution):
    """Metadata of the distribution ``e3nn`` as e3torch's compat layer provides it."""

    def read_text(self, filename: str) -> str | None:
        if filename in ("METADATA", "PKG-INFO"):
            from e3torch.compat import __version__

            return (
                "Metadata-Version: 2.1\nName: e3nn\n"
                f"Version: {__version__}\nSummary: e3nn API provided by e3torch.compat\n"
            )
        return None

    def locate_file(self, path: Any) -> Any:
        import pathlib

        return pathlib.Path(__file__).parent / str(path)


class E3nnAliasFinder(importlib.abc.MetaPathFinder):
    """The meta-path finder that maps ``e3nn`` and ``e3nn.*`` onto ``e3torch.compat`` and its submodules.

    Examples
    --------
    >>> finder = E3nnAliasFinder()
    >>> finder.find_spec("numpy", None) is None
    True
    >>> finder.find_spec("e3nn.o3", None).name
    'e3nn.o3'
    """

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        name = _target_name(fullname)
        if name is None:
            return None
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name == name:  # no such compat module: e3nn.<path> is not provided
                return None
            raise
        is_package = hasattr(module, "__path__")
        spec = importlib.machinery.ModuleSpec(fullname, _AliasLoader(module), is_package=is_package)
        if is_package:
            spec.submodule_search_locations = list(module.__path__)
        return spec

    def find_distributions(self, context: Any = None) -> Iterator[importlib.metadata.Distribution]:
        name = getattr(context, "name", None)
        if name is None or importlib.metadata.Prepared.normalize(name) == _ALIAS:
            yield _E3nnDistribution()


_FINDER = E3nnAliasFinder()


def is_installed() -> bool:
    """Whether the hook is active in this process.

    Examples
    --------
    >>> isinstance(is_installed(), bool)
    True
    """
    return any(isinstance(f, E3nnAliasFinder) for f in sys.meta_path)


def _foreign_e3nn_modules() -> list[str]:
    out = []
    for key, module in list(sys.modules.items()):
        if key == _ALIAS or key.startswith(_ALIAS + "."):
            if module is not None and not getattr(module, "__name__", "").startswith(_TARGET):
                out.append(key)
    return sorted(out)


def install() -> None:
    """Make ``import e3nn`` (and ``e3nn.*``) give ``e3torch.compat`` in this process. Idempotent.

    Raises
    ------
    RuntimeError
        When the real e3nn was already imported: its classes are in use and cannot be swapped any more.

    Examples
    --------
    In a fresh interpreter (a subprocess here, so that this process keeps its own e3nn):

    >>> import subprocess, sys
    >>> code = "import e3torch.compat.install, e3nn.o3, e3torch.o3; print(e3nn.o3.Irreps is e3torch.o3.Irreps)"
    >>> subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip()
    'True'
    """
    foreign = _foreign_e3nn_modules()
    if foreign:
        raise RuntimeError(
            "cannot switch e3nn to e3torch: the real e3nn is already imported "
            f"({', '.join(foreign[:3])}{', ...' if len(foreign) > 3 else ''}); "
            "install the hook (import e3torch.compat.install) before anything imports e3nn"
        )
    if not is_installed():
        sys.meta_path.insert(0, _FINDER)
    importlib.import_module(_ALIAS)


def uninstall() -> None:
    """Remove the hook and forget the ``e3nn`` aliases in ``sys.modules`` (for tests). Idempotent.

    Examples
    --------
    >>> from e3torch.compat import _hook
    >>> _hook.uninstall()
    >>> _hook.is_installed()
    False
    """
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, E3nnAliasFinder)]
    for key in list(sys.modules):
        if key == _ALIAS or key.startswith(_ALIAS + "."):
            if getattr(sys.modules[key], "__name__", "").startswith(_TARGET):
                del sys.modules[key]
