import argparse

import pytest

from e3torch.cli import train as train_cmd
from e3torch.cli._config import TrainConfig, load_config, parse_overrides, save_config


def test_defaults_roundtrip(tmp_path):
    cfg = TrainConfig()
    save_config(cfg, tmp_path / "c.yaml")
    assert load_config(tmp_path / "c.yaml") == cfg


def test_file_and_overrides(tmp_path):
    (tmp_path / "c.yaml").write_text("epochs: 4\nlearning_rate: 0.002\noutput_dir: runs/a\n")
    cfg = load_config(tmp_path / "c.yaml", parse_overrides(["epochs=6", "validation_dataset=null"]))
    assert (cfg.epochs, cfg.learning_rate, cfg.output_dir, cfg.validation_dataset) == (
        6,
        0.002,
        "runs/a",
        None,
    )
    assert isinstance(load_config(None, {"cutoff": 4}).cutoff, float)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"lerning_rate": 0.1}, "unknown config key 'lerning_rate' \\(did you mean 'learning_rate'\\?\\)"),
        ({"zzz": 1}, "unknown config key 'zzz'; known keys: dataset"),
        ({"epochs": "many"}, "config key 'epochs': expected int, got 'many'"),
        ({"epochs": 2.5}, "config key 'epochs': expected int, got 2.5"),
        ({"plots": 1}, "config key 'plots': expected bool, got 1"),
        ({"epochs": 0}, "config key 'epochs': expected an integer >= 1, got 0"),
        ({"cutoff": -1.0}, "config key 'cutoff': expected a positive number"),
        ({"dtype": "float16"}, "config key 'dtype': expected one of \\['float32', 'float64'\\]"),
        ({"ema_decay": 1.0}, "config key 'ema_decay': expected a number in \\[0, 1\\)"),
        ({"validation_fraction": 1.0}, "config key 'validation_fraction'"),
        ({"energy_weight": 0, "force_weight": 0, "stress_weight": 0}, "nothing to fit"),
        ({"dataset": None}, "config key 'dataset': expected str, got None"),
    ],
)
def test_bad_values(overrides, message):
    with pytest.raises(ValueError, match=message):
        load_config(None, overrides)


def test_bad_files(tmp_path):
    with pytest.raises(ValueError, match="config file not found"):
        load_config(tmp_path / "missing.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(ValueError, match="expected a mapping of settings, got list"):
        load_config(tmp_path / "list.yaml")
    with pytest.raises(ValueError, match="expected an override of the form key=value"):
        parse_overrides(["=3"])


def _parse(argv):
    parser = argparse.ArgumentParser()
    train_cmd.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


def test_cli_show_config_and_unknown_key(capsys, tmp_path):
    assert train_cmd.run(_parse(["train", "epochs=3", "seed=2", "--show-config"])) == 0
    shown = capsys.readouterr().out
    assert "epochs: 3\n" in shown and "seed: 2\n" in shown
    (tmp_path / "c.yaml").write_text("batch_size: 2\n")
    assert train_cmd.run(_parse(["train", str(tmp_path / "c.yaml"), "epochs=1", "--show-config"])) == 0
    assert "batch_size: 2\n" in capsys.readouterr().out
    assert train_cmd.run(_parse(["train", "nonsense_key=1"])) == 2
    assert "unknown config key 'nonsense_key'" in capsys.readouterr().err
    missing = str(tmp_path / "missing.xyz")
    assert train_cmd.run(_parse(["train", f"dataset={missing}", f"output_dir={tmp_path / 'o'}"])) == 2
    assert "dataset file not found" in capsys.readouterr().err
