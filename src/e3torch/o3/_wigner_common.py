"""Helpers shared by the Wigner modules: argument checks, and caches of constant tensors.

Constants are computed once as NumPy arrays (in exact arithmetic, then float64) and cached. Their tensor
versions are cached per ``(dtype, device)`` as well, but only when they are plain tensors: a constant first
asked for while a tracing mode is active (the fake tensors of ``torch.export``, for instance) is built for
that call and not kept, so that tracing never leaves a fake tensor in the cache.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Hashable

import numpy as np
import torch

__all__ = ["ConstantCache", "check_degree", "fresh_copy"]


def check_degree(name: str, l: object) -> int:
    """Validate a degree ``l`` (a non-negative int) and return it as a Python int.

    Examples
    --------
    >>> check_degree("l", 3)
    3
    """
    if type(l) is int and l >= 0:  # the common case, fast
        return l
    if isinstance(l, bool) or not isinstance(l, numbers.Integral):
        raise TypeError(f"expected {name} to be an int, got {type(l).__name__} {l!r}")
    if l < 0:
        raise ValueError(f"expected {name} >= 0, got {name}={int(l)}")
    return int(l)


def _no_torch_function_mode() -> bool:
    """True when no torch-function mode (such as a ``with torch.device(...)`` context) is active."""
    stack_length = getattr(torch._C, "_len_torch_function_stack", None)
    return stack_length is not None and stack_length() == 0


def fresh_copy(x: torch.Tensor, dtype: torch.dtype, device: torch.device | str | None) -> torch.Tensor:
    """A new tensor with the values of ``x``; ``device=None`` means the current default device.

    Examples
    --------
    >>> fresh_copy(torch.ones(2, dtype=torch.float64), torch.float32, None)
    tensor([1., 1.])
    """
    if device is None:
        if _no_torch_function_mode():  # then no device context: the default device is the CPU
            return x.to(dtype=dtype, copy=True)
        return torch.empty(x.shape, dtype=dtype).copy_(x)  # the default device of the context
    return x.to(dtype=dtype, device=device, copy=True)


class ConstantCache:
    """Tensors made from the arrays ``build(*key)``, cached per ``(key, dtype, device)``.

    Parameters
    ----------
    build : callable
        returns a tuple of NumPy arrays for a hashable key; called once per key.
    maxsize : int
        the tensor cache is emptied when it holds this many entries.

    Examples
    --------
    >>> cache = ConstantCache(lambda n: (np.arange(n, dtype=np.float64),))
    >>> cache.get((3,), torch.float32, torch.device("cpu"))
    (tensor([0., 1., 2.]),)
    """

    def __init__(self, build: Callable[..., tuple[np.ndarray, ...]], maxsize: int = 256) -> None:
        self._build = build
        self._arrays: dict[Hashable, tuple[np.ndarray, ...]] = {}
        self._tensors: dict[Hashable, tuple[torch.Tensor, ...]] = {}
        self._maxsize = maxsize

    def get(self, key: tuple, dtype: torch.dtype, device: torch.device | str) -> tuple[torch.Tensor, ...]:
        """The constants for ``key`` as tensors of this dtype and device (shared: never modify them)."""
        hit = self._tensors.get((key, dtype, device))
        if hit is not None:
            return hit
        arrays = self._arrays.get(key)
        if arrays is None:
            arrays = self._arrays[key] = self._build(*key)
        with torch.inference_mode(False):  # plain tensors even when first asked for in inference mode
            tensors = tuple(torch.from_numpy(a).to(dtype=dtype, device=device) for a in arrays)
        if all(type(t) is torch.Tensor for t in tensors):  # never keep the fake tensors of a tracer
            if len(self._tensors) >= self._maxsize:
                self._tensors.clear()
            self._tensors[key, dtype, device] = tensors
        return tensors
