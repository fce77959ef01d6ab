"""``e3nn.util.jit`` on e3torch: compile-mode markers kept, compilation itself a no-op.

e3nn marks modules with ``@compile_mode("script" | "trace" | "unsupported")`` and its :func:`compile` walks a model,
scripting or tracing each marked submodule for TorchScript. e3torch modules are plain eager ``torch.nn.Module`` s
whose ``forward`` needs no code generation; they are meant for ``torch.compile`` and ``torch.export``, not
TorchScript. So here:

- :func:`compile_mode` and :func:`get_compile_mode` behave as in e3nn (the mark is stored on the class);
- :func:`compile`, :func:`script`, :func:`trace` and :func:`trace_module` return the module unchanged (a deep copy
  when ``in_place=False``): the result runs eagerly, use ``torch.compile(model)`` for speed;
- :func:`get_tracing_inputs` draws random inputs from ``irreps_in`` as e3nn does;
- :func:`disable_e3nn_codegen` is an empty context manager (e3torch never generates code).

Examples
--------
>>> import torch
>>> from e3torch.compat.util import jit
>>> @jit.compile_mode("script")
... class Block(torch.nn.Module):
...     def forward(self, x):
...         return 2 * x
>>> jit.get_compile_mode(Block())
'script'
>>> block = Block()
>>> jit.compile(block) is block
True
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import torch

from e3torch.compat._export import export

__all__ = [
    "compile",
    "compile_mode",
    "disable_e3nn_codegen",
    "get_compile_mode",
    "get_tracing_inputs",
    "script",
    "trace",
    "trace_module",
]

_E3NN_COMPILE_MODE = "__e3nn_compile_mode__"
_MAKE_TRACING_INPUTS = "_make_tracing_inputs"
_VALID_MODES = ("trace", "script", "unsupported", None)

T = TypeVar("T")


def compile_mode(mode: str | None) -> Callable[[T], T]:
    """Class decorator that records how e3nn would compile a module (``"trace"``, ``"script"``, ``"unsupported"``).

    Parameters
    ----------
    mode : str or None
        The compile mode.

    Returns
    -------
    callable
        The decorator; it returns the class itself, marked.

    Raises
    ------
    ValueError
        For a mode outside ``trace``, ``script``, ``unsupported`` and ``None``.
    TypeError
        When applied to something that is not a ``torch.nn.Module`` subclass.

    Examples
    --------
    >>> @compile_mode("trace")
    ... class M(torch.nn.Module):
    ...     pass
    >>> get_compile_mode(M())
    'trace'
    >>> compile_mode("fast")
    Traceback (most recent call last):
    ...
    ValueError: expected compile mode 'trace', 'script', 'unsupported' or None, got 'fast'
    """
    if mode not in _VALID_MODES:
        raise ValueError(f"expected compile mode 'trace', 'script', 'unsupported' or None, got {mode!r}")

    def decorator(obj: T) -> T:
        if not (isinstance(obj, type) and issubclass(obj, torch.nn.Module)):
            raise TypeError(f"@compile_mode can only decorate subclasses of torch.nn.Module, got {obj!r}")
        setattr(obj, _E3NN_COMPILE_MODE, mode)
        return obj

    return decorator


def get_compile_mode(mod: torch.nn.Module) -> str | None:
    """The compile mode recorded by :func:`compile_mode` on ``mod``'s class (``None`` if unmarked).

    ``torch.jit.ScriptModule`` instances report ``None``, as in e3nn.

    Examples
    --------
    >>> get_compile_mode(torch.nn.Linear(2, 2)) is None
    True
    """
    if isinstance(mod, torch.jit.ScriptModule):
        return None
    return getattr(mod, _E3NN_COMPILE_MODE, None)


def _maybe_copy(mod: torch.nn.Module, in_place: bool) -> torch.nn.Module:
    if not isinstance(mod, torch.nn.Module):
        raise TypeError(f"expected a torch.nn.Module, got {type(mod).__name__}")
    return mod if in_place else copy.deepcopy(mod)


def compile(
    mod: torch.nn.Module,
    n_trace_checks: int = 1,
    script_options: dict | None = None,
    trace_options: dict | None = None,
    in_place: bool = True,
    recurse: bool = True,
) -> torch.nn.Module:
    """Return ``mod`` as it is (eager): e3torch modules need no TorchScript compilation.

    The signature is e3nn's; the options are accepted and ignored. For speed, use ``torch.compile(mod)``.

    Parameters
    ----------
    mod : torch.nn.Module
        The module.
    n_trace_checks, script_options, trace_options, recurse
        Ignored.
    in_place : bool
        If False, a deep copy is returned.

    Returns
    -------
    torch.nn.Module

    Examples
    --------
    >>> m = torch.nn.Linear(2, 2)
    >>> compile(m, in_place=False) is m
    False
    """
    return _maybe_copy(mod, in_place)


def script(mod: torch.nn.Module, in_place: bool = True) -> torch.nn.Module:
    """Return ``mod`` unchanged (eager); see :func:`compile`.

    Examples
    --------
    >>> m = torch.nn.Linear(2, 2)
    >>> script(m) is m
    True
    """
    return _maybe_copy(mod, in_place)


def trace(
    mod: torch.nn.Module,
    example_inputs: tuple | None = None,
    check_inputs: list | None = None,
    in_place: bool = True,
) -> torch.nn.Module:
    """Return ``mod`` unchanged (eager); see :func:`compile`.

    Examples
    --------
    >>> m = torch.nn.Linear(2, 2)
    >>> trace(m, (torch.zeros(1, 2),)) is m
    True
    """
    return _maybe_copy(mod, in_place)


def trace_module(
    mod: torch.nn.Module,
    inputs: dict | None = None,
    check_inputs: list | None = None,
    in_place: bool = True,
) -> torch.nn.Module:
    """Return ``mod`` unchanged (eager); see :func:`compile`.

    Examples
    --------
    >>> m = torch.nn.Linear(2, 2)
    >>> trace_module(m, {"forward": (torch.zeros(1, 2),)}) is m
    True
    """
    return _maybe_copy(mod, in_place)


def _irreps_inputs(mod: torch.nn.Module) -> list[Any]:
    from e3torch.o3 import Irreps

    for names in (("irreps_in",), ("irreps_in1", "irreps_in2")):
        if all(hasattr(mod, n) for n in names):
            values = [getattr(mod, n) for n in names]
            if len(names) == 1 and isinstance(values[0], (list, tuple)) and not isinstance(values[0], Irreps):
                return [Irreps(v) for v in values[0]]
            return [Irreps(v) for v in values]
    raise ValueError(
        f"cannot make tracing inputs for {type(mod).__name__}: it has no irreps_in (or irreps_in1/irreps_in2) "
        f"and no {_MAKE_TRACING_INPUTS}(n) method"
    )


def get_tracing_inputs(
    mod: torch.nn.Module,
    n: int = 1,
    device: torch.device | None = None,
    dtype: torch.dtype | None = None,
) -> list[dict[str, tuple]]:
    """``n`` random input sets for ``mod``, each ``{"forward": (x, ...)}``, as e3nn's tracer would use.

    A module's own ``_make_tracing_inputs(n)`` wins; otherwise one ``(batch, irreps.dim)`` tensor is drawn per input
    irreps (``irreps_in``, or ``irreps_in1`` and ``irreps_in2``), with a random batch size of 1 to 8.

    Parameters
    ----------
    mod : torch.nn.Module
        The module.
    n : int
        How many input sets.
    device, dtype
        Of the tensors (default: those of the module's first parameter or buffer, else torch's defaults).

    Returns
    -------
    list of dict

    Raises
    ------
    ValueError
        When the inputs cannot be inferred.

    Examples
    --------
    >>> from e3torch import o3
    >>> inputs = get_tracing_inputs(o3.Linear("2x0e", "1x0e"), n=2)
    >>> len(inputs), inputs[0]["forward"][0].shape[-1]
    (2, 2)
    """
    if hasattr(mod, _MAKE_TRACING_INPUTS):
        return list(getattr(mod, _MAKE_TRACING_INPUTS)(n))
    irreps = _irreps_inputs(mod)
    tensors = list(mod.parameters()) + list(mod.buffers())
    if device is None:
        device = tensors[0].device if tensors else None
    if dtype is None:
        floats = [t for t in tensors if t.is_floating_point()]
        dtype = floats[0].dtype if floats else None
    out = []
    for _ in range(n):
        batch = int(torch.randint(1, 9, ()).item())
        out.append({"forward": tuple(torch.randn(batch, ir.dim, device=device, dtype=dtype) for ir in irreps)})
    return out


@contextlib.contextmanager
def disable_e3nn_codegen() -> Iterator[None]:
    """An empty context manager: e3torch generates no code, so there is nothing to disable.

    Examples
    --------
    >>> with disable_e3nn_codegen():
    ...     pass
    """
    yield


__all__ += export(globals())
