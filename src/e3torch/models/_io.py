"""Saving and loading trained potentials: hyperparameters + state dict in one file."""

from __future__ import annotations

import os
from typing import Any

import torch

from e3torch.models._potential import AtomisticPotential

__all__ = ["register_model", "save_model", "load_model", "build_model"]

_REGISTRY: dict[str, type[AtomisticPotential]] = {}


def register_model(cls: type[AtomisticPotential]) -> type[AtomisticPotential]:
    """Class decorator: make a potential class loadable by name from model files.

    Examples
    --------
    >>> @register_model
    ... class Toy(AtomisticPotential):
    ...     pass
    >>> build_model("Toy", {"species": [1], "cutoff": 2.0}).species
    (1,)
    """
    _REGISTRY[cls.__name__] = cls
    return cls


def build_model(name: str, hyperparameters: dict[str, Any]) -> AtomisticPotential:
    """Instantiate a registered potential class from its hyperparameters.

    Examples
    --------
    >>> build_model("Nope", {})
    Traceback (most recent call last):
    ...
    ValueError: unknown model class 'Nope'; known: ...
    """
    if name not in _REGISTRY:
        raise ValueError(f"unknown model class {name!r}; known: {sorted(_REGISTRY)}")
    return _REGISTRY[name](**hyperparameters)


def save_model(model: AtomisticPotential, path: str | os.PathLike[str], **extra: Any) -> None:
    """Write ``{"class", "hyperparameters", "state_dict", **extra}`` atomically to ``path``.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     save_model(build_model("Toy", {"species": [1], "cutoff": 2.0}), f"{tmp}/m.pt", note="hi")
    ...     load_model(f"{tmp}/m.pt").cutoff
    2.0
    """
    payload = {
        "class": type(model).__name__,
        "hyperparameters": model.hyperparameters(),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        **extra,
    }
    tmp = f"{os.fspath(path)}.{os.getpid()}.tmp"
    torch.save(payload, tmp)
    os.replace(tmp, path)


def load_model(
    path: str | os.PathLike[str], *, map_location: str | torch.device = "cpu"
) -> AtomisticPotential:
    """Rebuild a potential saved by :func:`save_model` (in eval mode; float64 files load as float64, others in
    torch's default dtype).

    Examples
    --------
    >>> load_model("missing.pt")
    Traceback (most recent call last):
    ...
    ValueError: model file not found: 'missing.pt'
    """
    if not os.path.exists(path):
        raise ValueError(f"model file not found: {os.fspath(path)!r}")
    payload = torch.load(path, map_location=map_location, weights_only=False)
    if not isinstance(payload, dict) or "class" not in payload or "state_dict" not in payload:
        raise ValueError(
            f"{os.fspath(path)!r} is not an e3torch model file (expected keys 'class', 'state_dict')"
        )
    model = build_model(payload["class"], payload["hyperparameters"])
    dtype = next((v.dtype for v in payload["state_dict"].values() if v.is_floating_point()), None)
    if dtype is not None and torch.finfo(dtype).bits > torch.finfo(torch.get_default_dtype()).bits:
        # only ever widen: narrowing would also round the float64 constant buffers of the fresh modules,
        # and a later .double() (MD, equivariance checks) could not restore them
        model.to(dtype)
    model.load_state_dict(payload["state_dict"])
    return model.eval()
