"""Periodic neighbour lists (computed by vesin, validated here).

An edge ``(i, j, S)`` says that atom ``j``, translated by the integer lattice vector ``S``, lies within the
cutoff
of atom ``i``: the edge vector is ``r_j - r_i + S @ cell``. Only the integer shifts are kept; the vectors are
recomputed in torch from positions and cell (:func:`e3torch.data.edge_vectors`) so that forces and stress are
exact gradients.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["neighbor_list", "check_structure"]


def _as_pbc(pbc: bool | Sequence[bool] | np.ndarray) -> np.ndarray:
    arr = np.broadcast_to(np.asarray(pbc, dtype=bool), (3,)).copy()
    return arr


def check_structure(
    positions: np.ndarray,
    cell: np.ndarray | None,
    pbc: bool | Sequence[bool] | np.ndarray,
    *,
    name: str = "structure",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate and normalise one structure's geometry.

    Parameters
    ----------
    positions : array of shape ``(n_atoms, 3)``
        Cartesian positions in Å.
    cell : array of shape ``(3, 3)`` or None
        Lattice vectors as rows (Å). ``None`` means no cell (only allowed without periodicity).
    pbc : bool or three bools
        Periodicity along each lattice vector.
    name : str
        How the structure is called in error messages.

    Returns
    -------
    positions : float64 array ``(n_atoms, 3)``
    cell : float64 array ``(3, 3)`` (zeros when absent)
    pbc : bool array ``(3,)``

    Raises
    ------
    ValueError
        Empty structure, wrong shapes, NaN/inf positions or cell, or a singular cell along periodic
        directions.

    Examples
    --------
    >>> pos, cell, pbc = check_structure([[0.0, 0.0, 0.0]], None, False)
    >>> pos.shape, cell.shape, pbc.tolist()
    ((1, 3), (3, 3), [False, False, False])
    >>> check_structure([[float("nan"), 0.0, 0.0]], None, False)
    Traceback (most recent call last):
    ...
    ValueError: structure: positions contain NaN or inf (atom 0)
    """
    pos = np.asarray(positions, dtype=np.float64)
    if pos.ndim != 2 or pos.shape[1] != 3:
        raise ValueError(f"{name}: expected positions of shape (n_atoms, 3), got shape {tuple(pos.shape)}")
    if pos.shape[0] == 0:
        raise ValueError(f"{name}: the structure is empty (no atoms)")
    bad = ~np.isfinite(pos).all(axis=1)
    if bad.any():
        raise ValueError(f"{name}: positions contain NaN or inf (atom {int(np.flatnonzero(bad)[0])})")
    periodic = _as_pbc(pbc)
    cell_arr = np.zeros((3, 3)) if cell is None else np.asarray(cell, dtype=np.float64)
    if cell_arr.shape != (3, 3):
        raise ValueError(f"{name}: expected a cell of shape (3, 3), got shape {tuple(cell_arr.shape)}")
    if not np.isfinite(cell_arr).all():
        raise ValueError(f"{name}: the cell contains NaN or inf")
    if periodic.any():
        vol = abs(float(np.linalg.det(cell_arr)))
        scale = float(np.prod(np.linalg.norm(cell_arr, axis=1)))
        if scale == 0.0 or vol <= 1e-10 * scale:
            raise ValueError(
                f"{name}: the cell is singular (volume {vol:.3g} Å^3) but pbc={periodic.tolist()} needs "
                "three independent lattice vectors"
            )
    return pos, cell_arr, periodic


def neighbor_list(
    positions: np.ndarray,
    cell: np.ndarray | None,
    pbc: bool | Sequence[bool] | np.ndarray,
    cutoff: float,
    *,
    name: str = "structure",
) -> tuple[np.ndarray, np.ndarray]:
    """All ordered pairs closer than ``cutoff``, with their periodic shifts.

    Parameters
    ----------
    positions : array ``(n_atoms, 3)``
        Cartesian positions in Å.
    cell : array ``(3, 3)`` or None
        Lattice vectors as rows.
    pbc : bool or three bools
        Periodicity along each lattice vector.
    cutoff : float
        Cutoff radius in Å (> 0).
    name : str
        How the structure is called in error messages.

    Returns
    -------
    edge_index : int64 array ``(2, n_edges)``
        ``edge_index[0]`` is the central atom ``i``, ``edge_index[1]`` its neighbour ``j``; both directions of
        every pair are present, self-pairs (same atom, zero shift) are not.
    shifts : int64 array ``(n_edges, 3)``
        Integer lattice translations ``S``: the edge vector is ``r_j - r_i + S @ cell``.

    Examples
    --------
    >>> edge_index, shifts = neighbor_list([[0.0, 0.0, 0.0]], 2.5 * np.eye(3), True, cutoff=2.6)
    >>> edge_index.shape, sorted(map(tuple, shifts.tolist()))[:2]
    ((2, 6), [(-1, 0, 0), (0, -1, 0)])
    """
    import vesin

    if not np.isfinite(cutoff) or cutoff <= 0:
        raise ValueError(f"expected a positive finite cutoff, got {cutoff}")
    pos, cell_arr, periodic = check_structure(positions, cell, pbc, name=name)
    if not periodic.any():
        cell_arr = np.zeros((3, 3))
    nl = vesin.NeighborList(cutoff=float(cutoff), full_list=True, n_threads=1)
    i, j, s = nl.compute(pos, cell_arr, periodic.tolist(), "ijS")
    edge_index = np.stack([np.asarray(i, dtype=np.int64), np.asarray(j, dtype=np.int64)])
    shifts = np.asarray(s, dtype=np.int64).reshape(-1, 3)
    order = np.lexsort((shifts[:, 2], shifts[:, 1], shifts[:, 0], edge_index[1], edge_index[0]))
    return edge_index[:, order], shifts[order]
