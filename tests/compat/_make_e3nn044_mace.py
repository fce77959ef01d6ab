"""Write ``data/e3nn044/mace.pt``: a small MACE model pickled whole (``torch.save(model)``) under e3nn 0.4.4.

Run once, with e3nn 0.4.4 importable and mace-torch installed (see ``_make_e3nn044_pickles.py``)::

    TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 PYTHONPATH=/tmp/e3nn044 python tests/compat/_make_e3nn044_mace.py

The file holds ``{"model", "batch", "energy", "forces", "version", "mace"}`` in float64: a small seeded MACE
(:func:`build_model`), the fixed batch of two water clusters of ``_mace_case.py``, and the energies and forces that
e3nn 0.4.4 computed for it.

e3nn 0.4's Wigner 3j symbols differ from 0.6's only for triplets with odd ``l1 + l2 + l3``, which natural-parity
features (``0e + 1o + 2e``) never couple; so the hidden features here include ``2o``, and the second interaction's
convolution has the paths ``2o x 2e -> 1o`` and ``2o x 1o -> 2e`` of the other sign, with external (radial-MLP)
weights. The last product has correlation 2, so these non-scalar messages reach the energy (with e3nn 0.6's signs
the energies differ by about 4e-7 and the forces by 7e-6).
"""

from __future__ import annotations

import os
import sys

import torch


def build_model(seed: int = 0) -> torch.nn.Module:
    """Two interactions, 4 channels of ``0e + 2o``, ``max_ell=2``, correlation 2, a small radial MLP."""
    import numpy as np
    from e3nn import o3
    from mace import modules

    torch.manual_seed(seed)
    block = modules.interaction_classes["RealAgnosticResidualInteractionBlock"]
    return modules.MACE(
        r_max=4.0, num_bessel=4, num_polynomial_cutoff=5, max_ell=2, interaction_cls=block,
        interaction_cls_first=block, num_interactions=2, num_elements=2, hidden_irreps=o3.Irreps("4x0e + 4x2o"),
        MLP_irreps=o3.Irreps("4x0e"), gate=torch.nn.functional.silu, atomic_energies=np.array([-1.5, -4.0]),
        avg_num_neighbors=6.0, atomic_numbers=[1, 8], correlation=2, radial_MLP=[8, 8], radial_type="bessel",
    )  # fmt: skip


def main() -> None:
    import e3nn
    import mace

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from _mace_case import build_batch, evaluate

    assert e3nn.__version__.startswith("0.4"), f"run with e3nn 0.4.x, got {e3nn.__version__}"
    torch.set_default_dtype(torch.float64)
    model = build_model().double()
    model.eval()
    batch = build_batch(2)
    energy, forces = evaluate(model, batch)
    folder = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "e3nn044")
    path = os.path.join(folder, "mace.pt")
    data = {
        "model": model, "batch": batch, "energy": energy, "forces": forces, "version": e3nn.__version__,
        "mace": getattr(mace, "__version__", "?"),
    }  # fmt: skip
    torch.save(data, path)
    print(f"{path}: {os.path.getsize(path)} bytes, energy {energy.tolist()}")


if __name__ == "__main__":
    main()
