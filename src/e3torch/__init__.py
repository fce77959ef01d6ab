"""e3torch: E(3)-equivariant neural networks for PyTorch, a drop-in and faster replacement for e3nn.

>>> import e3torch
>>> from e3torch import o3
>>> o3.Irreps("16x0e + 8x1o").dim
40
"""

__version__ = "0.1.0"

from e3torch import o3, nn, math, io, util  # noqa: E402,F401

__all__ = ["o3", "nn", "math", "io", "util", "__version__"]
