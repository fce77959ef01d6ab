"""Write ``data/e3nn044/wigner_3j_signs.json``: the signs of e3nn 0.4.4's Wigner 3j symbols relative to e3torch's.

Run once, with e3nn 0.4.4 importable (see ``_make_e3nn044_pickles.py``)::

    TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 PYTHONPATH=/tmp/e3nn044 python tests/compat/_make_e3nn044_signs.py [LMAX]

For every ordered triplet ``(l1, l2, l3)`` with ``l <= LMAX`` (default 6) that satisfies the triangle condition it
records ``s`` with ``e3nn_0.4.4.wigner_3j(l1, l2, l3) = s * e3torch.o3.wigner_3j(l1, l2, l3)`` (checked to 1e-12, so
``s`` is a sign and not just a correlation), and the largest deviation. ``tests/o3/test_wigner_3j_convention.py``
tests e3torch's ``wigner_3j_sign`` against this table, since e3nn 0.4.4 is not installed in CI.
"""

from __future__ import annotations

import json
import os
import sys

import torch


def main(lmax: int) -> None:
    import e3nn
    from e3nn import o3

    import e3torch.o3

    assert e3nn.__version__.startswith("0.4"), f"run with e3nn 0.4.x, got {e3nn.__version__}"
    signs, worst = {}, 0.0
    for l1 in range(lmax + 1):
        for l2 in range(lmax + 1):
            for l3 in range(abs(l1 - l2), min(l1 + l2, lmax) + 1):
                theirs = o3.wigner_3j(l1, l2, l3, dtype=torch.float64)
                ours = e3torch.o3.wigner_3j(l1, l2, l3, dtype=torch.float64)
                s = 1 if float((theirs * ours).sum()) > 0 else -1
                err = float((theirs - s * ours).abs().max())
                if err > 1e-12:
                    raise RuntimeError(
                        f"({l1}, {l2}, {l3}): e3nn 0.4.4 differs by more than a sign ({err:.3g})"
                    )
                worst = max(worst, err)
                signs[f"{l1},{l2},{l3}"] = s
    folder = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "e3nn044")
    table = {"e3nn": e3nn.__version__, "lmax": lmax, "max_abs_deviation": worst, "signs": signs}
    with open(os.path.join(folder, "wigner_3j_signs.json"), "w") as f:
        json.dump(table, f, indent=0, sort_keys=False)
        f.write("\n")
    flipped = sum(1 for s in signs.values() if s < 0)
    print(f"{len(signs)} triplets (l <= {lmax}), {flipped} flipped, max deviation {worst:.3g}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 6)
