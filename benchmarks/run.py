"""Run the e3torch-vs-e3nn benchmarks: ``python -m benchmarks.run [-k FILTER] [--threads 2] [--markdown FILE]``.

Every ``benchmarks/bench_*.py`` contributes its ``CASES``. Cases are timed interleaved with e3nn in this one
process (see :mod:`benchmarks.harness`), in float32 on ``--threads`` threads, and the table gives medians, the
ratio e3nn / e3torch (higher is better), the achieved GFLOP/s where a case counts its work, and the geometric
mean of the ratios. The measured matmul peak of the machine is printed first, as the yardstick.
"""

from __future__ import annotations

import argparse
import importlib
import pathlib
import platform
import sys
import warnings

import torch

from benchmarks.harness import format_table, geometric_mean, matmul_peak_gflops, run_case


def _discover() -> list:
    here = pathlib.Path(__file__).parent
    cases = []
    for path in sorted(here.glob("bench_*.py")):
        module = importlib.import_module(f"benchmarks.{path.stem}")
        cases.extend(getattr(module, "CASES", []))
    return cases


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", "--filter", default="", help="only cases whose name contains this text")
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads (default 2)")
    parser.add_argument("--markdown", default=None, help="also write the table as Markdown to this file")
    parser.add_argument("--memory", action="store_true", help="also measure peak allocator memory per call")
    parser.add_argument("--repeat", type=int, default=None, help="override every case's repeat count")
    args = parser.parse_args(argv)

    warnings.filterwarnings("ignore")
    torch.set_num_threads(args.threads)
    torch.set_default_dtype(torch.float32)
    cases = [c for c in _discover() if args.filter in c.name]
    if args.repeat is not None:
        import dataclasses

        cases = [dataclasses.replace(c, repeat=args.repeat) for c in cases]
    peak = matmul_peak_gflops()
    machine = f"{platform.processor() or platform.machine()}, {args.threads} threads, torch {torch.__version__}"
    print(f"# machine: {machine}; fp32 matmul peak {peak:.0f} GFLOP/s", flush=True)
    results = []
    for case in cases:
        result = run_case(case, memory=args.memory)
        results.append(result)
        print(format_table([result]).splitlines()[1], flush=True)
    table = format_table(results)
    gmean = geometric_mean([r.ratio for r in results])
    print()
    print(table)
    print(f"\ngeometric mean ratio over {len(results)} cases: {gmean:.2f}x")
    if args.markdown:
        text = f"Machine: {machine}; fp32 matmul peak {peak:.0f} GFLOP/s.\n\n"
        text += format_table(results, markdown=True) + f"\n\nGeometric mean ratio: {gmean:.2f}x\n"
        pathlib.Path(args.markdown).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
