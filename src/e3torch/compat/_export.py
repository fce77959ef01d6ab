"""Fill a compat module's namespace from :data:`e3torch.compat._table.TABLE`.

Every compat module is a few lines: a docstring naming the e3nn path it stands for, and ``export(globals())``.

Examples
--------
>>> from e3torch.compat._export import resolve
>>> import e3torch.o3
>>> resolve("e3torch.o3", "Irreps") is e3torch.o3.Irreps
True
>>> resolve("e3torch.o3", "NoSuchName") is MISSING
True
>>> resolve("@@", "o3").__name__
'e3torch.compat.o3'
"""

from __future__ import annotations

import importlib
import types
from typing import Any

from e3torch.compat._table import TABLE

__all__ = ["MISSING", "compat_path", "export", "resolve"]

_ROOT = "e3torch.compat"


class _Missing:
    """The marker for a name that e3torch does not provide (yet)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def compat_path(module_name: str) -> str:
    """The e3nn path (relative to ``e3nn``) that a compat module stands for.

    Parameters
    ----------
    module_name : str
        A module name under ``e3torch.compat``.

    Returns
    -------
    str
        ``""`` for the top level, else the dotted path below ``e3nn``.

    Examples
    --------
    >>> compat_path("e3torch.compat.o3._irreps")
    'o3._irreps'
    >>> compat_path("e3torch.compat")
    ''
    """
    if module_name == _ROOT:
        return ""
    if not module_name.startswith(_ROOT + "."):
        raise ValueError(f"expected a module name under {_ROOT}, got {module_name!r}")
    return module_name[len(_ROOT) + 1 :]


def _import_optional(name: str) -> types.ModuleType | None:
    """Import ``name``; ``None`` if that module (or a parent) does not exist. Other errors propagate."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        missing = error.name or ""
        if name == missing or name.startswith(missing + "."):
            return None
        raise


def _getattr_path(obj: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if hasattr(obj, part):
            obj = getattr(obj, part)
        elif isinstance(obj, types.ModuleType):
            sub = _import_optional(f"{obj.__name__}.{part}")
            if sub is None:
                return MISSING
            obj = sub
        else:
            return MISSING
    return obj


def resolve(source: str, name: str) -> Any:
    """The object that ``source`` provides under ``name`` (see :mod:`e3torch.compat._table`), or ``MISSING``.

    Parameters
    ----------
    source : str
        A module path, ``"@<compat package>"`` or ``"@@"``.
    name : str
        The attribute (dotted for nested attributes) or, for ``"@"`` sources, the submodule.

    Returns
    -------
    object
        The object, or :data:`MISSING`.

    Examples
    --------
    >>> resolve("@o3", "_irreps").__name__
    'e3torch.compat.o3._irreps'
    """
    if source == "@@":
        target = f"{_ROOT}.{name}" if name else _ROOT
        module = _import_optional(target)
        return MISSING if module is None else module
    if source.startswith("@"):
        package = f"{_ROOT}.{source[1:]}" if len(source) > 1 else _ROOT
        module = _import_optional(f"{package}.{name}")
        return MISSING if module is None else module
    module = _import_optional(source)
    if module is None:
        return MISSING
    return _getattr_path(module, name)


def export(namespace: dict[str, Any]) -> list[str]:
    """Put the names of the module's table entry into ``namespace``; return the names exported.

    A name already defined in the module (an implementation written in the compat module itself) is kept.

    Parameters
    ----------
    namespace : dict
        The module's ``globals()``.

    Returns
    -------
    list of str
        The names now available from the table (for ``__all__``, sorted).

    Examples
    --------
    >>> ns = {"__name__": "e3torch.compat.o3.irrep"}
    >>> export(ns)
    ['Irrep']
    >>> ns["Irrep"].__name__
    'Irrep'
    """
    path = compat_path(namespace["__name__"])
    if path not in TABLE:
        raise ValueError(f"no entry for e3nn.{path} in e3torch.compat._table.TABLE")
    names: set[str] = set()
    for source, spec in TABLE[path]:
        for item in spec.split():
            name, _, attr = item.partition("=")
            if name in namespace:
                names.add(name)
                continue
            obj = resolve(source, attr if "=" in item else name)
            if obj is not MISSING:
                namespace[name] = obj
                names.add(name)
    return sorted(names)
