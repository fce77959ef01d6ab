import numpy as np
import pytest
import torch
from ase.build import bulk

from e3torch.data import atoms_to_graph, collate
from e3torch.models import NequIP, load_model, save_model

F64 = torch.float64


def _model(species=(13, 29), **kw):
    torch.manual_seed(0)
    args = dict(
        cutoff=4.0,
        num_features=6,
        lmax=2,
        num_layers=2,
        num_basis=6,
        radial_neurons=12,
        avg_num_neighbors=20.0,
    )
    args.update(kw)
    model = NequIP(species=list(species), **args).to(F64)
    with torch.no_grad():
        model.energy_scale.fill_(0.7)
        model.energy_shift.copy_(torch.tensor([-0.3, -0.5][: len(species)]))
    return model


def _atoms(seed=0, repeat=1):
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True).repeat(repeat)
    atoms.numbers[1] = 13
    atoms.rattle(0.15, seed=seed)
    atoms.set_cell(
        atoms.cell.array @ np.array([[1.0, 0.02, 0.0], [0.0, 0.98, 0.03], [0.01, 0.0, 1.01]]),
        scale_atoms=True,
    )
    return atoms


def _predict(model, atoms, stress=True):
    batch = collate([atoms_to_graph(atoms, model.cutoff)]).to(dtype=F64)
    return model(batch, compute_stress=stress)


def _rand_orthogonal(seed):
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    return -q if seed % 2 else q  # odd seeds: improper (with inversion)


@pytest.mark.parametrize("seed", [0, 1])
def test_equivariance_float64(seed):
    model = _model()
    atoms = _atoms(seed)
    ref = _predict(model, atoms)
    rot = _rand_orthogonal(seed)
    moved = atoms.copy()
    moved.positions = atoms.positions @ rot.T + np.array([0.3, -1.2, 2.0])
    moved.set_cell(atoms.cell.array @ rot.T, scale_atoms=False)
    out = _predict(model, moved)
    r = torch.as_tensor(rot)
    torch.testing.assert_close(out["energy"], ref["energy"], atol=1e-10, rtol=0)
    torch.testing.assert_close(out["forces"], ref["forces"] @ r.T, atol=1e-10, rtol=0)
    torch.testing.assert_close(out["stress"][0], r @ ref["stress"][0] @ r.T, atol=1e-10, rtol=0)


def test_forces_are_minus_energy_gradient():
    model = _model()
    atoms = _atoms(2)
    forces = _predict(model, atoms, stress=False)["forces"].detach().numpy()
    h = 1e-5
    for atom, axis in [(0, 0), (1, 2), (3, 1)]:
        energies = []
        for sign in (1, -1):
            moved = atoms.copy()
            moved.positions[atom, axis] += sign * h
            energies.append(float(_predict(model, moved, stress=False)["energy"].detach()))
        assert abs(-(energies[0] - energies[1]) / (2 * h) - forces[atom, axis]) < 1e-7


def test_stress_is_strain_derivative_over_volume():
    model = _model()
    atoms = _atoms(3)
    stress = _predict(model, atoms)["stress"][0].detach().numpy()
    h = 1e-5
    for i, j in [(0, 0), (1, 2), (2, 1), (0, 1)]:
        energies = []
        for sign in (1, -1):
            eps = np.zeros((3, 3))
            eps[i, j] += sign * h / 2
            eps[j, i] += sign * h / 2
            moved = atoms.copy()
            moved.set_cell(atoms.cell.array @ (np.eye(3) + eps), scale_atoms=True)
            energies.append(float(_predict(model, moved, stress=False)["energy"].detach()))
        assert abs((energies[0] - energies[1]) / (2 * h) / atoms.get_volume() - stress[i, j]) < 1e-8


def test_stress_sign_matches_ase_convention():
    """Our stress formula reproduces ASE's EMT stress (so trained stresses follow ASE's convention)."""
    from ase.calculators.emt import EMT

    atoms = _atoms(4)
    atoms.calc = EMT()
    ref = atoms.get_stress(voigt=False)
    h = 1e-5
    eps = np.zeros((3, 3))
    eps[0, 0] = h
    plus, minus = atoms.copy(), atoms.copy()
    plus.calc, minus.calc = EMT(), EMT()
    plus.set_cell(atoms.cell.array @ (np.eye(3) + eps), scale_atoms=True)
    minus.set_cell(atoms.cell.array @ (np.eye(3) - eps), scale_atoms=True)
    fd = (plus.get_potential_energy() - minus.get_potential_energy()) / (2 * h) / atoms.get_volume()
    assert abs(fd - ref[0, 0]) < 1e-6


def test_extensive_in_supercells_and_batches():
    model = _model()
    atoms = _atoms(5)
    e1 = _predict(model, atoms)["energy"]
    big = atoms.repeat((2, 1, 2))
    e4 = _predict(model, big)["energy"]
    torch.testing.assert_close(e4, 4 * e1, atol=1e-9, rtol=0)
    g1, g2 = atoms_to_graph(atoms, 4.0), atoms_to_graph(_atoms(6), 4.0)
    both = model(collate([g1, g2]).to(dtype=F64), compute_stress=True)
    second = model(collate([g2]).to(dtype=F64), compute_stress=True)
    torch.testing.assert_close(both["energy"][1], second["energy"][0], atol=1e-12, rtol=0)
    torch.testing.assert_close(both["stress"][1], second["stress"][0], atol=1e-12, rtol=0)


def test_smooth_at_cutoff():
    """An edge that reaches the cutoff contributes nothing: dropping it from the graph changes nothing."""
    from ase import Atoms

    model = _model(species=(29,))
    for r, tol in ((3.99, 1e-7), (3.9999, 1e-12)):
        atoms = Atoms("Cu3", positions=[[0.0, 0.0, 0.0], [r, 0.0, 0.0], [2.0, 2.0, 0.0]])
        full = collate([atoms_to_graph(atoms, 4.0)]).to(dtype=F64)
        pruned = collate([atoms_to_graph(atoms, r - 1e-6)]).to(dtype=F64)
        assert pruned.edge_index.shape[1] == full.edge_index.shape[1] - 2
        e_full, e_pruned = (model(b)["energy"].detach() for b in (full, pruned))
        f_full, f_pruned = (model(b)["forces"].detach() for b in (full, pruned))
        assert abs(float(e_full - e_pruned)) < tol
        assert float((f_full - f_pruned).abs().max()) < 100 * tol


def test_gradcheck_positions():
    model = _model(num_features=3, lmax=1, num_layers=1)
    batch = collate([atoms_to_graph(_atoms(7), 4.0)]).to(dtype=F64)

    def energy(pos):
        batch.pos = pos
        return model(batch, compute_forces=True, create_graph=True)["forces"]

    pos = batch.pos.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(energy, (pos,), atol=1e-6)


def test_save_load_roundtrip(tmp_path):
    model = _model()
    save_model(model, tmp_path / "m.pt")
    loaded = load_model(tmp_path / "m.pt")
    assert loaded.hyperparameters() == model.hyperparameters()
    atoms = _atoms(8)
    torch.testing.assert_close(
        _predict(loaded, atoms)["forces"], _predict(model, atoms)["forces"], atol=1e-13, rtol=0
    )


def test_bad_arguments():
    with pytest.raises(ValueError, match="NequIP: expected num_layers to be an integer >= 1, got 0"):
        NequIP(species=[29], num_layers=0)
    with pytest.raises(ValueError, match="expected distinct atomic numbers in 1..118"):
        NequIP(species=[29, 29])
    with pytest.raises(ValueError, match="NequIP: expected a positive avg_num_neighbors"):
        NequIP(species=[29], avg_num_neighbors=0.0)
    model = _model(species=(29,))
    with pytest.raises(ValueError, match=r"unknown species Al \(Z=13\); this model knows Cu"):
        model.check_species(_atoms(0).numbers)
