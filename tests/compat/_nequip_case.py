"""A small nequip model (nequip's own model builder) and batch, for the client tests.

Run as a script, it builds the model (seeded, float64), loads ``state.pt`` if given, evaluates energies and forces,
takes one training step and prints JSON::

    python _nequip_case.py OUT_DIR [--load STATE] [--repeat N]
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import numpy as np
import torch


def build_model(seed: int = 0) -> torch.nn.Module:
    """``NequIPGNNModel`` with two layers, l_max 2, on H and O, float64."""
    from nequip.model import NequIPGNNModel
    from nequip.utils.global_state import set_global_state

    set_global_state()
    return NequIPGNNModel(
        seed=seed, model_dtype="float64", type_names=["H", "O"], r_max=4.0, num_layers=2, l_max=2,
        num_features=8, radial_mlp_depth=1, radial_mlp_width=16, avg_num_neighbors=5.0,
        per_type_energy_shifts={"H": -1.5, "O": -4.0}, per_type_energy_scales={"H": 1.1, "O": 1.2},
    )


def build_batch(n_frames: int = 2, seed: int = 0) -> dict[str, Any]:
    """Batched water clusters with neighbor lists, as nequip's AtomicDataDict."""
    import ase
    from nequip.data import AtomicDataDict, compute_neighborlist_, from_ase
    from nequip.data.transforms import ChemicalSpeciesToAtomTypeMapper

    rng = np.random.default_rng(seed)
    mapper = ChemicalSpeciesToAtomTypeMapper(model_type_names=["H", "O"], chemical_species_to_atom_type_map=None)
    frames = []
    for _ in range(n_frames):
        positions, symbols = [], []
        for k in range(3):
            centre = np.array([2.6 * k, 0.3 * k, 0.0])
            positions += [centre, centre + [0.96, 0.0, 0.0], centre + [-0.24, 0.93, 0.0]]
            symbols += ["O", "H", "H"]
        atoms = ase.Atoms(symbols, positions=np.array(positions) + 0.05 * rng.standard_normal((9, 3)))
        frame = mapper(from_ase(atoms))
        frames.append(compute_neighborlist_(frame, r_max=4.0))
    batch = AtomicDataDict.batched_from_list(frames)
    return {k: (v.double() if torch.is_tensor(v) and v.is_floating_point() else v) for k, v in batch.items()}


def evaluate(model: torch.nn.Module, batch: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
    out = model(dict(batch))
    return out["total_energy"].detach(), out["forces"].detach()


def train_step(model: torch.nn.Module, batch: dict[str, Any]) -> float:
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    out = model(dict(batch))
    loss = out["total_energy"].pow(2).mean() + out["forces"].pow(2).mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return float(loss.detach())


def main(argv: list[str]) -> None:
    out_dir = argv[0]
    repeat = int(argv[argv.index("--repeat") + 1]) if "--repeat" in argv else 0
    torch.set_num_threads(1)
    model = build_model()
    if "--load" in argv:
        model.load_state_dict(torch.load(argv[argv.index("--load") + 1], weights_only=True), strict=True)
    else:
        torch.save(model.state_dict(), f"{out_dir}/nequip_state.pt")
    batch = build_batch()
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
        "keys": list(model.state_dict()),
        "time": float(np.median(times)) if times else None,
        "loss": train_step(model, batch),
    }
    result["changed"] = bool((evaluate(model, batch)[0] - energy).abs().max() > 0)
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
