"""``e3torch evaluate MODEL [--data emt|FILE] [--split test]``: energy / force / stress errors of a model.

Prints MAE and RMSE of energy per atom (meV/atom), force components (meV/Å) and stress components (meV/Å^3)
on the EMT dataset's held-out test split (default) or on an extxyz file of labelled structures.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from typing import Any

__all__ = ["register", "run", "evaluate_file", "equivariance_error"]


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
        "evaluate",
        help="energy/force/stress MAE and RMSE of a trained model on a dataset",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("model", help="model file written by e3torch train (e.g. runs/emt/model.pt)")
    parser.add_argument("--data", default="emt", help="'emt' (the embedded dataset) or an extxyz file")
    parser.add_argument(
        "--split",
        default="test",
        choices=["train", "validation", "test"],
        help="which EMT split (with --data emt; default test)",
    )
    parser.add_argument("--cache-dir", default=None, help="where the EMT dataset is cached")
    parser.add_argument("--batch-size", type=int, default=8, help="structures per batch (default 8)")
    parser.add_argument("--dtype", default="float64", choices=["float32", "float64"], help="default float64")
    parser.add_argument("--device", default="cpu", help="torch device (default cpu)")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads (default 1: fastest for small systems and on a busy machine)",
    )
    parser.add_argument("--json", default=None, help="also write the metrics to this JSON file")
    parser.add_argument(
        "--equivariance",
        action="store_true",
        help="also report the float64 equivariance error on the first 10 structures",
    )
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
    """Load a model and a dataset; return the error metrics (eV units), ``structures`` and ``seconds``."""
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
    metrics, _ = evaluate_model(
        model, dataset.graphs, batch_size=batch_size, device=device, dtype=torch_dtype, reduce=False
    )
    return {**metrics, "structures": float(len(dataset)), "seconds": time.perf_counter() - start}


def equivariance_error(model: Any, graphs: Sequence[Any], *, seed: int = 0) -> dict[str, float]:
    """Largest change of energy, and of rotated forces and stress, under a random rotation with inversion
    (float64).

    Each graph's positions and cell are transformed by the same random orthogonal matrix ``Q`` (``det Q =
    -1``):
    the energy must not change, forces must become ``F Q^T`` and stress ``Q S Q^T``.

    Examples
    --------
    >>> import torch
    >>> from ase.build import bulk
    >>> from e3torch.data import atoms_to_graph
    >>> from e3torch.models import NequIP
    >>> _ = torch.manual_seed(0)
    >>> model = NequIP(species=[29], cutoff=4.0, num_features=4, num_layers=1)
    >>> err = equivariance_error(model, [atoms_to_graph(bulk("Cu", "fcc", a=3.6, cubic=True), 4.0)])
    >>> all(v < 1e-12 for v in err.values())
    True
    """
    import dataclasses

    import numpy as np
    import torch

    from e3torch.data import collate

    model = model.to(torch.float64)
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))
    rot = torch.as_tensor(-(q * np.sign(np.diag(r))))
    worst = {"energy": 0.0, "forces": 0.0, "stress": 0.0}
    for graph in graphs:
        moved = dataclasses.replace(graph, pos=graph.pos @ rot.T, cell=graph.cell @ rot.T)
        a = {
            k: v.detach()
            for k, v in model(collate([graph]).to(dtype=torch.float64), compute_stress=True).items()
        }
        b = {
            k: v.detach()
            for k, v in model(collate([moved]).to(dtype=torch.float64), compute_stress=True).items()
        }
        worst["energy"] = max(worst["energy"], float((a["energy"] - b["energy"]).abs().max()))
        worst["forces"] = max(worst["forces"], float((a["forces"] @ rot.T - b["forces"]).abs().max()))
        worst["stress"] = max(
            worst["stress"], float((rot @ a["stress"][0] @ rot.T - b["stress"][0]).abs().max())
        )
    return worst


def run(args: argparse.Namespace) -> int:
    """Execute ``e3torch evaluate``; returns the exit status (2 for bad input)."""
    from e3torch.cli._metrics import format_metrics

    if args.threads > 0:
        import torch

        torch.set_num_threads(args.threads)
    if args.batch_size < 1:
        print(f"e3torch evaluate: error: expected --batch-size >= 1, got {args.batch_size}", file=sys.stderr)
        return 2
    try:
        metrics = evaluate_file(
            args.model,
            args.data,
            split=args.split,
            cache_dir=args.cache_dir,
            batch_size=args.batch_size,
            dtype=args.dtype,
            device=args.device,
        )
    except ValueError as err:
        print(f"e3torch evaluate: error: {err}", file=sys.stderr)
        return 2
    name = args.split if args.data == "emt" else args.data
    print(format_metrics(metrics, name))
    print(f"{int(metrics['structures'])} structures in {metrics['seconds']:.1f} s")
    if args.equivariance:
        from e3torch.data import load_emt_dataset, read_extxyz
        from e3torch.models._io import load_model

        model = load_model(args.model)
        path = str(load_emt_dataset(args.cache_dir)[args.split]) if args.data == "emt" else args.data
        graphs = read_extxyz(path, model.cutoff).graphs[:10]
        err = equivariance_error(model, graphs)
        metrics.update({f"equivariance_{k}": v for k, v in err.items()})
        print(
            f"equivariance error (float64, rotation with inversion): energy {err['energy']:.1e} eV, "
            f"forces {err['forces']:.1e} eV/Å, stress {err['stress']:.1e} eV/Å^3"
        )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(metrics, f, indent=2)
    return 0
