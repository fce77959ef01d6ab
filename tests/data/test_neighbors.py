import numpy as np
import pytest
from ase.build import bulk, molecule
from ase.neighborlist import neighbor_list as ase_neighbor_list

from e3torch.data import check_structure, neighbor_list


def _as_set(i, j, s):
    return {(int(a), int(b), *map(int, c)) for a, b, c in zip(i, j, s)}


@pytest.mark.parametrize(
    "atoms, cutoff",
    [
        (bulk("Cu", "fcc", a=3.6), 5.0),  # one-atom cell, cutoff much larger than the cell
        (bulk("Cu", "fcc", a=3.6, cubic=True).repeat(2), 4.5),
        (bulk("Al", "fcc", a=4.05, orthorhombic=True), 6.0),
    ],
)
def test_matches_ase_periodic(atoms, cutoff):
    atoms = atoms.copy()
    atoms.rattle(0.05, seed=3)
    edge_index, shifts = neighbor_list(atoms.positions, atoms.cell.array, True, cutoff)
    i, j, s = ase_neighbor_list("ijS", atoms, cutoff)
    assert _as_set(edge_index[0], edge_index[1], shifts) == _as_set(i, j, s)
    assert edge_index.shape[1] == len(i)
    vec = atoms.positions[edge_index[1]] - atoms.positions[edge_index[0]] + shifts @ atoms.cell.array
    assert np.linalg.norm(vec, axis=1).max() < cutoff


def test_matches_ase_mixed_and_open():
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True).repeat((2, 2, 1))
    atoms.pbc = [True, True, False]
    atoms.rattle(0.05, seed=1)
    edge_index, shifts = neighbor_list(atoms.positions, atoms.cell.array, atoms.pbc, 4.0)
    assert _as_set(edge_index[0], edge_index[1], shifts) == _as_set(*ase_neighbor_list("ijS", atoms, 4.0))
    assert (shifts[:, 2] == 0).all()
    mol = molecule("CH4")
    edge_index, shifts = neighbor_list(mol.positions, None, False, 1.5)
    assert _as_set(edge_index[0], edge_index[1], shifts) == _as_set(*ase_neighbor_list("ijS", mol, 1.5))


def test_sorted_and_deterministic():
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True).repeat(2)
    a = neighbor_list(atoms.positions, atoms.cell.array, True, 5.0)
    b = neighbor_list(atoms.positions, atoms.cell.array, True, 5.0)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert (np.diff(a[0][0]) >= 0).all()


def test_errors():
    with pytest.raises(ValueError, match="positions contain NaN or inf"):
        check_structure([[0.0, 0.0, 0.0], [np.inf, 0.0, 0.0]], np.eye(3), True)
    with pytest.raises(ValueError, match="the structure is empty"):
        check_structure(np.zeros((0, 3)), np.eye(3), True)
    with pytest.raises(ValueError, match="expected positions of shape"):
        check_structure(np.zeros((4, 2)), np.eye(3), True)
    with pytest.raises(ValueError, match="the cell is singular"):
        check_structure([[0.0, 0.0, 0.0]], np.diag([3.0, 3.0, 0.0]), True)
    with pytest.raises(ValueError, match="the cell contains NaN"):
        check_structure([[0.0, 0.0, 0.0]], np.full((3, 3), np.nan), True)
    with pytest.raises(ValueError, match="expected a positive finite cutoff"):
        neighbor_list([[0.0, 0.0, 0.0]], np.eye(3), True, -1.0)
    # a singular cell is fine without periodicity
    pos, cell, pbc = check_structure([[0.0, 0.0, 0.0]], np.zeros((3, 3)), False)
    assert not pbc.any()
