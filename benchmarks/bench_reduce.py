"""``o3.ReducedTensorProducts``: forward, and forward+backward with respect to the inputs.

Case names start with ``reduce/`` (``python -m benchmarks.run -k reduce``). e3torch contracts the change of basis
with the inputs; e3nn evaluates its tree of tensor products. The work counted is the dense contraction.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from benchmarks.harness import Case, Workload

__all__ = ["CASES"]


def _rtp(formula: str, n: int, backward: bool, **irreps: str) -> Callable[[], Workload]:
    def setup() -> Workload:
        import e3nn.o3

        import e3torch.o3

        ours = e3torch.o3.ReducedTensorProducts(formula, **irreps)
        theirs = e3nn.o3.ReducedTensorProducts(formula, **irreps)
        ours.load_state_dict(theirs.state_dict())
        xs = [torch.randn(n, ir.dim, requires_grad=backward) for ir in ours.irreps_in]
        flops = 2.0 * n * ours.change_of_basis.numel()  # the first (largest) step of the contraction

        def run(module: torch.nn.Module) -> Callable[[], Any]:
            if backward:

                def step() -> None:
                    for x in xs:
                        x.grad = None
                    module(*xs).sum().backward()

                return step

            def step_no_grad() -> torch.Tensor:
                with torch.no_grad():
                    return module(*xs)

            return step_no_grad

        nbytes = 4.0 * n * (sum(x.shape[-1] for x in xs) + ours.irreps_out.dim)
        return Workload(run(ours), run(theirs), flops * (3 if backward else 1), nbytes * (2 if backward else 1))

    return setup


def _cases() -> list[Case]:
    out = []
    for label, formula, irreps in [
        ("ij=ji 1o", "ij=ji", {"i": "1o"}),
        ("ijk=jik (0e+1o)x(1e+2x0e)", "ijk=jik", {"i": "0e+1o", "k": "1e+2x0e"}),
        ("ijkl=jikl=klij 1o", "ijkl=jikl=klij", {"i": "1o"}),
    ]:
        for n, repeat in [(64, 200), (8192, 20)]:
            for backward in (False, True):
                mode = "fwd+bwd" if backward else "fwd"
                warm = max(3, int(math.sqrt(repeat)))
                out.append(Case(f"reduce/{label} N={n} {mode}", _rtp(formula, n, backward, **irreps), repeat, warm))
    return out


CASES = _cases()
