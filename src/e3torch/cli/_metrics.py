"""Error metrics of a potential on labelled graphs (MAE and RMSE of energy per atom, forces, stress)."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from e3torch.data._dataset import batches
from e3torch.data._graph import AtomicGraph, GraphBatch
from e3torch.models._potential import AtomisticPotential

__all__ = ["ErrorSums", "evaluate_model", "batch_loss", "format_metrics"]

_QUANTITIES = ("energy", "forces", "stress")


class ErrorSums:
    """Running sums of absolute and squared errors, kept in one float64 vector so ranks can all-reduce it.

    Layout: for each of energy (per atom), forces (components), stress (components): ``[sum|e|, sum e^2, n]``.

    Examples
    --------
    >>> acc = ErrorSums()
    >>> acc.add("forces", torch.tensor([0.1, -0.3]))
    >>> {k: round(v, 3) for k, v in acc.summary().items()}
    {'forces_mae': 0.2, 'forces_rmse': 0.224}
    """

    def __init__(self) -> None:
        self.sums = torch.zeros(3 * len(_QUANTITIES), dtype=torch.float64)

    def add(self, quantity: str, error: torch.Tensor) -> None:
        """Accumulate the errors ``prediction - reference`` of one quantity."""
        k = 3 * _QUANTITIES.index(quantity)
        e = error.detach().to(device="cpu", dtype=torch.float64).reshape(-1)
        self.sums[k] += e.abs().sum()
        self.sums[k + 1] += e.pow(2).sum()
        self.sums[k + 2] += e.numel()

    def all_reduce(self) -> None:
        """Sum over the processes of the default distributed group (no-op when not distributed)."""
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            backend = torch.distributed.get_backend()
            device = (
                torch.device("cuda", torch.cuda.current_device())
                if backend == "nccl"
                else torch.device("cpu")
            )
            buf = self.sums.to(device)
            torch.distributed.all_reduce(buf)
            self.sums = buf.cpu()

    def summary(self) -> dict[str, float]:
        """``{quantity_mae, quantity_rmse}`` for the quantities that received errors."""
        out: dict[str, float] = {}
        for i, name in enumerate(_QUANTITIES):
            s_abs, s_sq, n = (float(v) for v in self.sums[3 * i : 3 * i + 3])
            if n > 0:
                out[f"{name}_mae"] = s_abs / n
                out[f"{name}_rmse"] = (s_sq / n) ** 0.5
        return out


def batch_loss(
    pred: dict[str, torch.Tensor],
    batch: GraphBatch,
    *,
    energy_weight: float,
    force_weight: float,
    stress_weight: float,
    sums: ErrorSums | None = None,
) -> torch.Tensor:
    """Weighted mean squared errors: energy per atom (eV/atom), force components (eV/Å), stress (eV/Å^3).

    Errors are accumulated into ``sums`` when given.
    """
    loss = torch.zeros((), dtype=pred["energy"].dtype, device=pred["energy"].device)
    if batch.energy is not None:
        err = (pred["energy"] - batch.energy) / batch.num_atoms.to(pred["energy"].dtype)
        loss = loss + energy_weight * err.pow(2).mean()
        if sums is not None:
            sums.add("energy", err)
    if batch.forces is not None and "forces" in pred:
        err = pred["forces"] - batch.forces
        loss = loss + force_weight * err.pow(2).mean()
        if sums is not None:
            sums.add("forces", err)
    if batch.stress is not None and batch.stress_mask is not None and "stress" in pred:
        err = (pred["stress"] - batch.stress)[batch.stress_mask]
        if err.numel() > 0:
            loss = loss + stress_weight * err.pow(2).mean()
            if sums is not None:
                sums.add("stress", err)
    return loss


def evaluate_model(
    model: AtomisticPotential,
    graphs: Sequence[AtomicGraph],
    *,
    batch_size: int = 8,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
    compute_stress: bool = True,
    indices: Sequence[int] | None = None,
    collect_forces: bool = False,
    reduce: bool = True,
) -> tuple[dict[str, float], tuple[torch.Tensor, torch.Tensor] | None]:
    """MAE / RMSE of a model on labelled graphs.

    Parameters
    ----------
    model : AtomisticPotential
    graphs : sequence of AtomicGraph
    batch_size : int
    device, dtype
        Where and in which precision to evaluate (the graphs are moved and cast).
    compute_stress : bool
        Also predict stress (for periodic graphs with a stress label).
    indices : sequence of int, optional
        Evaluate only these graphs (one process's shard).
    collect_forces : bool
        Also return ``(predicted, reference)`` force components (for parity plots).
    reduce : bool
        All-reduce the sums over distributed processes.

    Returns
    -------
    metrics : dict
        ``energy_mae`` (eV/atom), ``forces_mae`` (eV/Å), ``stress_mae`` (eV/Å^3), and the ``_rmse`` of each.
    forces : (predicted, reference) or None
    """
    sums = ErrorSums()
    pairs: list[tuple[torch.Tensor, torch.Tensor]] = []
    was_training = model.training
    model.eval()
    try:
        for batch in batches(graphs, batch_size, indices=indices):
            batch = batch.to(device=device, dtype=dtype)
            pred = model(batch, compute_forces=True, compute_stress=compute_stress, create_graph=False)
            batch_loss(pred, batch, energy_weight=1.0, force_weight=1.0, stress_weight=1.0, sums=sums)
            if collect_forces and batch.forces is not None:
                pairs.append((pred["forces"].detach().cpu().reshape(-1), batch.forces.cpu().reshape(-1)))
    finally:
        model.train(was_training)
    if reduce:
        sums.all_reduce()
    forces = (torch.cat([p for p, _ in pairs]), torch.cat([r for _, r in pairs])) if pairs else None
    return sums.summary(), forces


_UNITS = {"energy": ("meV/atom", 1000.0), "forces": ("meV/Å", 1000.0), "stress": ("meV/Å^3", 1000.0)}


def format_metrics(metrics: dict[str, float], title: str = "") -> str:
    """A small table of MAE / RMSE in meV units.

    Examples
    --------
    >>> print(format_metrics({"forces_mae": 0.0251, "forces_rmse": 0.0342}, "test"))
    test      MAE       RMSE
    forces    25.10     34.20     meV/Å
    """
    lines = [f"{title:<10}{'MAE':<10}{'RMSE'}"]
    for name, (unit, factor) in _UNITS.items():
        if f"{name}_mae" in metrics:
            mae, rmse = factor * metrics[f"{name}_mae"], factor * metrics[f"{name}_rmse"]
            lines.append(f"{name:<10}{mae:<10.2f}{rmse:<10.2f}{unit}")
    return "\n".join(lines)
