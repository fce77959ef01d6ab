"""The typed training configuration: a dataclass filled from YAML and ``key=value`` overrides, validated."""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["TrainConfig", "load_config", "parse_overrides", "save_config"]

_CHOICES: dict[str, tuple[str, ...]] = {
    "model": ("nequip",),
    "schedule": ("cosine", "constant"),
    "dtype": ("float32", "float64"),
    "device": ("auto", "cpu", "cuda"),
}


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Every setting of ``e3torch train``; the defaults train the default model on the embedded EMT dataset
    within a 9-minute wall-time budget (``max_minutes``; ``epochs`` is then an upper bound).

    Data
        ``dataset``: ``"emt"`` (the embedded EMT dataset with its fixed split) or an extxyz file of training
        structures; ``validation_dataset`` / ``test_dataset``: extxyz files (default: the EMT split, or a
        ``validation_fraction`` of ``dataset`` drawn with ``seed``); ``cache_dir``: where the EMT dataset is
        kept.
    Model
        ``cutoff`` (Å), ``num_features`` (channels per irrep), ``lmax`` (largest degree of edge attributes
        and features), ``num_layers`` (interaction blocks), ``num_basis`` (Bessel functions), ``cutoff_p``
        (polynomial cutoff order), ``radial_neurons`` / ``radial_layers`` (the radial MLP).
    Optimisation
        ``epochs``, ``batch_size`` (structures per step, over all processes), ``learning_rate``,
        ``final_lr_factor`` (cosine decay ends at ``learning_rate * final_lr_factor``), ``schedule``,
        ``warmup_epochs``, ``weight_decay``, ``energy_weight`` / ``force_weight`` / ``stress_weight`` (loss
        weights of the mean squared errors in eV/atom, eV/Å, eV/Å^3), ``grad_clip`` (0: off),
        ``ema_decay`` (exponential moving average of the weights used for evaluation; 0: off), ``seed``.
    Runtime
        ``dtype``, ``device``, ``num_threads`` (0: the cores that other processes leave idle, per local rank),
        ``max_minutes`` (wall-time budget of the
        whole run: the learning-rate schedule follows ``max(step / total_steps, time / budget)`` and training
        stops, checkpointed, when the budget is spent; 0: no budget, a purely epoch-based and reproducible
        schedule), ``output_dir``, ``plots``, ``progress`` (progress bar: ``None`` means only on a terminal).

    Examples
    --------
    >>> cfg = TrainConfig(epochs=2)
    >>> cfg.epochs, cfg.dataset
    (2, 'emt')
    >>> TrainConfig(lmax=-1)
    Traceback (most recent call last):
    ...
    ValueError: config key 'lmax': expected an integer >= 0, got -1
    """

    dataset: str = "emt"
    validation_dataset: str | None = None
    test_dataset: str | None = None
    validation_fraction: float = 0.1
    cache_dir: str | None = None

    model: str = "nequip"
    cutoff: float = 4.5
    num_features: int = 32
    lmax: int = 1
    num_layers: int = 2
    num_basis: int = 8
    cutoff_p: int = 6
    radial_neurons: int = 32
    radial_layers: int = 1

    epochs: int = 100
    batch_size: int = 2
    learning_rate: float = 0.01
    final_lr_factor: float = 0.01
    schedule: str = "cosine"
    warmup_epochs: float = 0.5
    weight_decay: float = 0.0
    energy_weight: float = 1.0
    force_weight: float = 1.0
    stress_weight: float = 1.0
    grad_clip: float = 10.0
    ema_decay: float = 0.99
    seed: int = 0

    dtype: str = "float32"
    device: str = "auto"
    num_threads: int = 0
    max_minutes: float = 9.0
    output_dir: str = "runs/emt"
    plots: bool = True
    progress: bool | None = None

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(type(self))
        for field in dataclasses.fields(self):
            object.__setattr__(
                self, field.name, _coerce(field.name, getattr(self, field.name), hints[field.name])
            )
        for key, choices in _CHOICES.items():
            if getattr(self, key) not in choices:
                raise ValueError(
                    f"config key {key!r}: expected one of {list(choices)}, got {getattr(self, key)!r}"
                )
        positive_int = ("num_features", "num_layers", "num_basis", "radial_neurons", "epochs", "batch_size")
        for key in positive_int:
            if getattr(self, key) < 1:
                raise ValueError(f"config key {key!r}: expected an integer >= 1, got {getattr(self, key)}")
        for key in ("lmax", "radial_layers", "num_threads", "seed"):
            if getattr(self, key) < 0:
                raise ValueError(f"config key {key!r}: expected an integer >= 0, got {getattr(self, key)}")
        if self.cutoff_p < 2:
            raise ValueError(f"config key 'cutoff_p': expected an integer >= 2, got {self.cutoff_p}")
        for key in ("cutoff", "learning_rate"):
            if not getattr(self, key) > 0:
                raise ValueError(f"config key {key!r}: expected a positive number, got {getattr(self, key)}")
        nonneg = (
            "final_lr_factor",
            "warmup_epochs",
            "weight_decay",
            "energy_weight",
            "force_weight",
            "stress_weight",
            "grad_clip",
            "max_minutes",
        )
        for key in nonneg:
            if not getattr(self, key) >= 0:
                raise ValueError(f"config key {key!r}: expected a number >= 0, got {getattr(self, key)}")
        if not 0 <= self.ema_decay < 1:
            raise ValueError(f"config key 'ema_decay': expected a number in [0, 1), got {self.ema_decay}")
        if not 0 < self.validation_fraction < 1:
            raise ValueError(
                "config key 'validation_fraction': expected a number in (0, 1), "
                f"got {self.validation_fraction}"
            )
        if self.energy_weight + self.force_weight + self.stress_weight == 0:
            raise ValueError(
                "config keys 'energy_weight', 'force_weight', 'stress_weight': all are 0, nothing to fit"
            )

    def to_dict(self) -> dict[str, Any]:
        """The settings as a plain dict (YAML-serialisable).

        Examples
        --------
        >>> TrainConfig().to_dict()["model"]
        'nequip'
        """
        return dataclasses.asdict(self)

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with some settings changed (validated like the constructor).

        Examples
        --------
        >>> TrainConfig().replace(epochs="3").epochs
        3
        """
        return load_config(None, {**self.to_dict(), **changes})


def _coerce(key: str, value: Any, annotation: Any) -> Any:
    """Check ``value`` against a field annotation (bool, int, float, str, or those | None); int -> float."""
    args = typing.get_args(annotation)
    optional = typing.get_origin(annotation) in (typing.Union, types.UnionType) and type(None) in args
    base = next(a for a in args if a is not type(None)) if optional else annotation
    if value is None:
        if optional:
            return None
        raise ValueError(f"config key {key!r}: expected {base.__name__}, got None")
    if isinstance(value, str) and base is not str:
        value = _parse_scalar(value)
        if value is None and optional:
            return None
    if base is bool:
        if isinstance(value, bool):
            return value
    elif base is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
    elif base is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif base is str:
        if isinstance(value, (str, os.PathLike)):
            return os.fspath(value)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
    raise ValueError(f"config key {key!r}: expected {base.__name__}, got {value!r} ({type(value).__name__})")


def _parse_scalar(text: str) -> Any:
    import yaml

    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    if isinstance(value, str) and re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+", value.strip()):
        return float(value)  # YAML 1.1 reads 1e-3 as a string
    return value


def parse_overrides(items: Sequence[str]) -> dict[str, Any]:
    """Turn ``["key=value", ...]`` into a dict; values are parsed as YAML scalars (``3``, ``1e-3``, ``true``).

    Examples
    --------
    >>> parse_overrides(["epochs=3", "learning_rate=1e-3", "plots=false", "output_dir=runs/x"])
    {'epochs': 3, 'learning_rate': 0.001, 'plots': False, 'output_dir': 'runs/x'}
    >>> parse_overrides(["epochs"])
    Traceback (most recent call last):
    ...
    ValueError: expected an override of the form key=value, got 'epochs'
    """
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"expected an override of the form key=value, got {item!r}")
        parsed = _parse_scalar(value)
        out[key.strip()] = value if isinstance(parsed, (dict, list)) else parsed
    return out


def load_config(
    path: str | os.PathLike[str] | None = None, overrides: Mapping[str, Any] | None = None
) -> TrainConfig:
    """Build a :class:`TrainConfig` from an optional YAML file and overrides (which win).

    Unknown keys are errors that name the key.

    Parameters
    ----------
    path : path-like, optional
        A YAML mapping of settings.
    overrides : mapping, optional
        Settings that replace the file's.

    Returns
    -------
    TrainConfig

    Examples
    --------
    >>> load_config(None, {"epochs": 5}).epochs
    5
    >>> load_config(None, {"lerning_rate": 0.1})
    Traceback (most recent call last):
    ...
    ValueError: unknown config key 'lerning_rate' (did you mean 'learning_rate'?)
    """
    import yaml

    values: dict[str, Any] = {}
    if path is not None:
        if not os.path.exists(path):
            raise ValueError(f"config file not found: {os.fspath(path)!r}")
        with open(path, encoding="utf-8") as f:
            loaded = yaml.safe_load(f)
        if loaded is not None and not isinstance(loaded, dict):
            raise ValueError(
                f"config file {os.fspath(path)!r}: expected a mapping of settings, "
                f"got {type(loaded).__name__}"
            )
        values.update(loaded or {})
    values.update(overrides or {})
    names = [f.name for f in dataclasses.fields(TrainConfig)]
    for key in values:
        if key not in names:
            close = difflib.get_close_matches(str(key), names, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f"; known keys: {', '.join(names)}"
            raise ValueError(f"unknown config key {key!r}{hint}")
    return TrainConfig(**values)


def save_config(config: TrainConfig, path: str | os.PathLike[str]) -> None:
    """Write the resolved configuration as YAML (readable back with :func:`load_config`).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     save_config(TrainConfig(epochs=7), f"{tmp}/config.yaml")
    ...     load_config(f"{tmp}/config.yaml").epochs
    7
    """
    import yaml

    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump(config.to_dict(), f, sort_keys=False)
