"""Datasets of atomic graphs built from ASE ``Atoms`` (in memory or from extxyz files)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from e3torch.data._graph import AtomicGraph, GraphBatch, build_graph, collate

if TYPE_CHECKING:  # pragma: no cover
    from ase import Atoms

__all__ = ["atoms_to_graph", "AtomsDataset", "read_extxyz", "batches"]


def _label(atoms: Atoms, key: str) -> Any:
    """A reference label from the attached calculator's results, ``atoms.info`` or ``atoms.arrays``."""
    calc = atoms.calc
    if calc is not None and key in getattr(calc, "results", {}):
        return calc.results[key]
    for store in (atoms.info, atoms.arrays):
        for name in (key, f"REF_{key}", f"ref_{key}"):
            if name in store:
                return store[name]
    return None


def atoms_to_graph(
    atoms: Atoms, cutoff: float, *, allow_isolated: bool = False, name: str = "structure"
) -> AtomicGraph:
    """Convert an ASE ``Atoms`` (with optional energy/forces/stress labels) to an :class:`AtomicGraph`.

    Labels are read from the attached calculator's results (as :func:`ase.io.read` leaves them for extxyz
    files), else from ``atoms.info["energy"]`` / ``atoms.arrays["forces"]`` / ``atoms.info["stress"]``.

    Parameters
    ----------
    atoms : ase.Atoms
    cutoff : float
        Neighbour-list cutoff in Å.
    allow_isolated : bool
        Accept atoms that have no neighbour within the cutoff.
    name : str
        How the structure is called in error messages.

    Returns
    -------
    AtomicGraph

    Examples
    --------
    >>> from ase.build import bulk
    >>> g = atoms_to_graph(bulk("Cu", "fcc", a=3.6), cutoff=3.0)
    >>> g.num_atoms, tuple(g.edge_index.shape), g.energy is None
    (1, (2, 12), True)
    """
    energy = _label(atoms, "energy")
    forces = _label(atoms, "forces")
    stress = _label(atoms, "stress")
    periodic = np.asarray(atoms.pbc, dtype=bool)
    return build_graph(
        atoms.numbers,
        atoms.positions,
        atoms.cell.array,
        periodic,
        cutoff,
        energy=None if energy is None else float(energy),
        forces=forces,
        stress=stress if periodic.all() else None,
        allow_isolated=allow_isolated,
        name=name,
    )


class AtomsDataset(torch.utils.data.Dataset):
    """A list of :class:`AtomicGraph` with neighbour lists precomputed at one cutoff.

    Parameters
    ----------
    structures : sequence of ase.Atoms
    cutoff : float
        Neighbour-list cutoff in Å.
    allow_isolated : bool
        Accept atoms without neighbours.
    name : str
        How the dataset is called in error messages (``"<name>[k]"`` names structure ``k``).

    Examples
    --------
    >>> from ase.build import bulk
    >>> ds = AtomsDataset([bulk("Cu", "fcc", a=3.6), bulk("Al", "fcc", a=4.05)], cutoff=3.0)
    >>> len(ds), ds.species, ds[1].num_atoms
    (2, (13, 29), 1)
    """

    def __init__(
        self,
        structures: Sequence[Atoms],
        cutoff: float,
        *,
        allow_isolated: bool = False,
        name: str = "dataset",
    ) -> None:
        super().__init__()
        if len(structures) == 0:
            raise ValueError(f"{name}: expected at least one structure, got none")
        self.cutoff = float(cutoff)
        self.graphs: list[AtomicGraph] = [
            atoms_to_graph(a, cutoff, allow_isolated=allow_isolated, name=f"{name}[{k}]")
            for k, a in enumerate(structures)
        ]
        self.species: tuple[int, ...] = tuple(
            sorted({int(z) for g in self.graphs for z in g.numbers.tolist()})
        )

    def __len__(self) -> int:
        return len(self.graphs)

    def __getitem__(self, index: int) -> AtomicGraph:
        return self.graphs[index]

    def labels(self) -> tuple[bool, bool, bool]:
        """Whether every graph has an energy, forces, and stress label.

        Examples
        --------
        >>> from ase.build import bulk
        >>> AtomsDataset([bulk("Cu", "fcc", a=3.6)], cutoff=3.0).labels()
        (False, False, False)
        """
        return (
            all(g.energy is not None for g in self.graphs),
            all(g.forces is not None for g in self.graphs),
            all(g.stress is not None for g in self.graphs),
        )


def read_extxyz(
    path: str | os.PathLike[str], cutoff: float, *, index: str = ":", allow_isolated: bool = False
) -> AtomsDataset:
    """Read an extended-XYZ file (via :func:`ase.io.read`) into an :class:`AtomsDataset`.

    Parameters
    ----------
    path : path-like
        The ``.xyz`` / ``.extxyz`` file.
    cutoff : float
        Neighbour-list cutoff in Å.
    index : str
        ASE's frame selection (default all frames, ``":"``).
    allow_isolated : bool
        Accept atoms without neighbours.

    Returns
    -------
    AtomsDataset

    Examples
    --------
    >>> import tempfile, ase.io
    >>> from ase.build import bulk
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     ase.io.write(f"{tmp}/cu.xyz", [bulk("Cu", "fcc", a=3.6)], format="extxyz")
    ...     len(read_extxyz(f"{tmp}/cu.xyz", cutoff=3.0))
    1
    """
    import ase.io

    if not os.path.exists(path):
        raise ValueError(f"dataset file not found: {os.fspath(path)!r}")
    frames = ase.io.read(os.fspath(path), index=index, format="extxyz")
    if not isinstance(frames, list):
        frames = [frames]
    return AtomsDataset(frames, cutoff, allow_isolated=allow_isolated, name=os.path.basename(os.fspath(path)))


def batches(
    graphs: Sequence[AtomicGraph],
    batch_size: int,
    *,
    shuffle: bool = False,
    generator: np.random.Generator | None = None,
    indices: Sequence[int] | None = None,
) -> Iterator[GraphBatch]:
    """Iterate over a dataset in :class:`GraphBatch` chunks of ``batch_size`` graphs.

    Parameters
    ----------
    graphs : sequence of AtomicGraph
    batch_size : int
        Graphs per batch (the last batch may be smaller).
    shuffle : bool
        Visit the graphs in a random order drawn from ``generator``.
    generator : numpy Generator, optional
        Source of the permutation (required for reproducible shuffling).
    indices : sequence of int, optional
        Restrict to these graph indices (e.g. one rank's shard).

    Examples
    --------
    >>> from ase.build import bulk
    >>> ds = AtomsDataset([bulk("Cu", "fcc", a=3.6)] * 5, cutoff=3.0)
    >>> [b.num_graphs for b in batches(ds, 2)]
    [2, 2, 1]
    """
    if batch_size < 1:
        raise ValueError(f"expected a batch size >= 1, got {batch_size}")
    order = np.arange(len(graphs)) if indices is None else np.asarray(indices, dtype=np.int64)
    if shuffle:
        rng = generator if generator is not None else np.random.default_rng()
        order = order[rng.permutation(len(order))]
    for start in range(0, len(order), batch_size):
        yield collate([graphs[int(k)] for k in order[start : start + batch_size]])
