"""Build (or load from torch's extension cache) the C++ kernels, once per process.

The extension is compiled for the machine it runs on (``-O3 -march=native``); its name carries a fingerprint of
the sources, the flags and the CPU's instruction-set flags, so a cache directory shared between different machines
never hands one machine a binary built for another. torch's cache lives in ``TORCH_EXTENSIONS_DIR`` (default
``~/.cache/torch_extensions``); concurrent first builds are serialised by torch's file lock.
"""

from __future__ import annotations

import functools
import hashlib
import pathlib
import platform

__all__ = ["tensor_product_ops_available", "kernel_build_error", "build_tensor_product_ops"]

_HERE = pathlib.Path(__file__).parent
_SOURCES = ("tensor_product.cpp",)
_HEADERS = ("tp_common.h", "tp_paths.h", "tp_weights.h", "tp_scalar.h")
_CFLAGS = ("-O3", "-march=native", "-fopenmp", "-std=c++17", "-Wno-unused-variable")
_ERRORS: list[str] = []


def _cpu_fingerprint() -> str:
    try:
        text = pathlib.Path("/proc/cpuinfo").read_text()
        flags = next((line for line in text.splitlines() if line.startswith(("flags", "Features"))), "")
    except OSError:
        flags = ""
    return flags + platform.machine()


def _extension_name() -> str:
    digest = hashlib.sha256()
    for name in _SOURCES + _HEADERS:
        digest.update((_HERE / name).read_bytes())
    digest.update(" ".join(_CFLAGS).encode())
    digest.update(_cpu_fingerprint().encode())
    return f"e3torch_tp_{digest.hexdigest()[:12]}"


def build_tensor_product_ops(verbose: bool = False) -> str:
    """Compile (or load from the cache) the tensor-product extension and load it into this process.

    Parameters
    ----------
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
    >>> from e3torch._kernels import tensor_product_ops_available
    >>> tensor_product_ops_available() in (True, False)
    True
    """
    import torch
    from torch.utils import cpp_extension

    path = cpp_extension.load(
        name=_extension_name(),
        sources=[str(_HERE / name) for name in _SOURCES],
        extra_cflags=list(_CFLAGS),
        extra_ldflags=["-fopenmp"],
        extra_include_paths=[str(_HERE)],
        is_python_module=False,
        verbose=verbose,
    )
    if not hasattr(torch.ops.e3torch_tp, "apply"):  # pragma: no cover - load() registers the operator
        raise RuntimeError(f"loaded {path} but the operator e3torch_tp::apply is not registered")
    return str(path)


@functools.lru_cache(maxsize=None)
def tensor_product_ops_available() -> bool:
    """Whether the compiled tensor-product operators are available (building them on the first call).

    The first call in a fresh environment compiles the kernels (about a minute); later calls, and later processes,
    load them from torch's extension cache.

    Returns
    -------
    bool

    Examples
    --------
    >>> isinstance(tensor_product_ops_available(), bool)
    True
    """
    try:
        build_tensor_product_ops()
        from e3torch._kernels import _tp_ops

        _tp_ops.register()
    except Exception as error:  # noqa: BLE001 - any build failure means "use the fallback"
        _ERRORS.append(f"{type(error).__name__}: {error}".strip()[:2000])
        return False
    return True


def kernel_build_error() -> str:
    """Why the kernels are unavailable (empty when they are available).

    Returns
    -------
    str

    Examples
    --------
    >>> isinstance(kernel_build_error(), str)
    True
    """
    return "" if tensor_product_ops_available() else (_ERRORS[-1] if _ERRORS else "unknown")
