"""``e3torch evaluate MODEL [--data emt|FILE] [--split test]``: energy / force / stress errors of a trained model.

Prints MAE and RMSE of energy per atom (meV/atom), force components (meV/Å) and stress components (meV/Å^3)
on the EMT dataset's held-out test split (default) or on an extxyz file of labelled structures.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

__all__ = ["register", "run", "evaluate_file"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``evaluate`` subcommand to an argparse subparser collection.

    Examples
    --------
    >>> parser = argparse.ArgumentParser()
    >>> register(parser.add_subparsers(dest="command"))
    >>> args = parser.parse_args(["evaluate", "runs/emt/model.pt", "--split", "validation"])
    >>> args.model, args.data, args.split
    ('runs/emt/model.pt', 'emt', 'validation')
    """
    parser = subparsers.add_parser(
        "evaluate", help="energy/force/stress MAE and RMSE of a trained model on a dataset", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("model", help="model file written by e3torch train (e.g. runs/emt/model.pt)")
    parser.add_argument("--data", default="emt", help="'emt' (the embedded dataset) or an extxyz file")
    parser.add_argument("--split", default="test", choices=["train", "validation", "test"],
                        help="which EMT split (with --data emt; default test)")
    parser.add_argument("--cache-dir", default=None, help="where the EMT dataset is cached")
    parser.add_argument("--batch-size", type=int, default=8, help="structures per batch (default 8)")
    parser.add_argument("--dtype", default="float64", choices=["float32", "float64"], help="default float64")
    parser.add_argument("--device", default="cpu", help="torch device (default cpu)")
    parser.add_argument("--json", default=None, help="also write the metrics to this JSON file")
    parser.set_defaults(func=run)


def evaluate_file(
    model_path: str,
    data: str = "emt",
    *,
    split: str = "test",
    cache_dir: str | None = None,
    batch_size: int = 8,
    dtype: str = "float64",
    device: str = "cpu",
) -> dict[str, float]:
    """Load a model and a dataset and return the error metrics (eV units) plus ``structures`` and ``seconds``."""
    import torch

    from e3torch.cli._metrics import evaluate_model
    from e3torch.data import load_emt_dataset, read_extxyz
    from e3torch.models._io import load_model

    model = load_model(model_path)
    path = str(load_emt_dataset(cache_dir)[split]) if data == "emt" else data
    dataset = read_extxyz(path, model.cutoff)
    for k, g in enumerate(dataset.graphs):
        model.check_species(g.numbers, name=f"{path}[{k}]")
    torch_dtype = {"float32": torch.float32, "float64": torch.float64}[dtype]
    model = model.to(device=device, dtype=torch_dtype)
    start = time.perf_counter()
    metrics, _ = evaluate_model(model, dataset.graphs, batch_size=batch_size, device=device, dtype=torch_dtype,
                                reduce=False)
    return {**metrics, "structures": float(len(dataset)), "seconds": time.perf_counter() - start}


def run(args: argparse.Namespace) -> int:
    """Execute ``e3torch evaluate``; returns the exit status (2 for bad input)."""
    from e3torch.cli._metrics import format_metrics

    if args.batch_size < 1:
        print(f"e3torch evaluate: error: expected --batch-size >= 1, got {args.batch_size}", file=sys.stderr)
        return 2
    try:
        metrics = evaluate_file(args.model, args.data, split=args.split, cache_dir=args.cache_dir,
                                batch_size=args.batch_size, dtype=args.dtype, device=args.device)
    except ValueError as err:
        print(f"e3torch evaluate: error: {err}", file=sys.stderr)
        return 2
    name = args.split if args.data == "emt" else args.data
    print(format_metrics(metrics, name))
    print(f"{int(metrics['structures'])} structures in {metrics['seconds']:.1f} s")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(metrics, f, indent=2)
    return 0
