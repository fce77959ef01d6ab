"""Equivariant models: a NequIP-style interatomic potential, e3nn's gate_points network, an ASE calculator.

>>> import torch
>>> from e3torch import models
>>> _ = torch.manual_seed(0)
>>> model = models.NequIP(species=[29], cutoff=4.0, num_features=4, lmax=1, num_layers=1)
>>> model.species, model.cutoff
((29,), 4.0)
"""

from e3torch.models._radial import BesselBasis, PolynomialCutoff, RadialEmbedding
from e3torch.models._potential import AtomisticPotential, chemical_symbol
from e3torch.models._io import build_model, load_model, register_model, save_model
from e3torch.models._nequip import InteractionBlock, NequIP, NequIPPlan
from e3torch.models._gate_points import (
    Compose,
    Convolution,
    Network,
    radius_graph,
    smooth_cutoff,
    tp_path_exists,
)

__all__ = [
    "BesselBasis",
    "PolynomialCutoff",
    "RadialEmbedding",
    "AtomisticPotential",
    "chemical_symbol",
    "build_model",
    "load_model",
    "register_model",
    "save_model",
    "InteractionBlock",
    "NequIP",
    "NequIPPlan",
    "Compose",
    "Convolution",
    "Network",
    "radius_graph",
    "smooth_cutoff",
    "tp_path_exists",
    "E3TorchCalculator",
]


def __getattr__(name: str) -> object:
    """``E3TorchCalculator`` needs ASE (the ``train`` extra), so it is imported on first use."""
    if name == "E3TorchCalculator":
        from e3torch.models._calculator import E3TorchCalculator

        return E3TorchCalculator
    raise AttributeError(f"module 'e3torch.models' has no attribute {name!r}")
