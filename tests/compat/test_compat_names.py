"""Every module of e3nn 0.6.0 exists in ``e3torch.compat`` with every name that clients can use.

The names required at a path are those of e3nn's ``dir()`` that e3nn defines (classes and functions whose
``__module__`` is in e3nn, and e3nn submodules), the public constants, and the private names that clients import or
that pickles of e3nn models refer to (:data:`PRIVATE_USED`). Typing aliases and third-party modules that e3nn merely
imports (``torch``, ``Optional``, ...) are not required.

:data:`KNOWN_MISSING` and :data:`KNOWN_MISSING_PATHS` list what e3torch does not provide, each with its reason. A
missing name that is not listed fails the test; a listed name that has appeared is reported as a warning, so the
list can be trimmed (it must stay minimal), without failing the build of whoever landed the name.
"""

from __future__ import annotations

import importlib
import pkgutil
import types
import warnings

import pytest

e3nn = pytest.importorskip("e3nn")

from e3torch.compat._table import TABLE

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")

#: private names that clients import (mace: ``nn._fc._Layer``) or that e3nn pickles refer to.
PRIVATE_USED = {
    "o3._irreps": {"_MulIr"},
    "o3._spherical_harmonics": {"_spherical_harmonics"},
    "nn._gate": {"_Sortcut"},
    "nn._fc": {"_Layer"},
}

#: e3nn modules that e3torch.compat does not provide, and why.
KNOWN_MISSING_PATHS: dict[str, str] = {
    "o3._spherical_harmonics_generator": "sympy code generator of e3nn's own spherical harmonics (dev tool)",
    "o3._tensor_product._codegen": "e3nn's torch.fx code generation; e3torch executes plans without codegen",
    "util._argtools": "private helpers of e3nn.util.test",
    "util._context": "empty module",
    "nn.models.v2103": "example networks (need torch_scatter / torch_cluster), not provided",
    "nn.models.v2104": "example networks, not provided",
    "nn.models.v2203": "example networks (need torchsparse), not provided",
}

#: names that e3torch.compat does not provide at paths it does provide, and why.
KNOWN_MISSING: dict[str, dict[str, str]] = {
    "o3._tensor_product": {"_codegen": "see KNOWN_MISSING_PATHS"},
    "o3._tensor_product._tensor_product": {
        "codegen_tensor_product_left_right": "e3nn's torch.fx code generator; e3torch needs none",
        "codegen_tensor_product_right": "e3nn's torch.fx code generator; e3torch needs none",
    },
    "nn.models": {name: "see KNOWN_MISSING_PATHS" for name in ("v2103", "v2104")},
}


def _e3nn_paths() -> list[str]:
    paths = [""]
    for info in pkgutil.walk_packages(e3nn.__path__, "e3nn."):
        paths.append(info.name[len("e3nn.") :])
    return sorted(paths)


def _is_constant(obj: object) -> bool:
    return isinstance(obj, (int, float, str, bytes, tuple, dict, frozenset)) and not isinstance(obj, bool)


def required_names(module: types.ModuleType, path: str) -> set[str]:
    """The names of ``module`` (an e3nn module) that the compat module at ``path`` must have."""
    out = set()
    for name in dir(module):
        if name.startswith("__"):
            continue
        obj = getattr(module, name)
        if isinstance(obj, types.ModuleType):
            # a submodule is an attribute of its parent only once something imported it: skip the known-missing ones
            subpath = f"{path}.{name}" if path else name
            if (obj.__name__ == "e3nn" or obj.__name__.startswith("e3nn.")) and subpath not in KNOWN_MISSING_PATHS:
                out.add(name)
            continue
        if name.startswith("_"):
            if name in PRIVATE_USED.get(path, set()):
                out.add(name)
            continue
        defined_in = getattr(obj, "__module__", None)
        if isinstance(defined_in, str) and defined_in.startswith("e3nn") or _is_constant(obj):
            out.add(name)
    return out


def test_every_e3nn_module_is_provided_or_known_missing() -> None:
    paths = _e3nn_paths()
    def known(p: str) -> bool:
        return any(p == k or p.startswith(k + ".") for k in KNOWN_MISSING_PATHS)

    unaccounted = [p for p in paths if p not in TABLE and not known(p)]
    assert not unaccounted, f"e3nn modules without a compat module: {['e3nn.' + p for p in unaccounted]}"
    stale = [p for p in KNOWN_MISSING_PATHS if p in TABLE]
    assert not stale, f"KNOWN_MISSING_PATHS lists provided paths: {stale}"
    extra = [p for p in TABLE if p not in paths]
    assert not extra, f"compat modules that e3nn 0.6.0 does not have: {extra}"


@pytest.mark.parametrize("path", sorted(TABLE))
def test_names_match_e3nn(path: str) -> None:
    name = "e3nn" + ("." + path if path else "")
    try:
        reference = importlib.import_module(name)
    except ImportError as error:  # pragma: no cover - e3nn modules with optional third-party dependencies
        pytest.skip(f"{name} does not import here: {error}")
    ours = importlib.import_module("e3torch.compat" + ("." + path if path else ""))
    missing = required_names(reference, path) - set(dir(ours))
    known = KNOWN_MISSING.get(path, {})
    unexpected = sorted(missing - set(known))
    assert not unexpected, f"e3torch.compat.{path or '<top>'} lacks e3nn names {unexpected}"
    appeared = sorted(set(known) - missing)
    if appeared:
        warnings.warn(f"e3torch.compat.{path}: {appeared} are now provided; remove them from KNOWN_MISSING")


@pytest.mark.parametrize("path", sorted(TABLE))
def test_submodule_names_are_the_compat_modules(path: str) -> None:
    ours = importlib.import_module("e3torch.compat" + ("." + path if path else ""))
    for attr in dir(ours):
        obj = getattr(ours, attr)
        if isinstance(obj, types.ModuleType) and obj.__name__.startswith("e3torch.compat"):
            assert obj is importlib.import_module(obj.__name__)
        elif isinstance(obj, types.ModuleType) and not attr.startswith("_") and attr not in ("torch",):
            assert not obj.__name__.startswith("e3nn"), f"{path}.{attr} is the real e3nn module {obj.__name__}"


def test_top_level_names_and_version() -> None:
    from packaging.version import Version

    from e3torch import compat

    assert Version(compat.__version__) >= Version("0.5")
    assert Version(compat.__version__).release == (0, 6, 0)
    for sub in ("o3", "nn", "io", "math", "util"):
        assert getattr(compat, sub) is importlib.import_module(f"e3torch.compat.{sub}")


def test_same_objects_behind_public_and_private_paths() -> None:
    import e3torch.o3
    from e3torch import compat

    assert compat.o3.Irreps is compat.o3._irreps.Irreps is e3torch.o3.Irreps
    assert compat.o3.irrep.Irrep is e3torch.o3.Irrep
    assert compat.o3._tensor_product._tensor_product.TensorProduct is e3torch.o3.TensorProduct
    assert compat.o3._linear.Linear is e3torch.o3.Linear
    assert compat.math.perm is compat.o3._irreps.perm
    assert compat.o3._linear.e3nn is compat
