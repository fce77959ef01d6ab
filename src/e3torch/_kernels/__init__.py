"""Compiled CPU kernels: C++ sources shipped with the package, built on first use and cached.

The sources (``*.cpp``, ``*.h`` next to this file) are compiled with :func:`torch.utils.cpp_extension.load` into
torch's extension cache the first time they are needed (about half a minute) and loaded from the cache afterwards.
Without a working C++ compiler (or ``ninja``) the kernels are simply unavailable and the callers use their
pure-PyTorch paths; :func:`kernel_build_error` says why.
"""

from __future__ import annotations

from e3torch._kernels._build import kernel_build_error, tensor_product_ops_available

__all__ = ["tensor_product_ops_available", "kernel_build_error"]
