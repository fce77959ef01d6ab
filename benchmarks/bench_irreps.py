"""Irrep/Irreps bookkeeping: construction, parsing and the common methods (pure Python, no tensors).

Each timed call runs a batch of ``N`` operations so that the timer resolution does not matter. e3torch caches
parsed strings; the "uncached" case clears that cache before every parse, so it measures the parser itself.
"""

from __future__ import annotations

import e3nn.o3

from benchmarks.harness import Case, Workload
from e3torch.o3 import Irreps
from e3torch.o3._irreps import _parse_irrep, _parse_irreps

N = 200
STRINGS = [
    "0e",
    "16x0e + 16x1o + 8x2e",
    "128x0e+64x1o+32x2e+16x3o",
    "1x0e+1x1o+1x2e+1x3o+1x4e+1x5o+1x6e",
    "32x0e + 32x0o + 16x1e + 16x1o + 8x2e + 8x2o",
]
TUPLES = [[(mul, (l, (-1) ** l)) for l, mul in enumerate([64, 32, 16, 8, 4])], [(8, "0e"), (4, "1o")]]
MIXED = "4x1o + 2x0e + 0x2e + 3x1o + 1x0e + 5x2e + 2x1o"


def _construct(cls, inputs) -> None:
    for _ in range(N):
        for s in inputs:
            cls(s)


def _construct_uncached() -> None:
    for _ in range(N):
        for s in STRINGS:
            _parse_irreps.cache_clear()
            _parse_irrep.cache_clear()
            Irreps(s)


def _string_cached() -> Workload:
    return Workload(e3torch=lambda: _construct(Irreps, STRINGS), e3nn=lambda: _construct(e3nn.o3.Irreps, STRINGS))


def _string_uncached() -> Workload:
    return Workload(e3torch=_construct_uncached, e3nn=lambda: _construct(e3nn.o3.Irreps, STRINGS))


def _tuples() -> Workload:
    return Workload(e3torch=lambda: _construct(Irreps, TUPLES), e3nn=lambda: _construct(e3nn.o3.Irreps, TUPLES))


def _copy() -> Workload:
    ours, theirs = [Irreps(s) for s in STRINGS], [e3nn.o3.Irreps(s) for s in STRINGS]
    return Workload(e3torch=lambda: _construct(Irreps, ours), e3nn=lambda: _construct(e3nn.o3.Irreps, theirs))


def _simplify_sort(cls) -> None:
    x = cls(MIXED)
    for _ in range(N):
        x.sort().irreps.simplify()
        x.regroup()


def _simplify_sort_case() -> Workload:
    return Workload(e3torch=lambda: _simplify_sort(Irreps), e3nn=lambda: _simplify_sort(e3nn.o3.Irreps))


def _attributes(cls) -> None:
    xs = [cls(s) for s in STRINGS]
    for _ in range(N):
        for x in xs:
            x.dim, x.num_irreps, x.slices(), x.lmax, repr(x)  # noqa: B018


def _attributes_case() -> Workload:
    return Workload(e3torch=lambda: _attributes(Irreps), e3nn=lambda: _attributes(e3nn.o3.Irreps))


CASES = [
    Case("irreps: construct from string (cached)", _string_cached),
    Case("irreps: construct from string (uncached parse)", _string_uncached),
    Case("irreps: construct from (mul, (l, p)) lists", _tuples),
    Case("irreps: construct from Irreps", _copy),
    Case("irreps: sort+simplify, regroup", _simplify_sort_case),
    Case("irreps: dim, num_irreps, slices, lmax, repr", _attributes_case),
]
