import numpy as np
import pytest
import torch
from ase.build import bulk

from e3torch.data import AtomsDataset, atoms_to_graph, batches, build_graph, collate, edge_vectors


def test_edge_vectors_match_positions():
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True).repeat(2)
    atoms.rattle(0.1, seed=0)
    g = atoms_to_graph(atoms, cutoff=4.0)
    b = collate([g, g])
    vec = edge_vectors(b.pos, b.cell, b.edge_index, b.shifts, b.batch)
    d = atoms.get_all_distances(mic=True)
    # the nearest-image distances are among the edge lengths, each atom gets its 12 nearest neighbours
    lengths = vec.norm(dim=1)
    assert lengths.max() < 4.0
    assert b.edge_index.shape[1] == 2 * g.edge_index.shape[1]
    i, j = g.edge_index[:, 0].tolist()
    assert torch.isclose(
        lengths[: g.edge_index.shape[1]].min(), torch.tensor(d[d > 0].min(), dtype=torch.float64)
    )
    assert (b.edge_index[:, g.edge_index.shape[1] :] >= g.num_atoms).all()
    assert i == 0 and j >= 0


def test_collate_labels_and_stress_voigt():
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True)
    g1 = build_graph(
        atoms.numbers,
        atoms.positions,
        atoms.cell.array,
        True,
        3.0,
        energy=1.0,
        forces=np.zeros((4, 3)),
        stress=np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
    )
    g2 = build_graph(
        atoms.numbers, atoms.positions, atoms.cell.array, True, 3.0, energy=2.0, forces=np.ones((4, 3))
    )
    assert g1.stress.tolist() == [[1.0, 6.0, 5.0], [6.0, 2.0, 4.0], [5.0, 4.0, 3.0]]
    b = collate([g1, g2])
    assert b.energy.tolist() == [1.0, 2.0]
    assert b.stress_mask.tolist() == [True, False]
    assert b.num_atoms.tolist() == [4, 4]
    with pytest.raises(ValueError, match="expected stress of shape"):
        build_graph(atoms.numbers, atoms.positions, atoms.cell.array, True, 3.0, stress=np.zeros(5))
    with pytest.raises(ValueError, match="expected at least one graph"):
        collate([])


def test_bad_input_messages():
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True)
    with pytest.raises(ValueError, match="unknown species with atomic number 0"):
        build_graph([0, 29, 29, 29], atoms.positions, atoms.cell.array, True, 3.0)
    with pytest.raises(ValueError, match="trio: atom 2 has no neighbours within the cutoff 3.0"):
        build_graph(
            [29] * 3, [[0.0, 0.0, 0.0], [2.0, 0.0, 0.0], [9.0, 9.0, 9.0]], None, False, 3.0, name="trio"
        )
    g = build_graph([29, 29], [[0.0, 0.0, 0.0], [9.0, 9.0, 9.0]], None, False, 3.0, allow_isolated=True)
    assert g.edge_index.shape == (2, 0)
    with pytest.raises(ValueError, match=r"3 atomic numbers for 4 positions"):
        build_graph([29, 29, 29], atoms.positions, atoms.cell.array, True, 3.0)
    with pytest.raises(ValueError, match=r"dataset\[1\]: positions contain NaN"):
        bad = atoms.copy()
        bad.positions[2, 0] = np.nan
        AtomsDataset([atoms, bad], cutoff=3.0)
    with pytest.raises(ValueError, match="expected at least one structure"):
        AtomsDataset([], cutoff=3.0)


def test_batches_shuffle_reproducible():
    ds = AtomsDataset([bulk("Cu", "fcc", a=3.6 + 0.01 * k) for k in range(7)], cutoff=3.0)
    runs = [
        [b.cell[:, 0, 1].tolist() for b in batches(ds, 3, shuffle=True, generator=np.random.default_rng(5))]
        for _ in range(2)
    ]
    assert runs[0] == runs[1]
    assert sorted(sum(runs[0], [])) == sorted(g.cell[0, 1].item() for g in ds)
    assert [b.num_graphs for b in batches(ds, 3, indices=[0, 2, 4, 6])] == [3, 1]
    with pytest.raises(ValueError, match="expected a batch size >= 1"):
        next(batches(ds, 0))
