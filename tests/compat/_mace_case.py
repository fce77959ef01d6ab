"""A small MACE model and batch for the client tests; importable with the real e3nn or under e3torch's hook.

Run as a script, it builds the model (seeded), loads ``state.pt`` if given, and prints JSON with energies, forces,
a training step's loss and the median CPU time (one thread, so other processes do not count) of an energy+forces
evaluation::

    python _mace_case.py OUT_DIR [--load STATE | --load-pickle MODEL] [--save-pickle] [--scale-shift]
                         [--accelerate] [--repeat N] [--channels C] [--molecules M] [--threads T]

``--accelerate`` applies :func:`e3torch.integrations.mace.accelerate` (fused symmetric contractions) after loading.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import numpy as np
import torch


def build_model(scale_shift: bool, seed: int = 0, channels: int = 16, max_ell: int = 2) -> torch.nn.Module:
    """A two-interaction MACE (or ScaleShiftMACE) on H and O with correlation 3 (symmetric contraction)."""
    from e3nn import o3
    from mace import modules

    torch.manual_seed(seed)
    config: dict[str, Any] = dict(
        r_max=4.0,
        num_bessel=6,
        num_polynomial_cutoff=5,
        max_ell=max_ell,
        interaction_cls=modules.interaction_classes["RealAgnosticResidualInteractionBlock"],
        interaction_cls_first=modules.interaction_classes["RealAgnosticResidualInteractionBlock"],
        num_interactions=2,
        num_elements=2,
        hidden_irreps=o3.Irreps(f"{channels}x0e + {channels}x1o"),
        MLP_irreps=o3.Irreps("8x0e"),
        gate=torch.nn.functional.silu,
        atomic_energies=np.array([-1.5, -4.0]),
        avg_num_neighbors=6.0,
        atomic_numbers=[1, 8],
        correlation=3,
        radial_type="bessel",
    )
    if scale_shift:
        return modules.ScaleShiftMACE(atomic_inter_scale=1.3, atomic_inter_shift=0.2, **config)
    return modules.MACE(**config)


def build_batch(n_molecules: int = 2, seed: int = 0) -> dict[str, torch.Tensor]:
    """Water clusters (a few slightly perturbed H2O molecules each), as MACE's batch dict, float64."""
    import ase
    from mace import data, tools
    from mace.tools import torch_geometric

    rng = np.random.default_rng(seed)
    z_table = tools.AtomicNumberTable([1, 8])
    items = []
    for _ in range(n_molecules):
        positions, symbols = [], []
        for k in range(3):
            centre = np.array([2.6 * k, 0.3 * k, 0.0])
            positions += [centre, centre + [0.96, 0.0, 0.0], centre + [-0.24, 0.93, 0.0]]
            symbols += ["O", "H", "H"]
        atoms = ase.Atoms(symbols, positions=np.array(positions) + 0.05 * rng.standard_normal((9, 3)))
        config = data.config_from_atoms(atoms)
        items.append(data.AtomicData.from_config(config, z_table=z_table, cutoff=4.0))
    loader = torch_geometric.dataloader.DataLoader(items, batch_size=n_molecules, shuffle=False)
    return next(iter(loader)).to_dict()


def evaluate(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Energies and forces (forces by autograd, as MACE computes them)."""
    out = model(dict(batch), training=False, compute_force=True)
    return out["energy"].detach(), out["forces"].detach()


def train_step(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> float:
    """One Adam step on energies + forces against zeros; the loss before the step."""
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    out = model(dict(batch), training=True, compute_force=True)
    loss = out["energy"].pow(2).mean() + out["forces"].pow(2).mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return float(loss)


def main(argv: list[str]) -> None:
    out_dir = argv[0]
    scale_shift = "--scale-shift" in argv
    repeat = int(argv[argv.index("--repeat") + 1]) if "--repeat" in argv else 0
    torch.set_default_dtype(torch.float64)
    torch.set_num_threads(int(argv[argv.index("--threads") + 1]) if "--threads" in argv else 1)
    channels = int(argv[argv.index("--channels") + 1]) if "--channels" in argv else 16
    molecules = int(argv[argv.index("--molecules") + 1]) if "--molecules" in argv else 2
    if "--load-pickle" in argv:  # a whole model saved with torch.save(model)
        model = torch.load(argv[argv.index("--load-pickle") + 1], weights_only=False)
    else:
        model = build_model(scale_shift, channels=channels).double()
    if "--save-pickle" in argv:
        torch.save(model, f"{out_dir}/model.pt")
    if "--load" in argv:
        model.load_state_dict(torch.load(argv[argv.index("--load") + 1]), strict=True)
    elif "--load-pickle" not in argv:
        torch.save(model.state_dict(), f"{out_dir}/state.pt")
    if "--accelerate" in argv:
        from e3torch.integrations.mace import accelerate

        accelerate(model)
    batch = build_batch(molecules)
    energy, forces = evaluate(model, batch)
    times = []
    for _ in range(repeat):
        start = time.process_time()
        evaluate(model, batch)
        times.append(time.process_time() - start)
    import e3nn

    result = {
        "e3nn": e3nn.__name__,
        "energy": energy.tolist(),
        "forces": forces.tolist(),
        "n_params": sum(p.numel() for p in model.parameters()),
        "keys": list(model.state_dict()),
        "modules": sorted({type(m).__module__.split(".")[0] for m in model.modules()}),
        "time": float(np.median(times)) if times else None,
        "loss": train_step(model, batch),
    }
    energy2, _ = evaluate(model, batch)
    result["changed"] = bool((energy2 - energy).abs().max() > 0)
    print(json.dumps(result))


if __name__ == "__main__":
    sys.path.insert(0, __file__.rsplit("/", 1)[0])
    main(sys.argv[1:])
