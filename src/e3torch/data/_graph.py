"""Atomic graphs: one structure with its neighbour list, and batches of them.

A graph stores integer periodic shifts, never edge vectors: :func:`edge_vectors` recomputes them from
positions
and cell so that ``-dE/dpos`` and ``dE/dstrain`` are exact.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import torch

from e3torch.data._neighbors import check_structure, neighbor_list

__all__ = ["AtomicGraph", "GraphBatch", "build_graph", "collate", "edge_vectors"]


@dataclasses.dataclass
class AtomicGraph:
    """One structure: atoms, cell, neighbour list and (optionally) reference labels.

    Attributes
    ----------
    numbers : int64 ``(n_atoms,)``
        Atomic numbers.
    pos : float ``(n_atoms, 3)``
        Positions in Å.
    cell : float ``(3, 3)``
        Lattice vectors as rows (zeros when not periodic).
    pbc : bool ``(3,)``
        Periodicity.
    edge_index : int64 ``(2, n_edges)``
        ``[center, neighbour]`` pairs.
    shifts : float ``(n_edges, 3)``
        Integer lattice shifts (stored as floats): ``vec = pos[j] - pos[i] + shifts @ cell``.
    energy, forces, stress : optional float tensors ``()``, ``(n_atoms, 3)``, ``(3, 3)``
        Reference labels in eV, eV/Å, eV/Å^3 (ASE's sign convention for stress).
    """

    numbers: torch.Tensor
    pos: torch.Tensor
    cell: torch.Tensor
    pbc: torch.Tensor
    edge_index: torch.Tensor
    shifts: torch.Tensor
    energy: torch.Tensor | None = None
    forces: torch.Tensor | None = None
    stress: torch.Tensor | None = None

    @property
    def num_atoms(self) -> int:
        """Number of atoms."""
        return int(self.numbers.shape[0])


def build_graph(
    numbers: Sequence[int] | np.ndarray,
    positions: np.ndarray,
    cell: np.ndarray | None,
    pbc: bool | Sequence[bool] | np.ndarray,
    cutoff: float,
    *,
    energy: float | None = None,
    forces: np.ndarray | None = None,
    stress: np.ndarray | None = None,
    allow_isolated: bool = False,
    name: str = "structure",
) -> AtomicGraph:
    """Validate a structure, compute its neighbour list and pack it as an :class:`AtomicGraph`.

    Parameters
    ----------
    numbers : ints ``(n_atoms,)``
        Atomic numbers (1..118).
    positions, cell, pbc
        Geometry (see :func:`e3torch.data.check_structure`).
    cutoff : float
        Neighbour-list cutoff in Å.
    energy, forces, stress : optional
        Reference labels; ``stress`` may be a ``(3, 3)`` matrix or ASE's 6-component Voigt vector
        ``(xx, yy, zz, yz, xz, xy)``.
    allow_isolated : bool
        If False (default), an atom with no neighbour within the cutoff is an error.
    name : str
        How the structure is called in error messages.

    Returns
    -------
    AtomicGraph

    Examples
    --------
    >>> g = build_graph([29, 29], [[0.0, 0.0, 0.0], [1.8, 1.8, 0.0]], 3.6 * np.eye(3), True, cutoff=3.0)
    >>> g.num_atoms, tuple(g.edge_index.shape), g.pos.dtype
    (2, (2, 8), torch.float64)
    """
    pos, cell_arr, periodic = check_structure(positions, cell, pbc, name=name)
    z = np.asarray(numbers, dtype=np.int64).reshape(-1)
    if z.shape[0] != pos.shape[0]:
        raise ValueError(f"{name}: {z.shape[0]} atomic numbers for {pos.shape[0]} positions")
    if ((z < 1) | (z > 118)).any():
        bad = int(z[(z < 1) | (z > 118)][0])
        raise ValueError(f"{name}: unknown species with atomic number {bad} (expected 1..118)")
    edge_index, shifts = neighbor_list(pos, cell_arr, periodic, cutoff, name=name)
    if not allow_isolated:
        counts = np.bincount(edge_index[0], minlength=pos.shape[0])
        lonely = np.flatnonzero(counts == 0)
        if lonely.size:
            raise ValueError(
                f"{name}: atom {int(lonely[0])} has no neighbours within the cutoff {cutoff} Å "
                f"({lonely.size} isolated atom(s)); check the geometry or increase the cutoff"
            )
    f64 = torch.float64
    label_e = None if energy is None else torch.tensor(float(energy), dtype=f64)
    label_f = None
    if forces is not None:
        label_f = torch.as_tensor(np.asarray(forces, dtype=np.float64).reshape(pos.shape))
    label_s = None
    if stress is not None:
        label_s = torch.as_tensor(_stress_matrix(np.asarray(stress, dtype=np.float64), name))
    return AtomicGraph(
        numbers=torch.as_tensor(z),
        pos=torch.as_tensor(pos),
        cell=torch.as_tensor(cell_arr),
        pbc=torch.as_tensor(periodic),
        edge_index=torch.as_tensor(edge_index),
        shifts=torch.as_tensor(shifts, dtype=f64),
        energy=label_e,
        forces=label_f,
        stress=label_s,
    )


def _stress_matrix(stress: np.ndarray, name: str) -> np.ndarray:
    if stress.shape == (3, 3):
        return stress
    if stress.shape == (6,):
        xx, yy, zz, yz, xz, xy = stress
        return np.array([[xx, xy, xz], [xy, yy, yz], [xz, yz, zz]])
    raise ValueError(f"{name}: expected stress of shape (3, 3) or (6,), got shape {stress.shape}")


@dataclasses.dataclass
class GraphBatch:
    """Several :class:`AtomicGraph` concatenated into one disconnected graph.

    Attributes
    ----------
    numbers, pos, edge_index, shifts
        Concatenated per-atom / per-edge fields (edge indices offset per graph).
    cell : ``(n_graphs, 3, 3)``
    pbc : ``(n_graphs, 3)``
    batch : int64 ``(n_atoms,)``
        Graph index of every atom.
    num_atoms : int64 ``(n_graphs,)``
    energy : ``(n_graphs,)`` or None
    forces : ``(n_atoms, 3)`` or None
    stress : ``(n_graphs, 3, 3)`` or None (graphs without a stress label hold zeros, see ``stress_mask``)
    stress_mask : bool ``(n_graphs,)`` or None
    """

    numbers: torch.Tensor
    pos: torch.Tensor
    cell: torch.Tensor
    pbc: torch.Tensor
    edge_index: torch.Tensor
    shifts: torch.Tensor
    batch: torch.Tensor
    num_atoms: torch.Tensor
    energy: torch.Tensor | None = None
    forces: torch.Tensor | None = None
    stress: torch.Tensor | None = None
    stress_mask: torch.Tensor | None = None

    @property
    def num_graphs(self) -> int:
        """Number of graphs in the batch."""
        return int(self.cell.shape[0])

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> GraphBatch:
        """Move tensors to ``device`` and cast floating-point ones to ``dtype``.

        Examples
        --------
        >>> g = build_graph([13], [[0.0, 0.0, 0.0]], 2.9 * np.eye(3), True, cutoff=3.0)
        >>> collate([g]).to(dtype=torch.float32).pos.dtype
        torch.float32
        """
        changes = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, torch.Tensor):
                cast = dtype if (dtype is not None and value.is_floating_point()) else None
                changes[field.name] = value.to(device=device, dtype=cast)
        return dataclasses.replace(self, **changes)


def collate(graphs: Sequence[AtomicGraph]) -> GraphBatch:
    """Concatenate graphs into a :class:`GraphBatch` (labels kept only if every graph has them).

    Parameters
    ----------
    graphs : sequence of AtomicGraph
        At least one graph.

    Returns
    -------
    GraphBatch

    Examples
    --------
    >>> g = build_graph([13], [[0.0, 0.0, 0.0]], 2.9 * np.eye(3), True, cutoff=3.0)
    >>> b = collate([g, g])
    >>> b.num_graphs, b.batch.tolist(), int(b.edge_index.max())
    (2, [0, 1], 1)
    """
    if len(graphs) == 0:
        raise ValueError("expected at least one graph to collate, got an empty sequence")
    counts = [g.num_atoms for g in graphs]
    offsets = np.cumsum([0] + counts[:-1])
    edge_index = torch.cat([g.edge_index + int(o) for g, o in zip(graphs, offsets)], dim=1)
    batch = torch.cat([torch.full((n,), k, dtype=torch.int64) for k, n in enumerate(counts)])
    energy = forces = stress = mask = None
    if all(g.energy is not None for g in graphs):
        energy = torch.stack([g.energy for g in graphs])  # type: ignore[misc]
    if all(g.forces is not None for g in graphs):
        forces = torch.cat([g.forces for g in graphs])  # type: ignore[misc]
    if any(g.stress is not None for g in graphs):
        ref = next(g.stress for g in graphs if g.stress is not None)
        stress = torch.stack([g.stress if g.stress is not None else torch.zeros_like(ref) for g in graphs])
        mask = torch.tensor([g.stress is not None for g in graphs])
    return GraphBatch(
        numbers=torch.cat([g.numbers for g in graphs]),
        pos=torch.cat([g.pos for g in graphs]),
        cell=torch.stack([g.cell for g in graphs]),
        pbc=torch.stack([g.pbc for g in graphs]),
        edge_index=edge_index,
        shifts=torch.cat([g.shifts for g in graphs]),
        batch=batch,
        num_atoms=torch.tensor(counts, dtype=torch.int64),
        energy=energy,
        forces=forces,
        stress=stress,
        stress_mask=mask,
    )


def edge_vectors(
    pos: torch.Tensor, cell: torch.Tensor, edge_index: torch.Tensor, shifts: torch.Tensor, batch: torch.Tensor
) -> torch.Tensor:
    """Edge vectors ``r_j - r_i + S @ cell`` recomputed (differentiably) from positions and cell.

    Parameters
    ----------
    pos : ``(n_atoms, 3)``
    cell : ``(n_graphs, 3, 3)``
    edge_index : int64 ``(2, n_edges)``
    shifts : ``(n_edges, 3)``
    batch : int64 ``(n_atoms,)``

    Returns
    -------
    torch.Tensor
        ``(n_edges, 3)``

    Examples
    --------
    >>> g = collate([build_graph([13], [[0.0, 0.0, 0.0]], 2.9 * np.eye(3), True, cutoff=3.0)])
    >>> vec = edge_vectors(g.pos, g.cell, g.edge_index, g.shifts, g.batch)
    >>> vec.norm(dim=1).tolist()
    [2.9, 2.9, 2.9, 2.9, 2.9, 2.9]
    """
    center, neighbor = edge_index[0], edge_index[1]
    lattice = cell[batch[center]]
    return pos[neighbor] - pos[center] + torch.einsum("ei,eij->ej", shifts, lattice)
