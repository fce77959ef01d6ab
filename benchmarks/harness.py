"""Side-by-side timing of e3torch against e3nn in one process.

A benchmark module ``benchmarks/bench_<topic>.py`` defines ``CASES``, a list of :class:`Case`. Each case's
``setup()`` builds both workloads once and returns a :class:`Workload`: two zero-argument callables (the same
computation in e3torch and in e3nn) and, optionally, the work they do (``flops``, ``bytes``) so the report can
give achieved GFLOP/s and GB/s next to the machine's limits.

The two callables are timed *interleaved* (e3nn, e3torch, e3nn, e3torch, ...) so that the noise of a shared
machine hits both alike, and the report gives medians and the ratio ``e3nn / e3torch`` (higher is better).
Peak memory is measured separately with the allocator's counters where available (CPU: resident-set growth is
unreliable, so we record the bytes allocated through torch's profiler).
"""

from __future__ import annotations

import dataclasses
import gc
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch

__all__ = ["Case", "Workload", "Result", "time_interleaved", "run_case", "format_table", "matmul_peak_gflops"]


@dataclasses.dataclass(frozen=True)
class Workload:
    """The same computation in both libraries, ready to run."""

    e3torch: Callable[[], Any]
    e3nn: Callable[[], Any]
    flops: float | None = None
    bytes: float | None = None


@dataclasses.dataclass(frozen=True)
class Case:
    """A named benchmark: ``setup()`` returns the :class:`Workload` (built once, outside the timing)."""

    name: str
    setup: Callable[[], Workload]
    repeat: int = 20
    warmup: int = 3


@dataclasses.dataclass(frozen=True)
class Result:
    name: str
    e3nn_ms: float
    e3torch_ms: float
    gflops: float | None
    gbytes_per_s: float | None
    e3nn_peak_mb: float | None = None
    e3torch_peak_mb: float | None = None

    @property
    def ratio(self) -> float:
        return self.e3nn_ms / self.e3torch_ms


def time_interleaved(fns: list[Callable[[], Any]], repeat: int, warmup: int) -> list[list[float]]:
    """Run each callable ``warmup`` times, then ``repeat`` rounds of one call each; seconds per call."""
    for _ in range(warmup):
        for fn in fns:
            fn()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            gc.collect()
            t0 = time.perf_counter()
            fn()
            times[i].append(time.perf_counter() - t0)
    return times


def _peak_memory_mb(fn: Callable[[], Any]) -> float | None:
    """Peak bytes held by torch's CPU allocator during one call, via the profiler's memory events."""
    try:
        from torch.profiler import ProfilerActivity, profile
    except ImportError:  # pragma: no cover
        return None
    gc.collect()
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    current = 0
    peak = 0
    for event in prof.events():
        current += event.cpu_memory_usage
        peak = max(peak, current)
    return peak / 2**20


def run_case(case: Case, *, memory: bool = False) -> Result:
    """Build the workload, time both sides interleaved, return medians (ms) and achieved rates."""
    work = case.setup()
    t_e3nn, t_ours = time_interleaved([work.e3nn, work.e3torch], case.repeat, case.warmup)
    m_e3nn = statistics.median(t_e3nn)
    m_ours = statistics.median(t_ours)
    gflops = work.flops / m_ours / 1e9 if work.flops else None
    gbs = work.bytes / m_ours / 1e9 if work.bytes else None
    peak_e3nn = _peak_memory_mb(work.e3nn) if memory else None
    peak_ours = _peak_memory_mb(work.e3torch) if memory else None
    return Result(case.name, 1e3 * m_e3nn, 1e3 * m_ours, gflops, gbs, peak_e3nn, peak_ours)


def matmul_peak_gflops(n: int = 2048, dtype: torch.dtype = torch.float32, repeat: int = 5) -> float:
    """This machine's measured matmul rate (GFLOP/s) for an ``n x n`` product, with the current threads."""
    a = torch.randn(n, n, dtype=dtype)
    b = torch.randn(n, n, dtype=dtype)
    out = torch.empty(n, n, dtype=dtype)
    torch.mm(a, b, out=out)
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        torch.mm(a, b, out=out)
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best / 1e9


def _fmt(x: float | None, spec: str) -> str:
    return "" if x is None else format(x, spec)


def format_table(results: list[Result], *, markdown: bool = False) -> str:
    """A table of results, plain text or Markdown."""
    header = ["case", "e3nn ms", "e3torch ms", "ratio", "GFLOP/s", "GB/s", "e3nn MB", "e3torch MB"]
    rows = [
        [
            r.name,
            f"{r.e3nn_ms:.3f}",
            f"{r.e3torch_ms:.3f}",
            f"{r.ratio:.2f}x",
            _fmt(r.gflops, ".1f"),
            _fmt(r.gbytes_per_s, ".1f"),
            _fmt(r.e3nn_peak_mb, ".1f"),
            _fmt(r.e3torch_peak_mb, ".1f"),
        ]
        for r in results
    ]
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in rows]
    return "\n".join(lines)


def geometric_mean(values: list[float]) -> float:
    """Geometric mean of positive numbers (the summary of a list of speed ratios)."""
    if not values:
        return float("nan")
    return float(torch.tensor(values, dtype=torch.float64).log().mean().exp())
