"""The benchmark harness's peak-memory measurement (``--memory``): every allocation counted once, in time order."""

from __future__ import annotations

import importlib.util
import pathlib
import sys

import pytest
import torch

_PATH = pathlib.Path(__file__).resolve().parents[2] / "benchmarks" / "harness.py"
_SPEC = importlib.util.spec_from_file_location("_bench_harness", _PATH)
harness = importlib.util.module_from_spec(_SPEC)
sys.modules[_SPEC.name] = harness  # (dataclasses look their module up)
_SPEC.loader.exec_module(harness)

MIB = 2**20


def _empty(mib: int) -> torch.Tensor:
    return torch.empty(mib * MIB, dtype=torch.uint8)


def one_empty() -> None:
    x = _empty(100)
    del x


def zeros_then_add() -> torch.Tensor:
    x = torch.zeros(100 * MIB, dtype=torch.uint8)  # aten::zeros calls aten::empty: nested events
    y = x + 1
    return y[:1].clone()


def free_then_smaller() -> None:
    x = _empty(100)
    del x
    y = _empty(50)
    del y


def three_alive() -> torch.Tensor:
    x = torch.ones(25 * MIB // 4)  # float32: 25 MiB each
    y = x * 2
    return (y + x).sum()  # the temporary y + x: a third 25 MiB, while x and y live


CASES = [(one_empty, 100.0), (zeros_then_add, 200.0), (free_then_smaller, 100.0), (three_alive, 75.0)]


@pytest.mark.parametrize("fn,expected", CASES, ids=[f.__name__ for f, _ in CASES])
def test_peak_memory_of_known_allocations(fn, expected) -> None:
    peak = harness._peak_memory_mb(fn)
    assert expected <= peak < expected + 0.1, (fn.__name__, peak)


@pytest.mark.parametrize("fn,expected", CASES, ids=[f.__name__ for f, _ in CASES])
def test_self_memory_fallback_agrees(fn, expected) -> None:
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    assert harness._allocator_records(prof) is not None  # this torch exposes the raw records
    peak = harness._running_peak(harness._self_memory_records(prof)) / MIB
    assert expected <= peak < expected + 0.1, (fn.__name__, peak)
    # what the harness used to do, summing every event's memory including its children's, counts zeros twice
    inclusive = harness._running_peak(sorted((e.time_range.start, e.cpu_memory_usage) for e in prof.events())) / MIB
    if fn is zeros_then_add:
        assert inclusive >= 299


def test_memory_held_before_the_call_is_not_seen() -> None:
    # the profiler does not record the free of a block allocated before it started: the peak is that of the call's
    # own allocations (40), not the net change of the memory held (-60)
    held = [_empty(100)]

    def release_and_allocate() -> None:
        held.pop()
        y = _empty(40)
        del y

    peak = harness._peak_memory_mb(release_and_allocate)
    assert 40 <= peak < 40.1


def test_release_of_the_previous_result_does_not_offset_the_call() -> None:
    # the second measurement sees the free of the first one's result (allocated while profiling): without the floor
    # of _running_peak it would offset this call's allocations (20 instead of 50)
    state = {}

    def replace_result() -> None:
        state.pop("out", None)
        state["out"] = _empty(30)
        tmp = _empty(20)
        del tmp

    peaks = [harness._peak_memory_mb(replace_result) for _ in range(3)]
    assert all(50 <= p < 50.1 for p in peaks), peaks


def test_running_peak() -> None:
    assert harness._running_peak([]) == 0
    assert harness._running_peak([(0, 5), (1, -5), (2, 3)]) == 5
    assert harness._running_peak([(0, -9), (1, 5), (2, 5), (3, -10), (4, 2)]) == 10


def test_run_case_reports_the_peaks() -> None:
    case = harness.Case("memory", lambda: harness.Workload(e3torch=one_empty, e3nn=zeros_then_add), repeat=1, warmup=0)
    result = harness.run_case(case, memory=True)
    assert 100 <= result.e3torch_peak_mb < 100.1 and 200 <= result.e3nn_peak_mb < 200.1
    assert "100.0" in harness.format_table([result])


def test_markdown_table_escapes_pipes_in_case_names() -> None:
    case = harness.Case("gate 2x0e|1x0e", lambda: harness.Workload(e3torch=one_empty, e3nn=one_empty), repeat=1, warmup=0)
    text = harness.format_table([harness.run_case(case)], markdown=True)
    row = text.splitlines()[-1]
    assert row.startswith("| gate 2x0e\\|1x0e |")
    assert row.replace("\\|", "").count("|") == text.splitlines()[0].count("|")  # as many cells as the header
