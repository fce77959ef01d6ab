"""Build (or load from torch's extension cache) the C++ kernels, once per process and per kernel family.

Each family (tensor products, gate, batch norm, linear, ...) is its own small extension: a list of sources and
headers next to this file, and the ``torch.ops`` namespace its sources register. A family is compiled for the
machine it runs on (``-O3 -march=native``); its name carries a fingerprint of the sources, the flags and the CPU's
instruction-set flags, so a cache directory shared between different machines never hands one machine a binary
built for another. torch's cache lives in ``TORCH_EXTENSIONS_DIR`` (default ``~/.cache/torch_extensions``);
concurrent first builds are serialised by torch's file lock.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib
import pathlib
import platform

__all__ = [
    "KernelFamily",
    "FAMILIES",
    "kernels_available",
    "tensor_product_ops_available",
    "kernel_build_error",
    "build_tensor_product_ops",
]

_HERE = pathlib.Path(__file__).parent
_CFLAGS = ("-O3", "-march=native", "-fopenmp", "-std=c++17", "-Wno-unused-variable")
_ERRORS: dict[str, str] = {}


@dataclasses.dataclass(frozen=True)
class KernelFamily:
    """One compiled extension: its sources, headers, operator namespace and the Python module that registers it.

    ``register_module`` names a module with a ``register()`` function (fake implementations, autograd) that runs
    once after the library is loaded; ``operator`` is one operator the sources must define, checked after loading.

    Examples
    --------
    >>> FAMILIES["tp"].namespace
    'e3torch_tp'
    """

    sources: tuple[str, ...]
    headers: tuple[str, ...]
    namespace: str
    operator: str
    register_module: str


FAMILIES: dict[str, KernelFamily] = {
    "tp": KernelFamily(
        ("tensor_product.cpp",),
        ("tp_common.h", "tp_paths.h", "tp_weights.h", "tp_scalar.h"),
        "e3torch_tp",
        "apply",
        "e3torch._kernels._tp_ops",
    ),
    # one entry per family; each family's owner edits only its own entry
    "gate": KernelFamily(("gate.cpp",), (), "e3torch_gate", "forward", "e3torch._kernels._gate_ops"),
    "batchnorm": KernelFamily(("batchnorm.cpp",), (), "e3torch_bn", "forward", "e3torch._kernels._batchnorm_ops"),
    "linear": KernelFamily(
        ("linear.cpp",), ("tp_common.h",), "e3torch_linear", "forward", "e3torch._kernels._linear_ops"
    ),
    "multilinear": KernelFamily(
        ("multilinear.cpp",), (), "e3torch_multilinear", "forward", "e3torch._kernels._multilinear_ops"
    ),
}


def _cpu_fingerprint() -> str:
    try:
        text = pathlib.Path("/proc/cpuinfo").read_text()
        flags = next((line for line in text.splitlines() if line.startswith(("flags", "Features"))), "")
    except OSError:
        flags = ""
    return flags + platform.machine()


def _extension_name(family: KernelFamily) -> str:
    digest = hashlib.sha256()
    for name in family.sources + family.headers:
        digest.update((_HERE / name).read_bytes())
    digest.update(" ".join(_CFLAGS).encode())
    digest.update(_cpu_fingerprint().encode())
    return f"{family.namespace}_{digest.hexdigest()[:12]}"


def build_family(key: str, verbose: bool = False) -> str:
    """Compile (or load from the cache) the extension of one kernel family and load it into this process.

    Parameters
    ----------
    key : str
        A key of :data:`FAMILIES`, e.g. ``"tp"``.
    verbose : bool
        Print the compiler's output.

    Returns
    -------
    str
        Path of the loaded shared library.

    Raises
    ------
    RuntimeError
        When the extension cannot be built (no compiler, no ninja, ...).

    Examples
    --------
    >>> kernels_available("tp") in (True, False)
    True
    """
    import torch
    from torch.utils import cpp_extension

    family = FAMILIES[key]
    path = cpp_extension.load(
        name=_extension_name(family),
        sources=[str(_HERE / name) for name in family.sources],
        extra_cflags=list(_CFLAGS),
        extra_ldflags=["-fopenmp"],
        extra_include_paths=[str(_HERE)],
        is_python_module=False,
        verbose=verbose,
    )
    namespace = getattr(torch.ops, family.namespace)
    if not hasattr(namespace, family.operator):  # pragma: no cover - load() registers the operator
        raise RuntimeError(f"loaded {path} but the operator {family.namespace}::{family.operator} is not registered")
    return str(path)


def build_tensor_product_ops(verbose: bool = False) -> str:
    """Compile (or load from the cache) the tensor-product extension; :func:`build_family` for ``"tp"``.

    Examples
    --------
    >>> tensor_product_ops_available() in (True, False)
    True
    """
    return build_family("tp", verbose=verbose)


@functools.lru_cache(maxsize=None)
def kernels_available(key: str) -> bool:
    """Whether the compiled operators of one kernel family are available (building them on the first call).

    The first call in a fresh environment compiles the family (under a minute); later calls, and later processes,
    load it from torch's extension cache.

    Parameters
    ----------
    key : str
        A key of :data:`FAMILIES`.

    Returns
    -------
    bool

    Examples
    --------
    >>> isinstance(kernels_available("tp"), bool)
    True
    """
    try:
        build_family(key)
        importlib.import_module(FAMILIES[key].register_module).register()
    except Exception as error:  # noqa: BLE001 - any build failure means "use the fallback"
        _ERRORS[key] = f"{type(error).__name__}: {error}".strip()[:2000]
        return False
    return True


def tensor_product_ops_available() -> bool:
    """Whether the compiled tensor-product operators are available (building them on the first call).

    Returns
    -------
    bool

    Examples
    --------
    >>> isinstance(tensor_product_ops_available(), bool)
    True
    """
    return kernels_available("tp")


def kernel_build_error(key: str = "tp") -> str:
    """Why the kernels of one family are unavailable (empty when they are available).

    Parameters
    ----------
    key : str
        A key of :data:`FAMILIES`; the tensor products by default.

    Returns
    -------
    str

    Examples
    --------
    >>> isinstance(kernel_build_error(), str)
    True
    """
    return "" if kernels_available(key) else _ERRORS.get(key, "unknown")
