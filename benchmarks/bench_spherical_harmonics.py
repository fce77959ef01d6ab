"""Spherical harmonics of a batch of vectors (normalize=True, integral normalization), e3torch vs e3nn."""

from __future__ import annotations

from collections.abc import Callable

import e3nn.o3
import torch

from benchmarks.harness import Case, Workload
from e3torch import o3


def _setup(lmax: int, n: int, backward: bool) -> Callable[[], Workload]:
    def setup() -> Workload:
        g = torch.Generator().manual_seed(0)
        x = torch.randn(n, 3, generator=g)
        ls = list(range(lmax + 1))
        ours = o3.SphericalHarmonics(ls, normalize=True)
        theirs = e3nn.o3.SphericalHarmonics(ls, normalize=True)
        out_bytes = 4.0 * n * (lmax + 1) ** 2
        if not backward:
            return Workload(e3torch=lambda: ours(x), e3nn=lambda: theirs(x), bytes=out_bytes + 12.0 * n)
        xg = x.clone().requires_grad_()
        grad = torch.randn(n, (lmax + 1) ** 2, generator=g)

        def run(module: torch.nn.Module) -> Callable[[], torch.Tensor]:
            return lambda: torch.autograd.grad(module(xg), xg, grad)[0]

        return Workload(e3torch=run(ours), e3nn=run(theirs), bytes=3 * out_bytes + 24.0 * n)

    return setup


CASES = [
    Case("sh lmax=3 N=100k fwd", _setup(3, 100_000, False)),
    Case("sh lmax=3 N=100k fwd+bwd", _setup(3, 100_000, True)),
    Case("sh lmax=8 N=20k fwd", _setup(8, 20_000, False)),
    Case("sh lmax=8 N=20k fwd+bwd", _setup(8, 20_000, True), repeat=10),
]
