"""Compiled CPU kernels: C++ sources shipped with the package, built on first use and cached.

The sources (``*.cpp``, ``*.h`` next to this file) are grouped in kernel families (:data:`FAMILIES`), each compiled
with :func:`torch.utils.cpp_extension.load` into torch's extension cache the first time it is needed (under a
minute) and loaded from the cache afterwards. Without a working C++ compiler (or ``ninja``) the kernels are simply
unavailable and the callers use their pure-PyTorch paths; :func:`kernel_build_error` says why.
"""

from __future__ import annotations

from e3torch._kernels._build import FAMILIES, kernel_build_error, kernels_available, tensor_product_ops_available

__all__ = ["FAMILIES", "kernels_available", "tensor_product_ops_available", "kernel_build_error"]
