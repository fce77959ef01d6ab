"""Layers: ``o3.Linear`` (with its GFLOP/s), ``nn.Gate`` and ``nn.BatchNorm``, forward and forward+backward.

Case names start with ``layers/`` (``python -m benchmarks.run -k layers``). "fwd" runs under
``torch.no_grad()`` (inference); "fwd+bwd" differentiates the sum of the output with respect to the input
and the parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from benchmarks.harness import Case, Workload

__all__ = ["CASES"]


def _fwd_bwd(module: torch.nn.Module, x: torch.Tensor) -> Callable[[], Any]:
    def run() -> None:
        x.grad = None
        module.zero_grad(set_to_none=True)
        module(x).sum().backward()

    return run


def _fwd(module: torch.nn.Module, x: torch.Tensor) -> Callable[[], Any]:
    def run() -> torch.Tensor:
        with torch.no_grad():
            return module(x)

    return run


def _linear(
    backward: bool, irreps: str = "128x0e + 128x1o + 128x2e", n: int = 2048, calls: int = 1
) -> Callable[[], Workload]:
    """``calls`` back-to-back calls per timed run: at small sizes one call is a few microseconds, about what
    the caches lose to the harness's ``gc.collect()`` before each run (and e3nn's TorchScript then recompiles)."""

    def many(fn: Callable[[], Any]) -> Callable[[], Any]:
        def run() -> None:
            for _ in range(calls):
                fn()

        return fn if calls == 1 else run

    def setup() -> Workload:
        import e3nn.o3

        import e3torch.o3

        ours, theirs = e3torch.o3.Linear(irreps, irreps), e3nn.o3.Linear(irreps, irreps)
        ours.load_state_dict(theirs.state_dict())
        x = torch.randn(n, ours.irreps_in.dim, requires_grad=backward)
        flops = 2.0 * n * sum(mul * mul * ir.dim for mul, ir in ours.irreps_in)  # one mul x mul block per l
        nbytes = 4.0 * (2 * x.numel() + ours.weight.numel())
        flops, nbytes = calls * flops, calls * nbytes
        if backward:  # grad_input and grad_weight: two more products of the same size
            return Workload(many(_fwd_bwd(ours, x)), many(_fwd_bwd(theirs, x)), 3 * flops, 3 * nbytes)
        return Workload(many(_fwd(ours, x)), many(_fwd(theirs, x)), flops, nbytes)

    return setup


def _fwd_bwd_bwd(module: torch.nn.Module, x: torch.Tensor) -> Callable[[], Any]:
    def run() -> None:  # as in force training: the gradient's own gradient
        x.grad = None
        (g,) = torch.autograd.grad(module(x).pow(2).sum(), x, create_graph=True)
        g.pow(2).sum().backward()

    return run


def _gate(backward: bool, double: bool = False) -> Callable[[], Workload]:
    def setup() -> Workload:
        import e3nn.nn

        import e3torch.nn

        args = ("64x0e", [torch.nn.functional.silu], "32x0e", [torch.sigmoid], "16x1o + 16x2e")
        ours, theirs = e3torch.nn.Gate(*args), e3nn.nn.Gate(*args)
        x = torch.randn(8192, ours.irreps_in.dim, requires_grad=backward)
        nbytes = 4.0 * (x.numel() + 8192 * ours.irreps_out.dim)
        if double:
            return Workload(_fwd_bwd_bwd(ours, x), _fwd_bwd_bwd(theirs, x), bytes=4 * nbytes)
        if backward:
            return Workload(_fwd_bwd(ours, x), _fwd_bwd(theirs, x), bytes=2 * nbytes)
        return Workload(_fwd(ours, x), _fwd(theirs, x), bytes=nbytes)

    return setup


def _batchnorm(backward: bool, training: bool = True) -> Callable[[], Workload]:
    def setup() -> Workload:
        import e3nn.nn

        import e3torch.nn

        irreps = "64x0e + 32x1o + 16x2e"
        ours, theirs = e3torch.nn.BatchNorm(irreps), e3nn.nn.BatchNorm(irreps)
        ours.train(training)
        theirs.train(training)
        x = torch.randn(8192, ours.irreps.dim, requires_grad=backward)
        nbytes = 4.0 * x.numel() * 2  # read the input, write the output
        if backward:
            return Workload(_fwd_bwd(ours, x), _fwd_bwd(theirs, x), bytes=2 * nbytes)
        return Workload(_fwd(ours, x), _fwd(theirs, x), bytes=nbytes)

    return setup


CASES = [
    Case("layers/linear 128x(0e+1o+2e) N=2048 fwd", _linear(False)),
    Case("layers/linear 128x(0e+1o+2e) N=2048 fwd+bwd", _linear(True)),
    # small sizes, as MACE calls them (per-call overhead dominates); 50 calls per timed run
    Case("layers/linear 16x(0e+1o) N=64 fwd x50", _linear(False, "16x0e + 16x1o", 64, 50), warmup=5),
    Case("layers/linear 16x(0e+1o) N=64 fwd+bwd x50", _linear(True, "16x0e + 16x1o", 64, 50), warmup=5),
    Case("layers/gate 64x0e|32x0e|16x(1o+2e) N=8192 fwd", _gate(False)),
    Case("layers/gate 64x0e|32x0e|16x(1o+2e) N=8192 fwd+bwd", _gate(True)),
    Case("layers/gate 64x0e|32x0e|16x(1o+2e) N=8192 fwd+bwd+double bwd", _gate(True, double=True)),
    Case("layers/batchnorm 64x0e+32x1o+16x2e N=8192 train fwd", _batchnorm(False)),
    Case("layers/batchnorm 64x0e+32x1o+16x2e N=8192 train fwd+bwd", _batchnorm(True)),
    Case("layers/batchnorm 64x0e+32x1o+16x2e N=8192 eval fwd", _batchnorm(False, training=False)),
]
