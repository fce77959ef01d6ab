"""Generate the API reference pages: every public name of the documented e3torch modules.

A module's public names are its ``__all__`` when it has one, else every name in ``dir(module)`` that does not
start with ``_`` and is defined in e3torch (not a submodule, not a re-exported third-party object). The names are
grouped by the private module that defines them (``e3torch.o3._irreps`` -> "Irreps"), in the order of first
appearance, and listed in ``autosummary`` tables whose stub pages autosummary writes. New public names appear in
the reference without editing the docs; ``tests/docs/test_docs_pages.py`` checks the coverage.
"""

from __future__ import annotations

import importlib
import inspect
import pathlib
import re
import sys
from collections.abc import Iterable

#: The documented modules, in the order of the reference, with a one-line description.
MODULES: dict[str, str] = {
    "e3torch.o3": "Irreducible representations of O(3), rotations, spherical harmonics, tensor products, linear maps.",
    "e3torch.nn": "Equivariant neural-network modules: activations, gates, normalization, fully connected networks.",
    "e3torch.math": "Mathematical helpers: radial bases, soft steps, normalized activations, linear algebra.",
    "e3torch.io": "Input/output conversions, such as Cartesian tensors to and from irreps.",
    "e3torch.util.test": "Testing helpers: equivariance and normalization checks, compilation checks, seeds.",
    "e3torch.models": "Ready-made equivariant models: a NequIP-style potential, gate-points networks, ASE calculator.",
    "e3torch.integrations.mace": "Faster executors for mace-torch models: fused symmetric contractions, same state dict.",
}

#: Section titles for the private modules that define public names (fallback: the module docstring).
SECTION_TITLES: dict[str, str] = {
    "e3torch.o3._irreps": "Irreps",
    "e3torch.o3._rotation": "Rotations",
    "e3torch.o3._rotation_quaternion": "Quaternions",
    "e3torch.o3._wigner": "Wigner D matrices and generators",
    "e3torch.o3._wigner_3j": "Wigner 3j symbols",
    "e3torch.o3._legendre": "Legendre functions",
    "e3torch.o3._spherical_harmonics": "Spherical harmonics",
    "e3torch.o3._angular_spherical_harmonics": "Spherical harmonics of angles",
    "e3torch.o3._s2grid": "Grids on the sphere",
    "e3torch.o3._so3grid": "Grids on the rotation group",
    "e3torch.o3._tensor_product._tensor_product": "Tensor products",
    "e3torch.o3._tensor_product._instruction": "Tensor products",
    "e3torch.o3._tensor_product._sub": "Tensor products",
    "e3torch.o3._linear": "Linear",
    "e3torch.o3._norm": "Norm",
    "e3torch.o3._reduce": "Reduced tensor products",
    "e3torch.o3.experimental._products": "Experimental tensor products (e3nn 0.6)",
    "e3torch.nn._activation": "Activation",
    "e3torch.nn._gate": "Gate",
    "e3torch.nn._batchnorm": "Normalization",
    "e3torch.nn._fc": "Fully connected networks",
    "e3torch.nn._normact": "Norm-based activation",
    "e3torch.nn._extract": "Extracting irreps",
    "e3torch.nn._dropout": "Dropout",
    "e3torch.nn._identity": "Identity",
    "e3torch.nn._s2act": "Activations on the sphere",
    "e3torch.nn._so3act": "Activations on the rotation group",
    "e3torch.io._cartesian_tensor": "Cartesian tensors",
    "e3torch.io._spherical_tensor": "Signals on the sphere",
    "e3torch.math._linalg": "Linear algebra",
    "e3torch.math._normalize_activation": "Normalized activations",
    "e3torch.math._soft_unit_step": "Soft unit step",
    "e3torch.math._bessel": "Bessel basis",
    "e3torch.math._soft_one_hot_linspace": "Soft one-hot encoding",
    "e3torch.math._reduce": "Permutation symmetries",
    "e3torch.math._sparse_multilinear": "Sparse multilinear maps",
    "e3torch.models._radial": "Radial functions",
    "e3torch.models._potential": "Potentials",
    "e3torch.models._io": "Saving and loading",
    "e3torch.models._nequip": "NequIP",
    "e3torch.models._gate_points": "Gate-points networks",
    "e3torch.models._calculator": "ASE calculator",
}


def _defined_in_e3torch(obj: object) -> bool:
    module = getattr(obj, "__module__", None)
    return isinstance(module, str) and (module == "e3torch" or module.startswith("e3torch."))


def public_names(module_name: str) -> list[str]:
    """The public names of ``module_name`` (its ``__all__``, or its non-underscore e3torch-defined names)."""
    module = importlib.import_module(module_name)
    names = getattr(module, "__all__", None)
    if names is not None:
        return [n for n in names if not n.startswith("_")]
    out = []
    for name in dir(module):
        if name.startswith("_"):
            continue
        obj = getattr(module, name)
        if inspect.ismodule(obj) or not _defined_in_e3torch(obj):
            continue
        out.append(name)
    # order of definition in the facade (``dir`` sorts alphabetically; ``vars`` keeps insertion order)
    order = {n: i for i, n in enumerate(vars(module))}
    return sorted(out, key=lambda n: order.get(n, len(order)))


def _section_of(module_name: str, name: str) -> str:
    obj = getattr(importlib.import_module(module_name), name)
    if inspect.ismodule(obj):
        return "Submodules"
    defining = getattr(obj, "__module__", None)
    if not isinstance(defining, str) or defining == module_name:
        return "Contents"
    if defining in SECTION_TITLES:
        return SECTION_TITLES[defining]
    doc = inspect.getdoc(sys.modules.get(defining)) or ""
    first = re.split(r"[:,(.]", doc.split("\n")[0])[0].strip()
    return first or defining.rsplit(".", 1)[-1].strip("_").replace("_", " ").capitalize()


def _underline(text: str, char: str) -> str:
    return f"{text}\n{char * len(text)}\n"


def module_page(module_name: str) -> str:
    """The reStructuredText of the reference page of ``module_name``."""
    sections: dict[str, list[str]] = {}
    for name in public_names(module_name):
        sections.setdefault(_section_of(module_name, name), []).append(name)
    lines = [
        ".. This file is generated by docs/_ext/_api.py at build time; do not edit.",
        "",
        _underline(f"``{module_name}``", "="),
        MODULES.get(module_name, ""),
        "",
        f".. automodule:: {module_name}",
        "   :no-members:",
        "",
        f".. currentmodule:: {module_name}",
        "",
    ]
    if not sections:
        lines += ["This module has no public names yet.", ""]
    for title, names in sections.items():
        lines += [_underline(title, "-"), ".. autosummary::", "   :toctree: .", "   :nosignatures:", ""]
        lines += [f"   {name}" for name in names]
        lines.append("")
    return "\n".join(lines)


def _write_if_changed(path: pathlib.Path, text: str) -> None:
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def write_api_pages(directory: pathlib.Path, modules: Iterable[str] = MODULES) -> None:
    """Write ``<directory>/<module>.rst`` for every documented module (only files whose text changed)."""
    directory.mkdir(parents=True, exist_ok=True)
    for module_name in modules:
        _write_if_changed(directory / f"{module_name}.rst", module_page(module_name))
