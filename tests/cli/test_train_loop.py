"""The training loop with a tiny invariant pair potential (fast; the equivariant model has its own tests)."""

import csv
import json

import pytest
import torch

from e3torch.cli._config import TrainConfig
from e3torch.cli._training import train
from e3torch.data import EMTDatasetSpec, load_emt_dataset
from e3torch.models._io import load_model, register_model
from e3torch.models._potential import AtomisticPotential
from e3torch.models._radial import RadialEmbedding


@register_model
class PairToy(AtomisticPotential):
    def __init__(self, species, cutoff, num_basis=6, **_):
        super().__init__(species, cutoff)
        self.embed = RadialEmbedding(cutoff, num_basis)
        n = len(species)
        self.mix = torch.nn.Parameter(torch.randn(n * n, num_basis) * 0.1)
        self.num_basis = num_basis

    def hyperparameters(self):
        return {**super().hyperparameters(), "num_basis": self.num_basis}

    def node_energies(self, species, edge_index, edge_vec):
        pair = species[edge_index[0]] * self.num_species + species[edge_index[1]]
        e = (self.embed(edge_vec.norm(dim=1)) * self.mix[pair]).sum(-1)
        return torch.zeros(species.shape[0], dtype=e.dtype).index_add(0, edge_index[0], e)


def toy_factory(config, species, avg_nn):
    return PairToy(species, config.cutoff)


TINY = EMTDatasetSpec(systems=("Cu", "Au"), supercell=1, n_rattled=10, md_temperatures=(), seed=3)


@pytest.fixture(scope="module")
def tiny_paths(tmp_path_factory):
    return load_emt_dataset(tmp_path_factory.mktemp("cache"), TINY)


def _config(paths, out, **kw):
    base = dict(
        dataset=str(paths["train"]),
        validation_dataset=str(paths["validation"]),
        test_dataset=str(paths["test"]),
        cutoff=4.0,
        epochs=4,
        batch_size=2,
        learning_rate=0.02,
        output_dir=str(out),
        plots=True,
        progress=False,
        num_threads=1,
        stress_weight=0.1,
        max_minutes=0.0,
    )
    base.update(kw)
    return TrainConfig(**base)


def test_train_writes_everything(tiny_paths, tmp_path):
    cfg = _config(tiny_paths, tmp_path / "run")
    summary = train(cfg, model_factory=toy_factory)
    out = tmp_path / "run"
    for name in (
        "config.yaml",
        "train.log",
        "metrics.csv",
        "model.pt",
        "summary.json",
        "learning_curves.png",
        "forces_parity.png",
        "checkpoints/last.pt",
        "checkpoints/best_model.pt",
    ):
        assert (out / name).exists(), name
    rows = list(csv.DictReader(open(out / "metrics.csv")))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3, 4]
    assert float(rows[-1]["val_loss"]) < float(rows[0]["val_loss"])
    assert json.loads((out / "summary.json").read_text())["epochs_run"] == 4
    assert summary["final_set"] == "test" and summary["test_forces_mae"] > 0
    model = load_model(out / "model.pt")
    assert isinstance(model, PairToy) and model.species == (29, 79)


def test_resume_after_interruption_matches_uninterrupted(tiny_paths, tmp_path):
    ref_cfg = _config(tiny_paths, tmp_path / "ref", plots=False)
    train(ref_cfg, model_factory=toy_factory)
    ref = torch.load(tmp_path / "ref/checkpoints/last.pt", weights_only=False)

    cfg = _config(tiny_paths, tmp_path / "cut", plots=False)

    def crash(epoch, row):
        if epoch == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(cfg, model_factory=toy_factory, epoch_callback=crash)
    state = torch.load(tmp_path / "cut/checkpoints/last.pt", weights_only=False)
    assert state["epoch"] == 2 and len(state["history"]) == 2
    train(cfg, resume=True, model_factory=toy_factory)
    got = torch.load(tmp_path / "cut/checkpoints/last.pt", weights_only=False)
    assert [r["epoch"] for r in got["history"]] == [1, 2, 3, 4]
    for key, value in ref["model"].items():
        torch.testing.assert_close(got["model"][key], value, atol=1e-6, rtol=0)
    for a, b in zip(ref["history"], got["history"]):
        assert a["val_loss"] == pytest.approx(b["val_loss"], rel=1e-5)
    assert "resumed from" in (tmp_path / "cut/train.log").read_text()


def test_unknown_species_in_validation(tiny_paths, tmp_path):
    from ase.build import bulk
    import ase.io

    frame = bulk("Ni", "fcc", a=3.52, cubic=True)
    frame.info["energy"] = 0.0
    frame.arrays["forces"] = frame.positions * 0
    ase.io.write(tmp_path / "ni.xyz", [frame], format="extxyz")
    cfg = _config(tiny_paths, tmp_path / "bad", validation_dataset=str(tmp_path / "ni.xyz"))
    with pytest.raises(
        ValueError, match=r"validation\[0\]: unknown species Ni \(Z=28\); this model knows Cu, Au"
    ):
        train(cfg, model_factory=toy_factory)


def test_bad_batch_size(tiny_paths, tmp_path):
    with pytest.raises(ValueError, match="config key 'batch_size': 500 exceeds the 16 training structures"):
        train(_config(tiny_paths, tmp_path / "b", batch_size=500), model_factory=toy_factory)


def test_time_budget_stops_and_is_recorded(tiny_paths, tmp_path):
    cfg = _config(tiny_paths, tmp_path / "budget", epochs=100_000, max_minutes=0.02, plots=False)
    summary = train(cfg, model_factory=toy_factory)
    assert summary["stopped_early"] and summary["epochs_run"] < 100_000
    state = torch.load(tmp_path / "budget/checkpoints/last.pt", weights_only=False)
    assert state["finished"]
    again = train(cfg, resume=True, model_factory=toy_factory)
    assert again["epochs_run"] == summary["epochs_run"]
