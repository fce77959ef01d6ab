"""Write the e3nn 0.4.4 whole-model pickles of ``data/e3nn044/`` (run once, with e3nn 0.4.4 importable)::

    pip install --no-deps --target /tmp/e3nn044 e3nn==0.4.4
    TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 PYTHONPATH=/tmp/e3nn044 python tests/compat/_make_e3nn044_pickles.py [NAME ...]

(only the named cases when names are given). Each file holds ``{"model", "xs", "ys", "version"}`` in float64;
``*_flip*`` cases use Wigner 3j symbols whose sign differs between e3nn 0.4 and 0.6 (``(1, 2, 2)``, ``(2, 1, 2)``,
``(2, 2, 1)``): ``fctp_flip`` on paths with internal weights, ``tp_external_flip`` with external weights and
``etp_flip`` without weights. ``rtp`` is a ``ReducedTensorProducts`` with 0.4.4's change of basis. The MACE model
is written by ``_make_e3nn044_mace.py``, the sign table by ``_make_e3nn044_signs.py``.
"""

from __future__ import annotations

import os
import sys

import torch

CASES = {
    "linear": ("o3.Linear('2x0e+1x1o', '3x0e+2x1o', biases=True)", ["2x0e+1x1o"]),
    "tp": (
        "o3.TensorProduct('1x0e+1x1o', '1x1o', '1x1o+1x0e', [(0,0,0,'uvw',True), (1,0,1,'uvu',True)])",
        ["1x0e+1x1o", "1x1o"],
    ),
    "fctp": (
        "o3.FullyConnectedTensorProduct('2x0e+1x1o', '1x0e+1x1o', '2x0e+1x1e')",
        ["2x0e+1x1o", "1x0e+1x1o"],
    ),
    "fctp_flip": ("o3.FullyConnectedTensorProduct('1x1e+1x2e', '1x1e+1x2e', '1x1e+1x2e')", ["1x1e+1x2e"] * 2),
    "tp_external_flip": (
        "o3.FullyConnectedTensorProduct('1x1e+1x2e', '1x2e', '1x2e', shared_weights=False)",
        ["1x1e+1x2e", "1x2e"],
    ),
    "etp_flip": ("o3.ElementwiseTensorProduct('1x1e', '1x2e', ['2e'])", ["1x1e", "1x2e"]),
    "sh": ("o3.SphericalHarmonics([0, 1, 2], True)", ["1x1o"]),
    "gate": ("nn.Gate('2x0e', [torch.tanh], '1x0e', [torch.sigmoid], '1x1o')", ["2x0e+1x0e+1x1o"]),
    "norm": ("o3.Norm('2x1o')", ["2x1o"]),
    "act": ("nn.Activation('2x0e+1x0o', [torch.tanh, torch.tanh])", ["2x0e+1x0o"]),
    "extract": ("nn.Extract('1x0e+1x1o', ['1x0e'], [(0,)])", ["1x0e+1x1o"]),
    "bn": ("nn.BatchNorm('2x0e+1x1o').eval()", ["2x0e+1x1o"]),
    "rtp": ("o3.ReducedTensorProducts('ijk=-jik', i='1o', k='2e')", ["1o", "1o", "2e"]),
}


def main(names: list[str]) -> None:
    import e3nn
    from e3nn import nn, o3  # noqa: F401 - used by the expressions

    assert e3nn.__version__.startswith("0.4"), f"run with e3nn 0.4.x, got {e3nn.__version__}"
    torch.set_default_dtype(torch.float64)
    folder = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "e3nn044")
    os.makedirs(folder, exist_ok=True)
    for name, (expression, irreps) in CASES.items():
        if names and name not in names:
            continue
        torch.manual_seed(0)
        model = eval(expression)
        xs = [o3.Irreps(i).randn(3, -1) for i in irreps]
        if name == "tp_external_flip":
            xs.append(torch.randn(3, model.weight_numel))
        with torch.no_grad():
            y = model(*xs)
        ys = list(y) if isinstance(y, (tuple, list)) else [y]
        torch.save(
            {"model": model, "xs": xs, "ys": ys, "version": e3nn.__version__},
            os.path.join(folder, f"{name}.pt"),
        )


if __name__ == "__main__":
    main(sys.argv[1:])
