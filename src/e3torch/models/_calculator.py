"""An ASE calculator backed by an e3torch potential: energy, per-atom energies, forces and stress."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from ase.calculators.calculator import Calculator, all_changes

from e3torch.data._dataset import atoms_to_graph
from e3torch.data._graph import collate
from e3torch.models._potential import AtomisticPotential

__all__ = ["E3TorchCalculator"]


class E3TorchCalculator(Calculator):
    """ASE calculator for a trained :class:`~e3torch.models.AtomisticPotential`.

    The neighbour list is rebuilt at every call (vesin); edge vectors, forces ``-dE/dpos`` and stress
    ``(1/V) dE/dstrain`` come from torch autograd, so they are consistent with the energy to round-off.

    Parameters
    ----------
    model : AtomisticPotential or path-like
        A model, or a file written by ``e3torch train`` / :func:`e3torch.models.save_model`.
    device : str or torch.device
        Where to evaluate (default ``"cpu"``).
    dtype : torch.dtype
        Precision of the evaluation (default float64, best for MD energy conservation).
    allow_isolated : bool
        Accept atoms without any neighbour within the cutoff (otherwise a ``ValueError`` names the atom).
    **kwargs
        Passed to :class:`ase.calculators.calculator.Calculator`.

    Examples
    --------
    >>> from ase.build import bulk
    >>> from e3torch.models import NequIP
    >>> _ = torch.manual_seed(0)
    >>> model = NequIP(species=[29], cutoff=4.0, num_features=4, lmax=1, num_layers=1)
    >>> atoms = bulk("Cu", "fcc", a=3.6, cubic=True)
    >>> atoms.calc = E3TorchCalculator(model)
    >>> atoms.get_forces().shape, atoms.get_stress().shape
    ((4, 3), (6,))
    """

    implemented_properties = ["energy", "free_energy", "energies", "forces", "stress"]

    def __init__(
        self,
        model: AtomisticPotential | str | os.PathLike[str],
        *,
        device: str | torch.device = "cpu",
        dtype: torch.dtype = torch.float64,
        allow_isolated: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not isinstance(model, AtomisticPotential):
            from e3torch.models._io import load_model

            model = load_model(model)
        self.device = torch.device(device)
        self.dtype = dtype
        self.model = model.to(device=self.device, dtype=dtype).eval()
        self.allow_isolated = allow_isolated

    def calculate(
        self,
        atoms: Any = None,
        properties: Sequence[str] = ("energy",),
        system_changes: Sequence[str] = tuple(all_changes),
    ) -> None:
        """Evaluate the model on ``atoms`` and fill ``self.results`` (ASE units: eV, eV/Å, eV/Å^3)."""
        super().calculate(atoms, properties, system_changes)
        atoms = self.atoms
        self.model.check_species(atoms.numbers, name="atoms")
        graph = atoms_to_graph(atoms, self.model.cutoff, allow_isolated=self.allow_isolated, name="atoms")
        batch = collate([graph]).to(device=self.device, dtype=self.dtype)
        periodic = bool(np.all(atoms.pbc))
        want_stress = "stress" in properties and periodic
        pred = self.model(batch, compute_forces=True, compute_stress=want_stress, create_graph=False)
        energy = float(pred["energy"].detach()[0])
        self.results = {
            "energy": energy,
            "free_energy": energy,
            "energies": pred["node_energy"].detach().cpu().double().numpy(),
            "forces": pred["forces"].detach().cpu().double().numpy(),
        }
        if want_stress:
            s = pred["stress"].detach().cpu().double().numpy()[0]
            self.results["stress"] = np.array([s[0, 0], s[1, 1], s[2, 2], s[1, 2], s[0, 2], s[0, 1]])
        elif "stress" in properties:
            from ase.calculators.calculator import PropertyNotImplementedError

            raise PropertyNotImplementedError(
                "stress needs a structure periodic along all three cell vectors"
            )
