"""``e3nn.set_optimization_defaults`` / ``e3nn.get_optimization_defaults``: accepted and stored, never read.

e3nn uses these process-wide switches to choose between its code generation and TorchScript paths. e3torch has one
execution path (plain eager modules that also work under ``torch.compile`` and ``torch.export``), and no e3torch
module reads global state, so the settings here have **no effect**: they are validated like e3nn validates them and
kept per process, so that client code that saves, changes and restores them keeps working.

Examples
--------
>>> from e3torch.compat._options import get_optimization_defaults, set_optimization_defaults
>>> before = get_optimization_defaults()
>>> set_optimization_defaults(jit_script_fx=False)
>>> get_optimization_defaults()["jit_script_fx"]
False
>>> set_optimization_defaults(**before)
"""

from __future__ import annotations

from typing import Any

__all__ = ["get_optimization_defaults", "set_optimization_defaults"]

_JIT_MODES = ("script", "inductor", "eager")
_DEFAULTS: dict[str, Any] = {"specialized_code": True, "optimize_einsums": True, "jit_script_fx": True, "jit_mode": "eager"}
_current: dict[str, Any] = dict(_DEFAULTS)


def set_optimization_defaults(**kwargs: Any) -> None:
    """Store e3nn's optimization settings (they have no effect on e3torch modules).

    Parameters
    ----------
    **kwargs
        Any of ``specialized_code`` (bool), ``optimize_einsums`` (bool), ``jit_script_fx`` (bool) and
        ``jit_mode`` (``"script"``, ``"inductor"`` or ``"eager"``), as in e3nn 0.6.0.

    Raises
    ------
    ValueError
        For an unknown option or a ``jit_mode`` outside the three accepted values.
    TypeError
        For a boolean option given something other than a bool.

    Examples
    --------
    >>> set_optimization_defaults(optimize_einsums=False)
    >>> get_optimization_defaults()["optimize_einsums"]
    False
    >>> set_optimization_defaults(optimize_einsums=True)
    >>> set_optimization_defaults(fast=True)
    Traceback (most recent call last):
    ...
    ValueError: Unknown optimization option: fast (expected one of specialized_code, optimize_einsums, \
jit_script_fx, jit_mode)
    """
    for key, value in kwargs.items():
        if key not in _DEFAULTS:
            raise ValueError(f"Unknown optimization option: {key} (expected one of {', '.join(_DEFAULTS)})")
        if key == "jit_mode":
            if value not in _JIT_MODES:
                raise ValueError(f"Invalid jit_mode: {value!r}. Expected 'script', 'inductor', or 'eager'.")
        elif not isinstance(value, bool):
            raise TypeError(f"expected a bool for optimization option {key}, got {type(value).__name__} {value!r}")
    _current.update(kwargs)


def get_optimization_defaults() -> dict[str, Any]:
    """A copy of the stored e3nn optimization settings (see :func:`set_optimization_defaults`).

    Returns
    -------
    dict
        ``specialized_code``, ``optimize_einsums``, ``jit_script_fx`` and ``jit_mode``, e3nn's defaults unless set.

    Examples
    --------
    >>> sorted(get_optimization_defaults())
    ['jit_mode', 'jit_script_fx', 'optimize_einsums', 'specialized_code']
    """
    return dict(_current)
