"""``e3torch train`` end to end through its argparse entry, with a tiny NequIP model and dataset."""

import argparse
import csv

import pytest

from e3torch.cli import train as train_cmd
from e3torch.data import EMTDatasetSpec, load_emt_dataset


def _run(argv):
    parser = argparse.ArgumentParser()
    train_cmd.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


@pytest.mark.slow
def test_train_command_and_resume(tmp_path, capsys):
    spec = EMTDatasetSpec(systems=("Cu", "Pd"), supercell=1, n_rattled=10, md_temperatures=(), seed=9)
    paths = load_emt_dataset(tmp_path / "cache", spec)
    (tmp_path / "run.yaml").write_text(
        f"dataset: {paths['train']}\nvalidation_dataset: {paths['validation']}\n"
        f"test_dataset: {paths['test']}\n"
        "cutoff: 4.0\nnum_features: 4\nnum_layers: 1\nradial_neurons: 8\nbatch_size: 4\nmax_minutes: 0\n"
        f"output_dir: {tmp_path / 'out'}\n"
    )
    assert _run(["train", str(tmp_path / "run.yaml"), "epochs=2", "stress_weight=1.0"]) == 0
    out = capsys.readouterr().out
    assert "test" in out and "forces" in out and "meV/Å" in out and "2 epochs" in out
    saved = (tmp_path / "out/config.yaml").read_text()
    assert "epochs: 2\n" in saved and "stress_weight: 1.0\n" in saved
    assert _run(["train", str(tmp_path / "run.yaml"), "epochs=3", "stress_weight=1.0", "--resume"]) == 0
    rows = list(csv.DictReader(open(tmp_path / "out/metrics.csv")))
    assert [r["epoch"] for r in rows] == ["1", "2", "3"]
    assert "resumed from" in (tmp_path / "out/train.log").read_text()
