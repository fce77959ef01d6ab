"""Throughput of the NequIP-style potential on the embedded EMT dataset (e3torch only: no e3nn model).

``python -m benchmarks.training_throughput [--threads 2] [--steps 20] [key=value ...]`` reports, for the
default ``e3torch train`` model (or the given config overrides):

- training: structures/s of full optimisation steps (energy, forces with ``create_graph``, stress, backward,
  Adam) in float32,
- inference: structures/s of energy + forces + stress evaluation in float32,
- MD: steps/s of the ASE calculator in float64 on a 108-atom copper supercell.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    parser.add_argument("--steps", type=int, default=20, help="timed training steps (default 20)")
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="TrainConfig overrides")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    from ase.build import bulk

    from e3torch.cli._config import load_config, parse_overrides
    from e3torch.cli._metrics import batch_loss
    from e3torch.cli._training import build_potential, load_datasets
    from e3torch.data import collate
    from e3torch.models import E3TorchCalculator

    config = load_config(None, parse_overrides(args.overrides))
    data = load_datasets(config)
    graphs = data["train"].graphs
    avg_nn = sum(g.edge_index.shape[1] / g.num_atoms for g in graphs) / len(graphs)
    torch.manual_seed(0)
    model = build_potential(config, data["train"].species, avg_nn)
    model.fit_scale_shift(graphs)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    bs = config.batch_size
    times = []
    for step in range(args.steps + 3):
        batch = collate(graphs[(step * bs) % (len(graphs) - bs) :][:bs]).to(dtype=torch.float32)
        t0 = time.perf_counter()
        pred = model(batch, compute_stress=True, create_graph=True)
        loss = batch_loss(
            pred,
            batch,
            energy_weight=config.energy_weight,
            force_weight=config.force_weight,
            stress_weight=max(config.stress_weight, 1.0),
        )
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step >= 3:
            times.append(time.perf_counter() - t0)
    train_rate = bs / statistics.median(times)
    edges = sum(g.edge_index.shape[1] for g in graphs[:bs])
    model.eval()
    inf_times = []
    for step in range(10):
        batch = collate(graphs[step * 8 : step * 8 + 8]).to(dtype=torch.float32)
        t0 = time.perf_counter()
        model(batch, compute_stress=True)
        inf_times.append(time.perf_counter() - t0)
    infer_rate = 8 / statistics.median(inf_times[2:])
    atoms = bulk("Cu", "fcc", a=3.61, cubic=True).repeat(3)
    atoms.rattle(0.05, seed=0)
    atoms.calc = E3TorchCalculator(model, dtype=torch.float64)
    md_times = []
    for k in range(8):
        atoms.positions[0, 0] += 1e-3
        t0 = time.perf_counter()
        atoms.get_forces()
        md_times.append(time.perf_counter() - t0)
    md_rate = 1.0 / statistics.median(md_times[2:])
    n_params = sum(p.numel() for p in model.parameters())
    print(
        f"model: {type(model).__name__}, {n_params} parameters, cutoff {config.cutoff} Å, "
        f"{torch.get_num_threads()} threads, torch {torch.__version__}"
    )
    print(
        f"training  : {train_rate:8.1f} structures/s  (batch {bs}, {edges} edges, "
        f"{1000 * statistics.median(times):.1f} ms/step, float32, energy+forces+stress)"
    )
    print(f"inference : {infer_rate:8.1f} structures/s  (batch 8, float32, energy+forces+stress)")
    print(f"MD        : {md_rate:8.1f} steps/s       (108 Cu atoms, float64, ASE calculator)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
