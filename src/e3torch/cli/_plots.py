"""PNG plots of a training run: learning curves and predicted-vs-reference forces (matplotlib, Agg)."""

from __future__ import annotations

import os
from collections.abc import Sequence

import torch

__all__ = ["plot_learning_curves", "plot_force_parity"]


def _pyplot():  # noqa: ANN202 - matplotlib's module type
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def plot_learning_curves(history: Sequence[dict[str, float]], path: str | os.PathLike[str]) -> None:
    """Loss and force/energy MAE per epoch (train and validation), log scale.

    Parameters
    ----------
    history : sequence of dict
        One row per epoch with keys like ``epoch``, ``train_loss``, ``val_loss``, ``val_forces_mae``.
    path : path-like
        Output PNG.

    Examples
    --------
    >>> import tempfile, os
    >>> rows = [{"epoch": e, "train_loss": 1.0 / e, "val_loss": 1.2 / e, "train_forces_mae": 0.5 / e,
    ...          "val_forces_mae": 0.6 / e} for e in (1, 2)]
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     plot_learning_curves(rows, f"{tmp}/curves.png")
    ...     os.path.getsize(f"{tmp}/curves.png") > 1000
    True
    """
    plt = _pyplot()
    epochs = [row["epoch"] for row in history]
    panels = [
        ("loss", ["train_loss", "val_loss"], "loss"),
        ("force MAE (meV/Å)", ["train_forces_mae", "val_forces_mae"], "forces"),
        ("energy MAE (meV/atom)", ["train_energy_mae", "val_energy_mae"], "energy"),
    ]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.4))
    for ax, (title, keys, kind) in zip(axes, panels):
        for key in keys:
            values = [row.get(key) for row in history]
            if all(v is None or v != v for v in values):
                continue
            factor = 1.0 if kind == "loss" else 1000.0
            ax.plot(
                epochs,
                [factor * v if v is not None else float("nan") for v in values],
                marker="o",
                ms=3,
                label=key.split("_")[0],
            )
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        if ax.lines:
            ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_force_parity(
    predicted: torch.Tensor, reference: torch.Tensor, path: str | os.PathLike[str], *, title: str = "forces"
) -> None:
    """Scatter of predicted against reference force components, with the MAE in the title.

    Examples
    --------
    >>> import tempfile, os
    >>> ref = torch.linspace(-1, 1, 50)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     plot_force_parity(ref + 0.01, ref, f"{tmp}/parity.png")
    ...     os.path.getsize(f"{tmp}/parity.png") > 1000
    True
    """
    plt = _pyplot()
    p = predicted.detach().cpu().double().reshape(-1)
    r = reference.detach().cpu().double().reshape(-1)
    mae = float((p - r).abs().mean()) * 1000.0
    lo, hi = float(torch.min(r.min(), p.min())), float(torch.max(r.max(), p.max()))
    fig, ax = plt.subplots(figsize=(4.6, 4.4))
    ax.plot([lo, hi], [lo, hi], color="black", lw=0.8)
    ax.scatter(r.numpy(), p.numpy(), s=2, alpha=0.4)
    ax.set_xlabel("reference force component (eV/Å)")
    ax.set_ylabel("predicted force component (eV/Å)")
    ax.set_title(f"{title}: MAE {mae:.1f} meV/Å ({r.numel()} components)")
    ax.set_aspect("equal")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
