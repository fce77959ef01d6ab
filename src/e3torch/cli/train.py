"""``e3torch train [config.yaml] [key=value ...] [--resume]``: train an interatomic potential.

With no arguments it trains the default NequIP-style model on the embedded EMT dataset (generated into the
cache directory on first use) within a 9-minute budget and writes everything into ``runs/emt``:
``config.yaml`` (the resolved settings),
``train.log``, ``metrics.csv``, ``checkpoints/``, ``model.pt``, ``summary.json`` and PNG plots.
Under ``torchrun --nproc-per-node N -m e3torch.cli train ...`` it trains with DistributedDataParallel.
"""

from __future__ import annotations

import argparse
import os
import sys

__all__ = ["register", "run", "split_arguments"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``train`` subcommand to an argparse subparser collection.

    Examples
    --------
    >>> parser = argparse.ArgumentParser()
    >>> register(parser.add_subparsers(dest="command"))
    >>> args = parser.parse_args(["train", "epochs=2", "--resume"])
    >>> args.config, args.overrides, args.resume
    ('epochs=2', [], True)
    """
    parser = subparsers.add_parser(
        "train",
        help="train an interatomic potential (default: NequIP-style model on the embedded EMT dataset)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("config", nargs="?", default=None, help="YAML file of settings (optional)")
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="settings that override the file's")
    parser.add_argument(
        "--resume", action="store_true", help="continue from <output_dir>/checkpoints/last.pt"
    )
    parser.add_argument("--show-config", action="store_true", help="print the resolved settings and exit")
    parser.set_defaults(func=run)


def split_arguments(config: str | None, overrides: list[str]) -> tuple[str | None, list[str]]:
    """Tell a config file from a first ``key=value`` override.

    Examples
    --------
    >>> split_arguments("epochs=3", ["seed=1"])
    (None, ['epochs=3', 'seed=1'])
    >>> split_arguments("run.yaml", ["seed=1"])
    ('run.yaml', ['seed=1'])
    """
    if config is not None and "=" in config and not os.path.exists(config):
        return None, [config, *overrides]
    return config, list(overrides)


def run(args: argparse.Namespace) -> int:
    """Execute ``e3torch train``; returns the exit status (2 for a bad configuration)."""
    import yaml

    from e3torch.cli._config import load_config, parse_overrides

    path, overrides = split_arguments(args.config, args.overrides)
    try:
        config = load_config(path, parse_overrides(overrides))
    except ValueError as err:
        print(f"e3torch train: error: {err}", file=sys.stderr)
        return 2
    if args.show_config:
        print(yaml.safe_dump(config.to_dict(), sort_keys=False), end="")
        return 0
    from e3torch.cli._training import train

    from e3torch.cli._metrics import format_metrics

    try:
        summary = train(config, resume=args.resume)
    except ValueError as err:
        print(f"e3torch train: error: {err}", file=sys.stderr)
        return 2
    if int(os.environ.get("RANK", "0")) != 0:  # under torchrun only rank 0 reports
        return 0
    name = summary["final_set"]
    metrics = {k[len(name) + 1 :]: v for k, v in summary.items() if k.startswith(f"{name}_")}
    print(format_metrics(metrics, name))
    print(
        f"model: {os.path.join(config.output_dir, 'model.pt')}  ({summary['epochs_run']} epochs, "
        f"{summary['train_time_s']:.0f} s)"
    )
    return 0
