"""``e3nn.util.codegen.CodeGenMixin`` on e3torch: register generated ``torch.fx`` modules as plain submodules.

e3nn's mixin keeps generated ``GraphModule`` s as submodules and, when pickled, stores them under the state key
``__codegen__`` as ``{name: (kind, payload)}`` (``"fx"``: a pickled ``GraphModule``; ``"jit"``/bytes: a serialized
TorchScript module, as e3nn 0.4.x wrote). This mixin registers them the same way (so ``state_dict`` keys are those
of e3nn) and needs no special pickling of its own: ``GraphModule`` s pickle natively. Its ``__setstate__`` also reads
e3nn's ``__codegen__`` form, so client classes derived from the mixin load from pickles made with e3nn.

Examples
--------
>>> import torch
>>> from e3torch.compat.util.codegen import CodeGenMixin
>>> class Double(CodeGenMixin, torch.nn.Module):
...     def __init__(self):
...         super().__init__()
...         self._codegen_register({"_f": torch.fx.symbolic_trace(lambda x: 2 * x)})
...     def forward(self, x):
...         return self._f(x)
>>> Double()(torch.ones(2)).tolist()
[2.0, 2.0]
"""

from __future__ import annotations

import io
import pickle
from typing import Any

import torch

from e3torch.compat._export import export

__all__ = ["CodeGenMixin", "load_codegen_payload"]

_CODEGEN_KEY = "__codegen__"


def load_codegen_payload(name: str, payload: Any) -> torch.nn.Module:
    """Rebuild one generated module from e3nn's pickled ``__codegen__`` entry.

    Parameters
    ----------
    name : str
        The attribute name (for error messages).
    payload : tuple or bytes
        ``("fx", pickled GraphModule bytes)``, ``("jit", TorchScript bytes)`` or TorchScript bytes.

    Returns
    -------
    torch.nn.Module
        The ``GraphModule`` or ``ScriptModule``.

    Raises
    ------
    ValueError
        For a payload of an unknown form.

    Examples
    --------
    >>> gm = torch.fx.symbolic_trace(lambda x: x + 1)
    >>> load_codegen_payload("f", ("fx", pickle.dumps(gm)))(torch.zeros(1)).tolist()
    [1.0]
    """
    kind, data = payload if isinstance(payload, tuple) and len(payload) == 2 else ("jit", payload)
    if kind == "fx" and isinstance(data, (bytes, bytearray)):
        return pickle.loads(data)
    if kind == "jit" and isinstance(data, (bytes, bytearray)):
        return torch.jit.load(io.BytesIO(data))
    raise ValueError(
        f"cannot read e3nn generated code {name!r}: expected ('fx', bytes), ('jit', bytes) or bytes, "
        f"got {type(payload).__name__}"
    )


class CodeGenMixin:
    """Mixin for modules that hold generated ``torch.fx.GraphModule`` s (e3nn's ``CodeGenMixin``).

    Examples
    --------
    >>> class M(CodeGenMixin, torch.nn.Module):
    ...     pass
    >>> m = M()
    >>> m._codegen_register({"g": torch.fx.symbolic_trace(torch.nn.Identity())})
    >>> isinstance(m.g, torch.fx.GraphModule)
    True
    """

    def _codegen_register(self, funcs: dict[str, torch.nn.Module]) -> None:
        """Register each ``GraphModule`` (or ``ScriptModule``) of ``funcs`` as a submodule under its key.

        Raises
        ------
        TypeError
            When ``funcs`` is not a dict of ``torch.fx.GraphModule`` / ``torch.jit.ScriptModule``.

        Examples
        --------
        >>> m = type("M", (CodeGenMixin, torch.nn.Module), {})()
        >>> m._codegen_register({"g": 3})
        Traceback (most recent call last):
        ...
        TypeError: expected a dict of torch.fx.GraphModule, got int for 'g'
        """
        if not isinstance(funcs, dict):
            raise TypeError(f"expected a dict of torch.fx.GraphModule, got {type(funcs).__name__}")
        if not isinstance(self, torch.nn.Module):
            raise TypeError(f"CodeGenMixin must be mixed into a torch.nn.Module, got {type(self).__name__}")
        for fname, graphmod in funcs.items():
            if not isinstance(graphmod, (torch.fx.GraphModule, torch.jit.ScriptModule)):
                raise TypeError(f"expected a dict of torch.fx.GraphModule, got {type(graphmod).__name__} for {fname!r}")
            self.add_module(fname, graphmod)

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Restore a pickled module, reading e3nn's ``__codegen__`` entries into submodules."""
        state = dict(state)
        codegen = state.pop(_CODEGEN_KEY, None) or {}
        parent: Any = super()
        if hasattr(parent, "__setstate__"):
            parent.__setstate__(state)
        else:  # pragma: no cover - torch.nn.Module always defines it
            self.__dict__.update(state)
        for fname, payload in codegen.items():
            self._modules[fname] = load_codegen_payload(fname, payload)  # type: ignore[attr-defined]


__all__ += export(globals())
