"""Loading pickles of whole e3nn models (``torch.save(model)`` made with e3nn) onto e3torch modules.

A pickled ``torch.nn.Module`` is its class (by import path) and its ``__dict__``. Under the import hook, the class
``e3nn.o3._linear.Linear`` *is* ``e3torch.o3.Linear``, so unpickling makes an e3torch object and hands it e3nn's
``__dict__``, whose attributes (``instructions``, ``__codegen__``, ...) are not e3torch's. For each such class a
:class:`Translator` here knows how to read the e3nn state: it derives the constructor arguments, builds the e3torch
module, loads e3nn's parameters and buffers into it (same ``state_dict`` layout) and checks that the result computes
the same function (e.g. the same path weights). The class's ``__setstate__`` is wrapped (once, when
``e3torch.compat`` is imported) to call the translator when the state is e3nn's and the original otherwise, so
e3torch's own pickles and ``copy.deepcopy`` are unaffected.

A state is recognised as e3nn's when it has the translator's e3nn marker attributes and none of the attributes that
an e3torch instance of the class has but e3nn's has not (found once from a sample instance); where e3torch's and
e3nn's attribute names coincide, when it lacks one of the sample's parameters or buffers (else e3nn's state is
e3torch's too, and is used as it is). The e3nn state of each
translated module is remembered (weakly), so that a container's translator can read its children's e3nn arguments
(the activation functions of a ``Gate``, for example).

Examples
--------
>>> from e3torch.compat._pickle import registered
>>> "e3torch.o3:Linear" in registered()
True
"""

from __future__ import annotations

import dataclasses
import weakref
from collections.abc import Callable
from typing import Any

import torch

from e3torch.compat._export import MISSING, resolve

__all__ = ["Translator", "e3nn_state_dict", "e3nn_state_of", "is_e3nn_state", "rebuild", "register", "registered"]

_MODULE_KEYS = frozenset(torch.nn.Module().__dict__)

#: the e3nn state of every module built from one (weak keys: forgotten with the module)
_E3NN_STATES: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()


@dataclasses.dataclass(frozen=True)
class Translator:
    """How to rebuild the e3torch class at ``target`` from the ``__dict__`` of a pickled e3nn instance.

    Attributes
    ----------
    target : str
        ``"module:Class"`` of the e3torch class (the class is looked up when registering; absent: skipped).
    e3nn_attrs : frozenset of str
        The attributes of e3nn's instances besides ``torch.nn.Module``'s own (from e3nn 0.6.0 pickles).
    marker : frozenset of str
        Attributes every e3nn state of the class has.
    build : callable
        ``build(state, cls) -> torch.nn.Module``: the e3torch module (its weights loaded) for the e3nn state.
    sample : callable
        ``sample(cls) -> instance``: a small e3torch instance, to learn which attributes only e3torch has.
    """

    target: str
    e3nn_attrs: frozenset[str]
    marker: frozenset[str]
    build: Callable[[dict[str, Any], type], torch.nn.Module]
    sample: Callable[[type], Any]


_REGISTRY: dict[str, Translator] = {}
_CLASSES: dict[type, Translator] = {}
_OWN_ATTRS: dict[type, frozenset[str]] = {}
_SAMPLES: dict[type, Any] = {}


def registered() -> dict[str, Translator]:
    """The translators by target (``"module:Class"``), including those whose class e3torch lacks so far.

    Examples
    --------
    >>> sorted(registered())[:1]
    ['e3torch.compat._legacy:_Sortcut']
    """
    return dict(_REGISTRY)


def e3nn_state_of(module: Any) -> dict[str, Any] | None:
    """The e3nn ``__dict__`` that ``module`` was rebuilt from (``None`` if it was not loaded from an e3nn pickle).

    Examples
    --------
    >>> e3nn_state_of(torch.nn.Linear(1, 1)) is None
    True
    """
    try:
        return _E3NN_STATES.get(module)
    except TypeError:  # unhashable / not weak-referenceable
        return None


def e3nn_state_dict(state: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The ``state_dict`` that the e3nn module with ``__dict__`` ``state`` had (parameters, persistent buffers).

    Examples
    --------
    >>> m = torch.nn.Linear(2, 1)
    >>> sorted(e3nn_state_dict(m.__dict__))
    ['bias', 'weight']
    """
    holder = torch.nn.Module()
    for key in ("_parameters", "_buffers", "_modules", "_non_persistent_buffers_set"):
        if key in state:
            holder.__dict__[key] = state[key]
    return dict(holder.state_dict())


def _dtype_device(tensors: dict[str, torch.Tensor]) -> tuple[torch.dtype | None, torch.device | None]:
    floats = [t for t in tensors.values() if isinstance(t, torch.Tensor) and t.is_floating_point()]
    if not floats:
        return None, None
    return floats[0].dtype, floats[0].device


def rebuild(module: torch.nn.Module, state: dict[str, Any], what: str) -> torch.nn.Module:
    """Move ``module`` to the dtype/device of e3nn's tensors and load e3nn's ``state_dict`` into it.

    e3torch must have every e3nn tensor under the same key and shape; it may have more buffers (constants it
    computes itself, e.g. the Clebsch-Gordan coefficients that e3nn keeps in its generated code), which keep their
    values. A parameter that e3nn does not have is an error.

    Parameters
    ----------
    module : torch.nn.Module
        The freshly built e3torch module.
    state : dict
        The e3nn ``__dict__``.
    what : str
        The e3nn class, for messages.

    Returns
    -------
    torch.nn.Module
        ``module``.

    Raises
    ------
    ValueError
        When the layouts do not agree.

    Examples
    --------
    >>> a, b = torch.nn.Linear(2, 1), torch.nn.Linear(2, 1)
    >>> bool(torch.equal(rebuild(b, a.__dict__, "Linear").weight, a.weight))
    True
    """
    sd = e3nn_state_dict(state)
    dtype, device = _dtype_device(sd)
    if dtype is not None:
        module.to(device=device, dtype=dtype)
    ours = module.state_dict()
    unexpected = sorted(set(sd) - set(ours))
    params = {name for name, _ in module.named_parameters()}
    missing = sorted(k for k in set(ours) - set(sd) if k in params)
    shapes = sorted(k for k in set(sd) & set(ours) if sd[k].shape != ours[k].shape)
    if unexpected or missing or shapes:
        raise ValueError(
            f"cannot load the pickled e3nn {what} into e3torch's {type(module).__name__}: state_dict layouts differ "
            f"(only in e3nn: {unexpected}, parameters only in e3torch: {missing}, "
            f"different shapes: {[(k, tuple(sd[k].shape), tuple(ours[k].shape)) for k in shapes]})"
        )
    module.load_state_dict(sd, strict=False)
    module.training = bool(state.get("training", True))
    return module


def _own_attrs(cls: type, translator: Translator) -> frozenset[str]:
    if cls not in _OWN_ATTRS:
        try:
            sample = translator.sample(cls)
        except Exception:  # noqa: BLE001 - an e3torch class that changed its signature: never translate
            _OWN_ATTRS[cls] = frozenset()
        else:
            _OWN_ATTRS[cls] = frozenset(set(vars(sample)) - translator.e3nn_attrs - _MODULE_KEYS)
            _SAMPLES[cls] = sample
    return _OWN_ATTRS[cls]


def _missing_tensors(sample_cls: type, state: dict[str, Any]) -> bool:
    """Whether e3torch's instances have a direct parameter or buffer that ``state`` lacks."""
    sample = _SAMPLES.get(sample_cls)
    if sample is None:
        return False
    for key in ("_parameters", "_buffers"):
        theirs = state.get(key) or {}
        if any(name not in theirs for name in getattr(sample, key, {})):
            return True
    return False


def is_e3nn_state(cls: type, state: Any) -> bool:
    """Whether ``state`` (a pickled ``__dict__``) is that of an e3nn instance of the class e3torch has as ``cls``.

    It is when it has the e3nn marker attributes and none of the attributes that only e3torch's instances have;
    for a class whose instances have no such attribute, when it lacks one of e3torch's parameters or buffers.

    Examples
    --------
    >>> import e3torch.o3
    >>> is_e3nn_state(e3torch.o3.Linear, vars(e3torch.o3.Linear("1x0e", "1x0e")))
    False
    """
    translator = _translator_for(cls)
    if translator is None or not isinstance(state, dict) or not translator.marker <= state.keys():
        return False
    base = _registered_base(cls)
    own = _own_attrs(base, translator)
    if own:
        return not (own & state.keys())
    return _missing_tensors(base, state)


def _registered_base(cls: type) -> type:
    for base in cls.__mro__:
        if base in _CLASSES:
            return base
    raise KeyError(cls)


def _translator_for(cls: type) -> Translator | None:
    for base in cls.__mro__:
        if base in _CLASSES:
            return _CLASSES[base]
    return None


_HOOK_DICTS = (
    "_load_state_dict_pre_hooks", "_load_state_dict_post_hooks", "_state_dict_hooks", "_state_dict_pre_hooks",
)


def _repoint_hooks(self: torch.nn.Module, new: torch.nn.Module) -> None:
    """Hooks that ``new`` registered with itself as their module (``with_module``) now refer to ``self``."""
    wrapped = getattr(torch.nn.modules.module, "_WrappedHook", None)
    if wrapped is None:  # pragma: no cover - torch internals moved
        return
    for name in _HOOK_DICTS:
        hooks = getattr(new, name, None)
        if not hooks:
            continue
        fresh = type(hooks)()
        for key, hook in hooks.items():
            if isinstance(hook, wrapped) and getattr(hook, "with_module", False):
                hook = wrapped(hook.hook, self)
            fresh[key] = hook
        self.__dict__[name] = fresh


def _adopt(self: torch.nn.Module, new: torch.nn.Module, state: dict[str, Any], translator: Translator) -> None:
    self.__dict__.update(new.__dict__)
    _repoint_hooks(self, new)
    if type(self) is not _registered_base(type(self)):
        # a client subclass of the e3nn class: keep the attributes it added itself
        extra = {k: v for k, v in state.items() if k not in translator.e3nn_attrs and k not in _MODULE_KEYS}
        extra.pop("__codegen__", None)
        for key, value in extra.items():
            self.__dict__.setdefault(key, value)
    _E3NN_STATES[self] = state


def _wrap_setstate(cls: type) -> None:
    original = cls.__setstate__ if hasattr(cls, "__setstate__") else None

    def __setstate__(self: Any, state: Any) -> None:
        if is_e3nn_state(type(self), state):
            translator = _translator_for(type(self))
            assert translator is not None
            base = _registered_base(type(self))
            new = translator.build(state, base)
            _adopt(self, new, state, translator)
        elif original is not None:
            original(self, state)
        else:  # pragma: no cover - every nn.Module has one
            self.__dict__.update(state)

    __setstate__.__doc__ = f"Restore a pickled {cls.__name__}; also reads the state of e3nn's class (e3torch.compat)."
    __setstate__.__e3torch_compat__ = True  # type: ignore[attr-defined]
    cls.__setstate__ = __setstate__  # type: ignore[attr-defined]


def register(translator: Translator) -> None:
    """Register ``translator``; wrap its class's ``__setstate__`` if e3torch has the class. Idempotent.

    Examples
    --------
    >>> register(registered()["e3torch.o3:Linear"])
    """
    _REGISTRY[translator.target] = translator
    module, _, name = translator.target.partition(":")
    cls = resolve(module, name)
    if cls is MISSING or not isinstance(cls, type):
        return
    if cls in _CLASSES:
        _CLASSES[cls] = translator
        return
    _CLASSES[cls] = translator
    if not getattr(cls.__dict__.get("__setstate__"), "__e3torch_compat__", False):
        _wrap_setstate(cls)


def attrs(*names: str) -> frozenset[str]:
    """``frozenset(names)``, split on whitespace (for writing translator tables).

    Examples
    --------
    >>> sorted(attrs("a b", "c"))
    ['a', 'b', 'c']
    """
    return frozenset(n for group in names for n in group.split())


# the translators register themselves
from e3torch.compat import _pickle_experimental, _pickle_nn, _pickle_o3  # noqa: F401, E402
