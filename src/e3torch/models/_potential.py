"""Base class of interatomic potentials: species, energy scale/shift, forces and stress by autograd.

A subclass implements :meth:`AtomisticPotential.node_energies`, the unscaled per-atom energies from species
indices and edge vectors. This class turns them into total energies, forces ``-dE/dpos`` and stress
``(1/V) dE/dstrain`` (ASE's sign convention) through one backward pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from e3torch.data._graph import AtomicGraph, GraphBatch, edge_vectors

__all__ = ["AtomisticPotential", "chemical_symbol"]


def chemical_symbol(z: int) -> str:
    """The element symbol of atomic number ``z`` (``"Z=<z>"`` if unknown).

    Examples
    --------
    >>> chemical_symbol(29), chemical_symbol(0)
    ('Cu', 'Z=0')
    """
    from ase.data import chemical_symbols

    return chemical_symbols[z] if 0 < z < len(chemical_symbols) else f"Z={z}"


class AtomisticPotential(torch.nn.Module):
    """Energy model over atomic graphs with per-species energy scale and shift.

    Parameters
    ----------
    species : sequence of int
        Atomic numbers the model knows, in the order of its one-hot species encoding.
    cutoff : float
        Interaction cutoff in Å (the neighbour lists must use it).

    Notes
    -----
    ``E = sum_i (scale[s_i] * e_i + shift[s_i])`` with ``e_i`` from :meth:`node_energies`. ``scale`` and
    ``shift`` are trainable parameters initialised by :meth:`fit_scale_shift`.
    """

    def __init__(self, species: Sequence[int], cutoff: float) -> None:
        super().__init__()
        zs = [int(z) for z in species]
        if len(zs) == 0:
            raise ValueError("expected at least one species, got none")
        if len(set(zs)) != len(zs) or any(z < 1 or z > 118 for z in zs):
            raise ValueError(f"expected distinct atomic numbers in 1..118, got {zs}")
        if not cutoff > 0:
            raise ValueError(f"expected a positive cutoff, got {cutoff}")
        self.species: tuple[int, ...] = tuple(zs)
        self.cutoff = float(cutoff)
        lookup = torch.full((119,), -1, dtype=torch.int64)
        lookup[torch.tensor(zs)] = torch.arange(len(zs))
        self.register_buffer("species_lookup", lookup, persistent=False)
        self.energy_scale = torch.nn.Parameter(torch.ones(len(zs)))
        self.energy_shift = torch.nn.Parameter(torch.zeros(len(zs)))

    @property
    def num_species(self) -> int:
        """How many species the model knows."""
        return len(self.species)

    def hyperparameters(self) -> dict[str, Any]:
        """Constructor arguments that rebuild this model (for checkpoints); subclasses extend it."""
        return {"species": list(self.species), "cutoff": self.cutoff}

    def check_species(
        self, numbers: torch.Tensor | np.ndarray | Sequence[int], *, name: str = "input"
    ) -> None:
        """Raise ``ValueError`` naming the first atomic number the model does not know.

        Examples
        --------
        >>> model = AtomisticPotential([29, 79], cutoff=4.0)
        >>> model.check_species([29, 79, 29])
        >>> model.check_species([29, 26])
        Traceback (most recent call last):
        ...
        ValueError: input: unknown species Fe (Z=26); this model knows Cu, Au
        """
        z = np.unique(
            np.asarray(numbers.cpu() if isinstance(numbers, torch.Tensor) else numbers, dtype=np.int64)
        )
        unknown = [int(v) for v in z if int(v) not in self.species]
        if unknown:
            known = ", ".join(chemical_symbol(s) for s in self.species)
            raise ValueError(
                f"{name}: unknown species {chemical_symbol(unknown[0])} (Z={unknown[0]}); "
                f"this model knows {known}"
            )

    def species_index(self, numbers: torch.Tensor) -> torch.Tensor:
        """Map atomic numbers to species indices (unknown species give -1; see :meth:`check_species`)."""
        return self.species_lookup[numbers]

    def node_energies(
        self, species: torch.Tensor, edge_index: torch.Tensor, edge_vec: torch.Tensor
    ) -> torch.Tensor:
        """Unscaled per-atom energies ``(n_atoms,)`` (implemented by subclasses)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement node_energies")

    @torch.no_grad()
    def fit_scale_shift(self, graphs: Sequence[AtomicGraph], *, ridge: float = 1e-8) -> dict[str, float]:
        """Initialise ``energy_shift`` by least squares of energies on species counts, ``energy_scale`` by the
        root-mean-square force (falls back to the energy residual spread when there are no forces).

        Parameters
        ----------
        graphs : sequence of AtomicGraph
            Labelled training graphs.
        ridge : float
            Tikhonov regularisation of the least-squares fit.

        Returns
        -------
        dict
            ``{"force_rms": ..., "energy_residual_rms_per_atom": ...}``.
        """
        energies = [g for g in graphs if g.energy is not None]
        if not energies:
            raise ValueError("fit_scale_shift: no graph has an energy label")
        for k, g in enumerate(energies):
            self.check_species(g.numbers, name=f"training graph {k}")
        counts = np.zeros((len(energies), self.num_species))
        for k, g in enumerate(energies):
            idx = self.species_index(g.numbers).numpy()
            counts[k] = np.bincount(idx, minlength=self.num_species)
        e = np.array([float(g.energy) for g in energies])  # type: ignore[arg-type]
        shift = np.linalg.solve(counts.T @ counts + ridge * np.eye(self.num_species), counts.T @ e)
        residual = (e - counts @ shift) / counts.sum(1)
        forces = [g.forces for g in graphs if g.forces is not None]
        force_rms = float(torch.cat(forces).pow(2).mean().sqrt()) if forces else 0.0
        scale = force_rms if force_rms > 0 else float(np.sqrt(np.mean(residual**2))) or 1.0
        self.energy_shift.copy_(torch.as_tensor(shift))
        self.energy_scale.fill_(scale)
        return {"force_rms": force_rms, "energy_residual_rms_per_atom": float(np.sqrt(np.mean(residual**2)))}

    def forward(
        self,
        batch: GraphBatch,
        *,
        compute_forces: bool = True,
        compute_stress: bool = False,
        create_graph: bool | None = None,
    ) -> dict[str, torch.Tensor]:
        """Energies (and forces, stress) of a batch.

        Parameters
        ----------
        batch : GraphBatch
            Species must be known to the model (see :meth:`check_species`, not checked here).
        compute_forces : bool
            Return ``forces = -dE/dpos``.
        compute_stress : bool
            Return ``stress = (1/V) dE/dstrain`` and ``virial = -dE/dstrain`` (zeros for non-periodic graphs).
        create_graph : bool, optional
            Keep the graph of the derivatives (needed to train on forces); default ``self.training``.

        Returns
        -------
        dict
            ``energy (n_graphs,)``, ``node_energy (n_atoms,)``, and if asked ``forces (n_atoms, 3)``,
            ``stress (n_graphs, 3, 3)``, ``virial (n_graphs, 3, 3)``.
        """
        keep_graph = self.training if create_graph is None else create_graph
        pos, cell = batch.pos, batch.cell
        inputs: list[torch.Tensor] = []
        if compute_forces:
            if not pos.requires_grad:  # keep an upstream graph (e.g. for Hessians) when there is one
                pos = pos.detach().requires_grad_(True)
            inputs.append(pos)
        strain = None
        if compute_stress:
            strain = torch.zeros_like(cell, requires_grad=True)
            inputs.append(strain)
            sym = 0.5 * (strain + strain.transpose(1, 2))
            pos = pos + torch.einsum("ni,nij->nj", pos, sym[batch.batch])
            cell = cell + torch.bmm(cell, sym)
        vec = edge_vectors(pos, cell, batch.edge_index, batch.shifts, batch.batch)
        species = self.species_index(batch.numbers)
        raw = self.node_energies(species, batch.edge_index, vec)
        node_energy = raw * self.energy_scale[species] + self.energy_shift[species]
        energy = torch.zeros(batch.num_graphs, dtype=node_energy.dtype, device=node_energy.device)
        energy = energy.index_add(0, batch.batch, node_energy)
        out = {"energy": energy, "node_energy": node_energy}
        if inputs:
            grads = torch.autograd.grad(energy.sum(), inputs, create_graph=keep_graph, allow_unused=True)
            grads = [torch.zeros_like(x) if g is None else g for x, g in zip(inputs, grads)]
            if compute_forces:
                out["forces"] = -grads[0]
            if strain is not None:
                de_dstrain = grads[-1]
                volume = torch.linalg.det(batch.cell).abs()
                periodic = batch.pbc.all(dim=1) & (volume > 0)
                safe = torch.where(periodic, volume, torch.ones_like(volume))
                out["virial"] = -de_dstrain
                out["stress"] = torch.where(periodic[:, None, None], de_dstrain / safe[:, None, None], 0.0)
        return out
