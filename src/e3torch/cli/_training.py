"""The training loop behind ``e3torch train``: data, model, optimiser, checkpoints, metrics, plots, DDP.

Runs unchanged in one process or under ``torchrun`` (one process per rank; gloo on CPU, nccl on GPU):
every rank draws the same per-epoch permutation (seeded by ``seed`` and the epoch) and takes its share of each
batch, DistributedDataParallel averages the gradients, and rank 0 alone writes files.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from e3torch.cli._config import TrainConfig, save_config
from e3torch.cli._metrics import ErrorSums, batch_loss, evaluate_model
from e3torch.data._dataset import AtomsDataset, read_extxyz
from e3torch.data._emt import load_emt_dataset
from e3torch.data._graph import collate
from e3torch.models._io import build_model, save_model
from e3torch.models._potential import AtomisticPotential

__all__ = ["train", "load_datasets", "build_potential", "CSV_COLUMNS"]

CSV_COLUMNS = (
    "epoch",
    "time_s",
    "lr",
    "train_loss",
    "train_energy_mae",
    "train_forces_mae",
    "train_stress_mae",
    "val_loss",
    "val_energy_mae",
    "val_energy_rmse",
    "val_forces_mae",
    "val_forces_rmse",
    "val_stress_mae",
    "val_stress_rmse",
)
ModelFactory = Callable[[TrainConfig, tuple[int, ...], float], AtomisticPotential]
log = logging.getLogger("e3torch.train")


def _dist() -> tuple[int, int]:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


def _init_distributed(device: torch.device) -> bool:
    """Join the process group when launched by torchrun (``WORLD_SIZE > 1``); True if we created it."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or torch.distributed.is_initialized():
        return False
    backend = "nccl" if device.type == "cuda" else "gloo"
    torch.distributed.init_process_group(backend=backend)
    return True


def _resolve_device(name: str) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise ValueError("config key 'device': 'cuda' requested but CUDA is not available")
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return torch.device("cpu")


def _auto_threads() -> int:
    """Threads for ``num_threads: 0``: this process's share of the cores that other processes leave idle.

    On a shared machine, OpenMP threads that wait for a descheduled sibling are far slower than one thread,
    so the 1-minute load average (less one, for ourselves) is subtracted from the cores of the local ranks.
    """
    cores = os.cpu_count() or 1
    local = max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    share = max(1, cores // local)
    try:
        busy = max(0.0, os.getloadavg()[0] - 1.0)
    except OSError:  # pragma: no cover - platforms without getloadavg
        busy = 0.0
    return max(1, min(share, int(cores - busy + 0.5) // local))


def load_datasets(config: TrainConfig) -> dict[str, AtomsDataset | None]:
    """The train / validation / test datasets a config names (test may be None).

    ``dataset: emt`` uses the embedded EMT dataset (generated into the cache on first use) and its fixed
    split; a file path is read as extxyz, with validation taken from ``validation_dataset`` or a seeded
    ``validation_fraction`` of it.
    """
    cutoff = config.cutoff
    if config.dataset == "emt":
        paths: dict[str, str | None] = {k: str(v) for k, v in load_emt_dataset(config.cache_dir).items()}
    else:
        paths = {
            "train": config.dataset,
            "validation": config.validation_dataset,
            "test": config.test_dataset,
        }
    if config.validation_dataset is not None:
        paths["validation"] = config.validation_dataset
    if config.test_dataset is not None:
        paths["test"] = config.test_dataset
    train_set = read_extxyz(paths["train"], cutoff)  # type: ignore[arg-type]
    if paths["validation"] is not None:
        val_set: AtomsDataset | None = read_extxyz(paths["validation"], cutoff)
    else:
        order = np.random.default_rng(config.seed).permutation(len(train_set))
        n_val = max(1, int(round(config.validation_fraction * len(train_set))))
        if n_val >= len(train_set):
            raise ValueError(
                f"dataset {config.dataset!r}: {len(train_set)} structures are too few to split off "
                "a validation set; give validation_dataset"
            )
        val_set = _subset(train_set, order[:n_val])
        train_set = _subset(train_set, order[n_val:])
    test_set = read_extxyz(paths["test"], cutoff) if paths.get("test") else None
    energy, forces, _ = train_set.labels()
    if not energy:
        raise ValueError(f"dataset {paths['train']!r}: every training structure needs an energy label")
    if not forces and config.force_weight > 0:
        raise ValueError(f"dataset {paths['train']!r}: force_weight > 0 but not every structure has forces")
    return {"train": train_set, "validation": val_set, "test": test_set}


def _subset(dataset: AtomsDataset, indices: np.ndarray) -> AtomsDataset:
    sub = AtomsDataset.__new__(AtomsDataset)
    sub.cutoff = dataset.cutoff
    sub.graphs = [dataset.graphs[int(k)] for k in indices]
    sub.species = dataset.species
    return sub


def build_potential(
    config: TrainConfig, species: tuple[int, ...], avg_num_neighbors: float
) -> AtomisticPotential:
    """The model a config describes, for the given species (``model: nequip``)."""
    import e3torch.models  # noqa: F401  (registers the model classes)

    hyper = {
        "species": list(species),
        "cutoff": config.cutoff,
        "num_features": config.num_features,
        "lmax": config.lmax,
        "num_layers": config.num_layers,
        "num_basis": config.num_basis,
        "cutoff_p": config.cutoff_p,
        "radial_neurons": config.radial_neurons,
        "radial_layers": config.radial_layers,
        "avg_num_neighbors": avg_num_neighbors,
    }
    return build_model({"nequip": "NequIP"}[config.model], hyper)


def _lr_factor(config: TrainConfig, step: int, progress: float, per_epoch: int) -> float:
    """Linear warm-up over ``warmup_epochs``, then (``cosine``) decay with ``progress`` in [0, 1]."""
    warm = config.warmup_epochs * per_epoch
    factor = min(1.0, (step + 1) / warm) if warm > 0 else 1.0
    if config.schedule == "cosine":
        progress = min(1.0, max(0.0, progress))
        f = config.final_lr_factor
        factor *= f + (1.0 - f) * 0.5 * (1.0 + math.cos(math.pi * progress))
    return factor


def _setup_logging(out: Path, rank: int) -> list[logging.Handler]:
    if rank != 0:
        return []
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S")
    handlers: list[logging.Handler] = [
        logging.FileHandler(out / "train.log"),
        logging.StreamHandler(sys.stderr),
    ]
    for h in handlers:
        h.setFormatter(fmt)
        log.addHandler(h)
    log.setLevel(logging.INFO)
    log.propagate = False
    return handlers


def _write_csv(path: Path, history: list[dict[str, float]]) -> None:
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for row in history:
            writer.writerow({k: ("" if row.get(k) is None else row[k]) for k in CSV_COLUMNS})
    os.replace(tmp, path)


def _atomic_save(obj: Any, path: Path) -> None:
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _val_loss(config: TrainConfig, metrics: dict[str, float]) -> float:
    loss = 0.0
    for key, weight in (
        ("energy", config.energy_weight),
        ("forces", config.force_weight),
        ("stress", config.stress_weight),
    ):
        if f"{key}_rmse" in metrics:
            loss += weight * metrics[f"{key}_rmse"] ** 2
    return loss


def train(
    config: TrainConfig,
    *,
    resume: bool = False,
    model_factory: ModelFactory | None = None,
    epoch_callback: Callable[[int, dict[str, float]], None] | None = None,
) -> dict[str, Any]:
    """Train a potential as ``config`` says; returns the final summary (also written to ``summary.json``).

    Parameters
    ----------
    config : TrainConfig
    resume : bool
        Continue from ``<output_dir>/checkpoints/last.pt`` (finished epochs are kept; an absent checkpoint
        starts from scratch).
    model_factory : callable, optional
        ``(config, species, avg_num_neighbors) -> AtomisticPotential``; default :func:`build_potential`.
    epoch_callback : callable, optional
        Called on every rank as ``callback(epoch, row)`` after an epoch's checkpoint is written.
    """
    device = _resolve_device(config.device)
    created_group = _init_distributed(device)
    rank, world = _dist()
    torch.set_num_threads(config.num_threads if config.num_threads > 0 else _auto_threads())
    dtype = {"float32": torch.float32, "float64": torch.float64}[config.dtype]
    out = Path(config.output_dir)
    ckpt_dir = out / "checkpoints"
    if rank == 0:
        ckpt_dir.mkdir(parents=True, exist_ok=True)
    handlers = _setup_logging(out, rank)
    try:
        return _train(
            config, resume, model_factory, epoch_callback, device, dtype, out, ckpt_dir, rank, world
        )
    finally:
        for h in handlers:
            log.removeHandler(h)
            h.close()
        if created_group:
            torch.distributed.destroy_process_group()


def _train(
    config: TrainConfig,
    resume: bool,
    model_factory: ModelFactory | None,
    epoch_callback: Callable[[int, dict[str, float]], None] | None,
    device: torch.device,
    dtype: torch.dtype,
    out: Path,
    ckpt_dir: Path,
    rank: int,
    world: int,
) -> dict[str, Any]:
    from tqdm import tqdm

    start_time = time.perf_counter()
    if config.batch_size % world != 0:
        raise ValueError(
            f"config key 'batch_size': {config.batch_size} is not divisible by the {world} processes"
        )
    local_batch = config.batch_size // world
    data = load_datasets(config)
    train_set, val_set, test_set = data["train"], data["validation"], data["test"]
    assert train_set is not None and val_set is not None
    species = train_set.species
    avg_nn = float(np.mean([g.edge_index.shape[1] / g.num_atoms for g in train_set.graphs]))
    factory = model_factory or build_potential
    torch.manual_seed(config.seed)
    model = factory(config, species, avg_nn)
    for name, ds in (("validation", val_set), ("test", test_set)):
        if ds is not None:
            for k, g in enumerate(ds.graphs):
                model.check_species(g.numbers, name=f"{name}[{k}]")
    stats = model.fit_scale_shift(train_set.graphs)
    model = model.to(device=device, dtype=dtype)
    ema = None
    if config.ema_decay > 0:
        ema = type(model)(**model.hyperparameters()).to(device=device, dtype=dtype)
        ema.load_state_dict(model.state_dict())
        ema.requires_grad_(False)
    steps_per_epoch = len(train_set) // config.batch_size
    if steps_per_epoch == 0:
        raise ValueError(
            f"config key 'batch_size': {config.batch_size} exceeds the {len(train_set)} training structures"
        )
    total_steps = steps_per_epoch * config.epochs
    budget_s = 60.0 * config.max_minutes
    optimizer = torch.optim.Adam(
        model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    history: list[dict[str, float]] = []
    best = {"val_loss": float("inf"), "epoch": 0}
    first_epoch, elapsed_before, global_step = 1, 0.0, 0
    last_path = ckpt_dir / "last.pt"
    if resume and last_path.exists():
        state = torch.load(last_path, map_location=device, weights_only=False)
        model.load_state_dict(state["model"])
        if ema is not None and state.get("ema") is not None:
            ema.load_state_dict(state["ema"])
        optimizer.load_state_dict(state["optimizer"])
        history, best = state["history"], state["best"]
        first_epoch, elapsed_before, global_step = (
            state["epoch"] + 1,
            state["elapsed_s"],
            state["global_step"],
        )
        if state.get("finished"):
            first_epoch = config.epochs + 1
        if rank == 0:
            log.info("resumed from %s after epoch %d", last_path, state["epoch"])
    elif resume and rank == 0:
        log.info("no checkpoint at %s: starting from scratch", last_path)
    if rank == 0:
        save_config(config, out / "config.yaml")
        n_params = sum(p.numel() for p in model.parameters())
        log.info(
            "data: %d train / %d validation / %s test structures, species %s, %.1f neighbours per atom",
            len(train_set),
            len(val_set),
            len(test_set) if test_set else 0,
            list(species),
            avg_nn,
        )
        log.info(
            "model: %s with %d parameters; force RMS %.3f eV/Å; %d process(es), %d thread(s), %s %s",
            type(model).__name__,
            n_params,
            stats["force_rms"],
            world,
            torch.get_num_threads(),
            device,
            config.dtype,
        )
        if budget_s > 0:
            log.info(
                "time budget %.1f min: the learning-rate schedule follows max(step / %d, time / budget)",
                config.max_minutes,
                total_steps,
            )
    net: torch.nn.Module = model
    if world > 1:
        device_ids = [device.index] if device.type == "cuda" else None
        net = torch.nn.parallel.DistributedDataParallel(model, device_ids=device_ids)
    show_progress = rank == 0 and (config.progress if config.progress is not None else sys.stderr.isatty())
    need_stress = config.stress_weight > 0
    stopped_early = False
    clock = torch.zeros(1, dtype=torch.float64, device=device if device.type == "cuda" else "cpu")
    for epoch in range(first_epoch, config.epochs + 1):
        epoch_start = time.perf_counter()
        model.train()
        order = np.random.default_rng([config.seed, epoch]).permutation(len(train_set))
        sums = ErrorSums()
        loss_sum, steps_done = torch.zeros((), dtype=torch.float64), 0
        bar = tqdm(
            total=steps_per_epoch,
            desc=f"epoch {epoch}/{config.epochs}",
            disable=not show_progress,
            leave=False,
            dynamic_ncols=True,
        )
        for step in range(steps_per_epoch):
            progress = global_step / total_steps
            if budget_s > 0:
                clock.fill_((elapsed_before + time.perf_counter() - start_time) / budget_s)
                if world > 1:
                    torch.distributed.broadcast(clock, src=0)
                progress = max(progress, float(clock[0]))
                if progress >= 1.0:
                    stopped_early = True
                    break
            for group in optimizer.param_groups:
                group["lr"] = config.learning_rate * _lr_factor(
                    config, global_step, progress, steps_per_epoch
                )
            chunk = order[step * config.batch_size + rank * local_batch :][:local_batch]
            batch = collate([train_set.graphs[int(k)] for k in chunk]).to(device=device, dtype=dtype)
            pred = net(batch, compute_forces=True, compute_stress=need_stress, create_graph=True)
            loss = batch_loss(
                pred,
                batch,
                energy_weight=config.energy_weight,
                force_weight=config.force_weight,
                stress_weight=config.stress_weight,
                sums=sums,
            )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if config.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            if ema is not None:
                decay = min(config.ema_decay, (1.0 + global_step) / (10.0 + global_step))
                with torch.no_grad():
                    for pe, pm in zip(ema.parameters(), model.parameters()):
                        pe.lerp_(pm, 1.0 - decay)
            global_step += 1
            steps_done += 1
            loss_sum += loss.detach().double().cpu()
            bar.update(1)
            if show_progress and step % 10 == 0:
                bar.set_postfix(loss=f"{float(loss):.2e}", lr=f"{optimizer.param_groups[0]['lr']:.1e}")
        bar.close()
        if steps_done == 0:  # the budget ran out between epochs: mark the last checkpoint as finished
            if stopped_early and rank == 0 and last_path.exists():
                state = torch.load(last_path, map_location="cpu", weights_only=False)
                state["finished"] = True
                _atomic_save(state, last_path)
            break
        sums.all_reduce()
        train_metrics = sums.summary()
        eval_model = ema if ema is not None else model
        val_idx = list(range(rank, len(val_set), world))
        val_metrics, _ = evaluate_model(
            eval_model,
            val_set.graphs,
            batch_size=max(local_batch, 8),
            device=device,
            dtype=dtype,
            compute_stress=True,
            indices=val_idx,
        )
        row: dict[str, float] = {
            "epoch": epoch,
            "time_s": elapsed_before + time.perf_counter() - start_time,
            "lr": optimizer.param_groups[0]["lr"],
            "train_loss": float(loss_sum) / steps_done,
            **{f"train_{k}": v for k, v in train_metrics.items() if k.endswith("_mae")},
            "val_loss": _val_loss(config, val_metrics),
            **{f"val_{k}": v for k, v in val_metrics.items()},
        }
        history.append(row)
        if row["val_loss"] < best["val_loss"]:
            best = {"val_loss": row["val_loss"], "epoch": epoch}
            if rank == 0:
                save_model(eval_model, ckpt_dir / "best_model.pt", config=config.to_dict(), epoch=epoch)
        if budget_s > 0 and not stopped_early and epoch < config.epochs:
            clock.fill_((elapsed_before + time.perf_counter() - start_time) / budget_s)
            if world > 1:
                torch.distributed.broadcast(clock, src=0)
            stopped_early = float(clock[0]) >= 1.0
        if rank == 0:
            state = {
                "epoch": epoch,
                "global_step": global_step,
                "finished": stopped_early,
                "model": model.state_dict(),
                "ema": None if ema is None else ema.state_dict(),
                "optimizer": optimizer.state_dict(),
                "history": history,
                "best": best,
                "config": config.to_dict(),
                "elapsed_s": row["time_s"],
            }
            _atomic_save(state, last_path)
            _write_csv(out / "metrics.csv", history)
            log.info(
                "epoch %d/%d  %.1fs  lr %.2e  loss %.3e  val: E %.2f meV/atom  F %.1f meV/Å (RMSE %.1f)",
                epoch,
                config.epochs,
                time.perf_counter() - epoch_start,
                row["lr"],
                row["train_loss"],
                1000 * val_metrics.get("energy_mae", float("nan")),
                1000 * val_metrics.get("forces_mae", float("nan")),
                1000 * val_metrics.get("forces_rmse", float("nan")),
            )
        if epoch_callback is not None:
            epoch_callback(epoch, row)
        if stopped_early:
            if rank == 0:
                log.info("time budget max_minutes=%g spent during epoch %d", config.max_minutes, epoch)
            break
    return _finish(
        config,
        history,
        best,
        test_set or val_set,
        "test" if test_set else "validation",
        device,
        dtype,
        out,
        ckpt_dir,
        rank,
        world,
        stopped_early,
    )


def _finish(
    config: TrainConfig,
    history: list[dict[str, float]],
    best: dict[str, float],
    final_set: AtomsDataset,
    final_name: str,
    device: torch.device,
    dtype: torch.dtype,
    out: Path,
    ckpt_dir: Path,
    rank: int,
    world: int,
    stopped_early: bool,
) -> dict[str, Any]:
    from e3torch.models._io import load_model

    if world > 1:
        torch.distributed.barrier()
    best_model = load_model(ckpt_dir / "best_model.pt").to(device=device, dtype=dtype)
    idx = list(range(rank, len(final_set), world))
    metrics, forces = evaluate_model(
        best_model,
        final_set.graphs,
        batch_size=8,
        device=device,
        dtype=dtype,
        indices=idx,
        collect_forces=rank == 0 and world == 1,
    )
    summary = {
        "best_epoch": best["epoch"],
        "epochs_run": len(history),
        "stopped_early": stopped_early,
        "train_time_s": history[-1]["time_s"] if history else 0.0,
        "final_set": final_name,
        **{f"{final_name}_{k}": v for k, v in metrics.items()},
    }
    if rank == 0:
        save_model(best_model, out / "model.pt", config=config.to_dict(), epoch=best["epoch"])
        (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        if config.plots and history:
            from e3torch.cli._plots import plot_force_parity, plot_learning_curves

            plot_learning_curves(history, out / "learning_curves.png")
            if forces is None:
                _, forces = evaluate_model(
                    best_model,
                    final_set.graphs,
                    batch_size=8,
                    device=device,
                    dtype=dtype,
                    collect_forces=True,
                    reduce=False,
                )
            if forces is not None:
                plot_force_parity(
                    forces[0], forces[1], out / "forces_parity.png", title=f"{final_name} forces"
                )
        log.info(
            "best epoch %d; %s set: E MAE %.2f meV/atom, F MAE %.1f meV/Å, F RMSE %.1f meV/Å; model: %s",
            best["epoch"],
            final_name,
            1000 * metrics.get("energy_mae", float("nan")),
            1000 * metrics.get("forces_mae", float("nan")),
            1000 * metrics.get("forces_rmse", float("nan")),
            out / "model.pt",
        )
    return summary
