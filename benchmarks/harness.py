"""Side-by-side timing of e3torch against e3nn in one process.

A benchmark module ``benchmarks/bench_<topic>.py`` defines ``CASES``, a list of :class:`Case`. Each case's
``setup()`` builds both workloads once and returns a :class:`Workload`: two zero-argument callables (the same
computation in e3torch and in e3nn) and, optionally, the work they do (``flops``, ``bytes``) so the report can
give achieved GFLOP/s and GB/s next to the machine's limits.

The two callables are timed *interleaved* (e3nn, e3torch, e3nn, e3torch, ...) so that the noise of a shared
machine hits both alike, and the report gives medians and the ratio ``e3nn / e3torch`` (higher is better).
With ``--memory``, the peak memory of one call is measured separately, outside the timing: the most memory the
call had allocated through torch's CPU allocator and not yet freed at any moment, from the allocations and frees
that torch's profiler records, each counted once in time order (resident-set growth is unreliable on CPU).
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


def _allocator_records(prof: Any) -> list[tuple[int, int]] | None:
    """``(time ns, bytes)`` of every CPU allocation (bytes > 0) and free (bytes < 0) the profiler recorded, in order.

    These are the profiler's raw memory records, before it attributes them to operators; ``None`` where this torch
    does not expose them.
    """
    try:
        events = prof.profiler.kineto_results.events()
        cpu = torch.autograd.DeviceType.CPU
        return sorted((e.start_ns(), e.nbytes()) for e in events if e.name() == "[memory]" and e.device_type() == cpu)
    except AttributeError:  # pragma: no cover - another torch: fall back on the operators' self memory
        return None


def _self_memory_records(prof: Any) -> list[tuple[float, int]]:
    """``(time, bytes)``: each operator's *self* memory (allocated minus freed by it, not by the operators it calls),
    at the operator's end, so that a child's allocation comes before its parent's free of it.

    Not ``cpu_memory_usage``: that includes the children, so summing it over the nested events counts an allocation
    once per enclosing operator (``zeros`` -> ``empty``: twice).
    """
    return sorted((e.time_range.end, e.self_cpu_memory_usage) for e in prof.events())


def _running_peak(records: list[tuple[Any, int]]) -> int:
    """The largest running sum of the signed byte counts, from 0 at the start and never below 0.

    The floor: a free of more than the call has allocated so far releases memory held before the call (typically
    the previous call's result or gradient, released first); it does not offset the call's own allocations.
    """
    current = peak = 0
    for _, nbytes in records:
        current = max(current + nbytes, 0)
        peak = max(peak, current)
    return peak


def _peak_memory_mb(fn: Callable[[], Any]) -> float | None:
    """The most memory (MiB) one call had allocated through torch's CPU allocator, from the profiler's records.

    Every allocation and free is counted once, in time order: the result is the largest amount of memory the call
    had allocated (and not yet freed) at any moment, e.g. 100 for a call that allocates and frees one 100 MiB tensor
    and then another. Memory held before the call does not count, nor does its release during the call (the
    profiler records no free of a block allocated before profiling; and see :func:`_running_peak`).
    """
    try:
        from torch.profiler import ProfilerActivity, profile
    except ImportError:  # pragma: no cover
        return None
    gc.collect()
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    records = _allocator_records(prof)
    if records is None:  # pragma: no cover
        records = _self_memory_records(prof)
    return _running_peak(records) / 2**20


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
        lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
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
