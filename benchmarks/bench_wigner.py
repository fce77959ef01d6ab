"""Wigner matrices: ``wigner_D`` over many angles (forward; forward + backward) and cached ``wigner_3j``."""

from __future__ import annotations

import e3nn.o3
import torch

import e3torch.o3
from benchmarks.harness import Case, Workload


def _angles(n: int, requires_grad: bool = False) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    return e3torch.o3.rand_angles(n, requires_grad=requires_grad)


def _wigner_D(l: int, n: int) -> Workload:
    a, b, c = _angles(n)
    e3torch.o3.wigner_D(l, a, b, c)  # build the cached constants outside the timing
    d = 2 * l + 1
    # the fast path: one (n, 2l+1) x (2l+1, d^2) product and ~8 element-wise ops on (n, d, d)
    flops = 2 * n * (2 * l + 1) * d * d + 8 * n * d * d
    return Workload(
        e3torch=lambda: e3torch.o3.wigner_D(l, a, b, c),
        e3nn=lambda: e3nn.o3.wigner_D(l, a, b, c),
        flops=flops,
        bytes=4 * n * d * d,
    )


def _wigner_D_backward(l: int, n: int) -> Workload:
    angles = _angles(n, requires_grad=True)

    def run(module: object) -> None:
        module.wigner_D(l, *angles).square().sum().backward()

    return Workload(e3torch=lambda: run(e3torch.o3), e3nn=lambda: run(e3nn.o3))


def _wigner_3j(calls: int) -> Workload:
    e3torch.o3.wigner_3j(2, 3, 4)
    e3nn.o3.wigner_3j(2, 3, 4)

    def run(module: object) -> None:
        for _ in range(calls):
            module.wigner_3j(2, 3, 4)

    return Workload(e3torch=lambda: run(e3torch.o3), e3nn=lambda: run(e3nn.o3))


CASES = [
    Case("wigner_D l=4, 10k angles", lambda: _wigner_D(4, 10_000)),
    Case("wigner_D l=8, 1k angles", lambda: _wigner_D(8, 1_000)),
    Case("wigner_D l=2, 100 angles", lambda: _wigner_D(2, 100), repeat=100),
    Case("wigner_D l=4, 10k angles, forward + backward", lambda: _wigner_D_backward(4, 10_000)),
    Case("wigner_3j(2, 3, 4) cached, 100 calls", lambda: _wigner_3j(100), repeat=50),
]
