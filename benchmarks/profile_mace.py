"""Where MACE's time goes, per module, on e3nn and on e3torch: ``python -m benchmarks.profile_mace [options]``.

Runs the models of :mod:`benchmarks.bench_mace` once with forward hooks that record every submodule's inputs, then
times each recorded call in isolation, interleaved e3nn / e3torch (medians), in two modes:

- ``fwd``: the forward alone;
- ``fwd+grad``: the forward and the gradient of a random projection of the output with respect to those inputs
  that required a gradient in the model's own run (what the force computation of an energy+forces evaluation
  asks of each module; a module off the way to the positions counts its forward only).

The ``(mace code)`` rows are mace's own modules whose cost is the same code on both sides (e.g. the symmetric
contraction's einsums, which only see plain tensors). The last column gives each row's share of the sum of e3nn's
rows, so ``f`` (the symmetric contraction's share) bounds the reachable overall ratio by ``1 / f``. Options:
``--size small|medium``, ``--threads N`` (default 1, less sensitive to a loaded machine), ``--repeat N``, and
``--profile`` (also print torch.profiler's per-op table of one whole energy+forces evaluation on each side) and
``--fused`` (the e3torch model with its symmetric contractions fused by ``e3torch.integrations.mace.accelerate``).
"""

from __future__ import annotations

import argparse
import collections
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import torch

from benchmarks.bench_mace import _evaluate, make_pair

# module paths (from the model's named_modules) worth timing on their own; their children are not listed
_LEAF_TYPES = (
    "Linear", "TensorProduct", "FullyConnectedTensorProduct", "FullyConnectedNet", "SphericalHarmonics",
    "SymmetricContraction", "FusedSymmetricContraction", "RadialEmbeddingBlock", "reshape_irreps", "Activation",
)  # fmt: skip


def _record(model: torch.nn.Module, batch: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    """The inputs of every listed submodule's first call during one energy+forces evaluation."""
    seen: dict[str, tuple[Any, ...]] = {}
    handles = []
    for name, module in model.named_modules():
        if type(module).__name__ in _LEAF_TYPES and not any(name.startswith(p + ".") for p in seen):

            def hook(mod: torch.nn.Module, args: tuple[Any, ...], name: str = name) -> None:
                # the inputs, and whether each one was on the way to the positions (needs its gradient)
                seen.setdefault(name, tuple((a.detach().clone(), a.requires_grad) if torch.is_tensor(a) else a
                                            for a in args))  # fmt: skip

            handles.append(module.register_forward_pre_hook(hook))
    _evaluate(model, batch)()
    for h in handles:
        h.remove()
    return {k: v for k, v in seen.items() if not any(k.startswith(p + ".") for p in seen if p != k)}


def _call(module: torch.nn.Module, args: tuple[Any, ...], mode: str) -> Callable[[], Any]:
    inputs = [a[0].requires_grad_(a[1]) if isinstance(a, tuple) else a for a in args]
    grad_inputs = [a for a in inputs if torch.is_tensor(a) and a.requires_grad]
    probe: list[torch.Tensor] = []

    def run() -> Any:
        if (
            mode == "fwd" or not grad_inputs
        ):  # not on the way to the positions: no backward in a force evaluation
            with torch.no_grad():
                return module(*inputs)
        out = module(*inputs)
        out = out[0] if isinstance(out, (tuple, list)) else out
        if not probe:
            probe.append(torch.randn(out.shape, generator=torch.Generator().manual_seed(0), dtype=out.dtype))
        return torch.autograd.grad(out, grad_inputs, grad_outputs=probe[0], allow_unused=True)

    return run


def _median_interleaved(fns: list[Callable[[], Any]], repeat: int) -> list[float]:
    for fn in fns:
        fn()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            fn()
            times[i].append(time.perf_counter() - t0)
    return [1e3 * statistics.median(t) for t in times]


def _kind(model: torch.nn.Module, name: str) -> str:
    module = model.get_submodule(name)
    lib = type(module).__module__.split(".")[0]
    return f"{type(module).__name__}" + (" (mace code)" if lib == "mace" else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="small", choices=("small", "medium"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--fused", action="store_true", help="accelerate() the e3torch model first")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    torch.set_num_threads(args.threads)
    dtype = getattr(torch, args.dtype)
    torch.set_default_dtype(dtype)
    theirs, mine, batch = make_pair(args.size, dtype)
    if args.fused:
        from e3torch.integrations.mace import accelerate

        accelerate(mine)
    rec_theirs, rec_mine = _record(theirs, batch), _record(mine, batch)
    names = [n for n in rec_theirs if n in rec_mine]
    rows = []
    for name in names:
        row = [name, _kind(theirs, name)]
        for mode in ("fwd", "fwd+grad"):
            fns = [_call(theirs.get_submodule(name), rec_theirs[name], mode),
                   _call(mine.get_submodule(name), rec_mine[name], mode)]  # fmt: skip
            row += _median_interleaved(fns, args.repeat)
        rows.append(row)
    total = _median_interleaved([_evaluate(theirs, batch), _evaluate(mine, batch)], args.repeat)
    grand = sum(r[4] for r in rows)
    fused = ", fused symmetric contractions" if args.fused else ""
    print(f"# MACE {args.size}{fused}, {args.dtype}, {args.threads} thread(s); ms, medians of {args.repeat}")
    print(f"{'module':44s} {'kind':34s} {'fwd e3nn':>9s} {'e3torch':>8s} {'fwd+grad e3nn':>13s} "
          f"{'e3torch':>8s} {'ratio':>6s} {'share':>6s}")  # fmt: skip
    by_kind: dict[str, list[float]] = collections.defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])
    for name, kind, a, b, c, d in rows:
        print(f"{name:44s} {kind:34s} {a:9.3f} {b:8.3f} {c:13.3f} {d:8.3f} {c / d:5.2f}x {c / grand:6.1%}")
        acc = by_kind[kind]
        for i, v in enumerate((a, b, c, d)):
            acc[i] += v
    print("\n# per kind (sums)")
    for kind, (a, b, c, d) in sorted(by_kind.items(), key=lambda kv: -kv[1][2]):
        print(f"{kind:79s} {a:9.3f} {b:8.3f} {c:13.3f} {d:8.3f} {c / d:5.2f}x {c / grand:6.1%}")
    print(f"\n{'sum of modules':79s} {sum(r[2] for r in rows):9.3f} {sum(r[3] for r in rows):8.3f} "
          f"{grand:13.3f} {sum(r[5] for r in rows):8.3f}")  # fmt: skip
    print(f"{'whole energy+forces evaluation':79s} {'':9s} {'':8s} {total[0]:13.3f} {total[1]:8.3f} "
          f"{total[0] / total[1]:5.2f}x")  # fmt: skip
    if args.profile:
        from torch.profiler import ProfilerActivity, profile

        for label, model in (("e3nn", theirs), ("e3torch", mine)):
            run = _evaluate(model, batch)
            run()
            with profile(activities=[ProfilerActivity.CPU]) as prof:
                for _ in range(5):
                    run()
            print(f"\n# torch.profiler, {label}, 5 energy+forces evaluations")
            print(
                prof.key_averages().table(
                    sort_by="self_cpu_time_total", row_limit=25, max_name_column_width=60
                )
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
