"""``e3torch evaluate`` / ``e3torch md`` on a tiny model and dataset; the calculator's bad-input errors."""

import argparse
import json

import numpy as np
import pytest
import torch
from ase.build import bulk

from e3torch.cli import evaluate as evaluate_cmd
from e3torch.cli import md as md_cmd
from e3torch.data import EMTDatasetSpec, load_emt_dataset
from e3torch.models import E3TorchCalculator, NequIP, save_model


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    torch.manual_seed(0)
    model = NequIP(
        species=[29, 79],
        cutoff=4.0,
        num_features=4,
        lmax=1,
        num_layers=1,
        radial_neurons=8,
        avg_num_neighbors=12.0,
    )
    save_model(model.to(torch.float32), root / "model.pt")  # as training leaves it
    paths = load_emt_dataset(
        root / "cache", EMTDatasetSpec(systems=("Cu", "Au"), supercell=1, n_rattled=10, md_temperatures=())
    )
    return root, paths


def _parse(register, argv):
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


def test_evaluate_prints_and_writes_json(tiny, capsys):
    root, paths = tiny
    args = _parse(
        evaluate_cmd.register,
        [
            "evaluate",
            str(root / "model.pt"),
            "--data",
            str(paths["train"]),
            "--json",
            str(root / "metrics.json"),
            "--equivariance",
        ],
    )
    assert evaluate_cmd.run(args) == 0
    out = capsys.readouterr().out
    assert "forces" in out and "meV/Å" in out and "16 structures" in out
    metrics = json.loads((root / "metrics.json").read_text())
    assert metrics["forces_mae"] > 0 and metrics["stress_rmse"] >= metrics["stress_mae"]
    assert "equivariance error (float64" in out
    assert max(metrics[f"equivariance_{k}"] for k in ("energy", "forces", "stress")) < 1e-10


def test_evaluate_errors(tiny, capsys):
    root, paths = tiny
    assert evaluate_cmd.run(_parse(evaluate_cmd.register, ["evaluate", str(root / "nope.pt")])) == 2
    assert "model file not found" in capsys.readouterr().err
    assert (
        evaluate_cmd.run(
            _parse(
                evaluate_cmd.register, ["evaluate", str(root / "model.pt"), "--data", str(root / "none.xyz")]
            )
        )
        == 2
    )
    assert "dataset file not found" in capsys.readouterr().err


def test_md_reports_drift(tiny, capsys):
    root, _ = tiny
    args = _parse(
        md_cmd.register,
        [
            "md",
            str(root / "model.pt"),
            "--supercell",
            "1",
            "--time-ps",
            "0.02",
            "--log-every",
            "10",
            "--timestep",
            "1.0",
        ],
    )
    assert md_cmd.run(args) == 0
    out = capsys.readouterr().out
    assert "NVE: 4 atoms (Cu4), 20 steps" in out and "energy drift over 0.020 ps" in out
    args = _parse(
        md_cmd.register,
        [
            "md",
            str(root / "model.pt"),
            "--supercell",
            "1",
            "--time-ps",
            "0.005",
            "--max-drift",
            "0",
            "--temperature",
            "2000",
        ],
    )
    assert md_cmd.run(args) == 1
    args = _parse(md_cmd.register, ["md", str(root / "model.pt"), "--element", "Ni"])
    assert md_cmd.run(args) == 2
    assert "unknown species Ni (Z=28)" in capsys.readouterr().err


def test_calculator_matches_model_and_rejects_bad_input(tiny):
    root, _ = tiny
    calc = E3TorchCalculator(root / "model.pt")
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True)
    atoms.rattle(0.05, seed=1)
    atoms.calc = calc
    forces, stress = atoms.get_forces(), atoms.get_stress()
    assert forces.shape == (4, 3) and stress.shape == (6,)
    h = 1e-5
    plus, minus = atoms.copy(), atoms.copy()
    plus.positions[0, 1] += h
    minus.positions[0, 1] -= h
    plus.calc = minus.calc = calc
    e_plus = plus.get_potential_energy()
    e_minus = minus.get_potential_energy()
    assert abs(-(e_plus - e_minus) / (2 * h) - forces[0, 1]) < 1e-7
    assert np.isclose(atoms.get_potential_energies().sum(), atoms.get_potential_energy())
    bad = atoms.copy()
    bad.numbers[0] = 26
    bad.calc = calc
    with pytest.raises(ValueError, match=r"atoms: unknown species Fe \(Z=26\)"):
        bad.get_potential_energy()
    nan = atoms.copy()
    nan.positions[1, 0] = np.nan
    nan.calc = E3TorchCalculator(root / "model.pt")
    with pytest.raises(ValueError, match="positions contain NaN or inf"):
        nan.get_potential_energy()
    flat = atoms.copy()
    flat.set_cell(np.diag([3.6, 3.6, 0.0]))
    flat.calc = E3TorchCalculator(root / "model.pt")
    with pytest.raises(ValueError, match="the cell is singular"):
        flat.get_potential_energy()
    from ase import Atoms

    lonely = Atoms("Cu2", positions=[[0, 0, 0], [10, 0, 0]])
    lonely.calc = E3TorchCalculator(root / "model.pt")
    with pytest.raises(ValueError, match="atom 0 has no neighbours within the cutoff 4.0"):
        lonely.get_potential_energy()
    empty = Atoms()
    empty.calc = E3TorchCalculator(root / "model.pt")
    with pytest.raises(ValueError, match="the structure is empty"):
        empty.get_potential_energy()
