"""Gate activation: :class:`Gate`.

The input holds scalars, gate scalars and gated irreps, laid out as e3nn 0.6.0 does: the three lists
concatenated, then sorted (stably) by irrep and simplified. The output is the activated scalars followed by
every gated irrep copy multiplied by its activated gate; gating by an odd gate flips the parity of the gated
irrep.

Execution: when every activation is one the fused C++ kernels know (:mod:`e3torch._kernels._gate_ops`: silu,
sigmoid, tanh, relu, gelu, abs, softplus, identity, through e3nn's normalization) and the input is a CPU float32
or float64 tensor, one operator reads the input once and writes the output once (its backward is one pass as
well). Otherwise, the pure-torch plan below runs (it is also the oracle of the kernels' tests).

Pure-torch plan (computed once): the input is split once into contiguous segments; each run of scalars (or
gates) sharing one function is activated in one call; the activated gates are expanded to the gated layout by
one ``index_select`` with a precomputed index and all gated irreps are multiplied at once (a broadcast per
block of size ``2l+1`` would run a tiny inner loop, three times slower); the output is concatenated once
(under autograd), or, without autograd, every piece is written once into its place (on one thread by chunks
of rows that stay in cache).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence

import torch

from e3torch import _kernels
from e3torch._kernels import _gate_ops
from e3torch.nn._activation import Activation, split_scale
from e3torch.o3._irreps import Irrep, Irreps
from e3torch.o3._norm import _TensorProductState

__all__ = ["Gate"]

Act = Callable[[torch.Tensor], torch.Tensor]
_KERNEL_DTYPES = (torch.float32, torch.float64)


@dataclasses.dataclass(frozen=True)
class _Run:
    start: int  # in the (sorted) input
    stop: int
    act: int  # index into the Activation's acts; -1: identity


@dataclasses.dataclass(frozen=True)
class _Chunk:
    start: int  # in the input
    mul: int
    d: int
    run: int  # index of the gate run
    g0: int  # first gate, local to the run


@dataclasses.dataclass(frozen=True)
class _GatePlan:
    sizes: tuple[int, ...]  # split of the input into segments
    scalars: tuple[tuple[int, int], ...]  # (segment, act) in output order
    gates: tuple[tuple[int, int], ...]  # (segment, act) in gate order
    gated: tuple[int, ...]  # segments of the gated irreps, in output order
    gate_index: tuple[int, ...]  # for every gated component, the index of its gate


def _offsets(entries: list[tuple[int, Irrep]]) -> list[int]:
    """Start of each entry in the stably sorted layout."""
    order = sorted(range(len(entries)), key=lambda k: entries[k][1])
    starts, pos = [0] * len(entries), 0
    for k in order:
        starts[k] = pos
        pos += entries[k][0] * entries[k][1].dim
    return starts


def _runs(irreps: Irreps, starts: list[int], acts: Sequence[Act | None]) -> list[_Run]:
    """Maximal runs of terms adjacent in the input that share one function (or are all identities)."""
    runs: list[_Run] = []
    for i, ((mul, ir), start, act) in enumerate(zip(irreps, starts, acts)):
        if mul == 0:
            continue
        stop, key = start + mul * ir.dim, -1 if act is None else i
        prev = runs[-1] if runs else None
        same = prev is not None and (
            prev.act < 0 and key < 0 or prev.act >= 0 and key >= 0 and acts[prev.act] is act
        )
        if prev is not None and prev.stop == start and same:
            runs[-1] = _Run(prev.start, stop, prev.act)
        else:
            runs.append(_Run(start, stop, key))
    return runs


def _chunks(gated: Irreps, starts: list[int], gate_runs: list[_Run]) -> list[_Chunk]:
    """The gated copies cut where a term or a gate run ends, in output order."""
    bounds, n = [], 0  # gate runs as [first, last) gate indices
    for r in gate_runs:
        bounds.append((n, n + r.stop - r.start))
        n += r.stop - r.start
    chunks: list[_Chunk] = []
    gate = 0
    for (mul, ir), start in zip(gated, starts):
        done = 0
        while done < mul:
            run = next(k for k, (a, b) in enumerate(bounds) if a <= gate < b)
            take = min(mul - done, bounds[run][1] - gate)
            chunks.append(_Chunk(start + done * ir.dim, take, ir.dim, run, gate - bounds[run][0]))
            done, gate = done + take, gate + take
    return chunks


def _make_plan(s: Irreps, s_acts: Sequence, g: Irreps, g_acts: Sequence, x: Irreps) -> _GatePlan:
    entries = list(s) + list(g) + list(x)
    starts = _offsets([(mul, ir) for mul, ir in entries])
    s_runs = _runs(s, starts[: len(s)], s_acts)
    g_runs = _runs(g, starts[len(s) : len(s) + len(g)], g_acts)
    chunks = _chunks(x, starts[len(s) + len(g) :], g_runs)
    # merge gated chunks contiguous in the input (one multiply covers all gated irreps in the usual case)
    spans: list[tuple[int, int]] = []
    for c in chunks:
        if spans and spans[-1][1] == c.start:
            spans[-1] = (spans[-1][0], c.start + c.mul * c.d)
        else:
            spans.append((c.start, c.start + c.mul * c.d))
    ranges = sorted([(r.start, r.stop) for r in s_runs + g_runs] + spans)
    segment = {rg: k for k, rg in enumerate(ranges)}
    run_first, n = [], 0
    for r in g_runs:
        run_first.append(n)
        n += r.stop - r.start
    gate_index = []
    for c in chunks:
        for u in range(c.mul):
            gate_index += [run_first[c.run] + c.g0 + u] * c.d
    return _GatePlan(
        tuple(b - a for a, b in ranges),
        tuple((segment[(r.start, r.stop)], r.act) for r in s_runs),
        tuple((segment[(r.start, r.stop)], r.act) for r in g_runs),
        tuple(segment[sp] for sp in spans),
        tuple(gate_index),
    )


def _gated_irreps(gated: Irreps, gates: Irreps) -> Irreps:
    """e3nn's elementwise product irreps: the common refinement of the two lists of multiplicities."""
    left = [ir for mul, ir in gated for _ in range(mul)]
    right = [ir for mul, ir in gates for _ in range(mul)]
    out: list[tuple[int, Irrep]] = []
    prev = None
    for a, b in zip(left, right):
        if prev == (a, b):
            out[-1] = (out[-1][0] + 1, out[-1][1])
        else:
            out.append((1, Irrep(a.l, a.p * b.p)))
        prev = (a, b)
    return Irreps(out)


def _check_scalars(irreps: Irreps, name: str) -> None:
    if any(ir.l != 0 for _, ir in irreps):
        raise ValueError(f"expected {name} to contain only scalars (l=0), got {name} = {irreps}")


def _check_acts(acts: Sequence, irreps: Irreps, name: str) -> None:
    if isinstance(acts, (str, bytes)) or not isinstance(acts, Sequence):
        raise TypeError(f"expected a list of activations for {name}, got {type(acts).__name__}")
    if len(acts) != len(irreps):
        raise ValueError(
            f"expected one activation per term of {name} {irreps} ({len(irreps)}), got {len(acts)}"
        )


class Gate(torch.nn.Module):
    r"""Gate activation: activated scalars, and gated irreps scaled by activated gate scalars.

    Parameters
    ----------
    irreps_scalars : Irreps or str
        Scalars passed through ``act_scalars``.
    act_scalars : list of callable or None
        One per term of ``irreps_scalars`` (normalized to unit second moment).
    irreps_gates : Irreps or str
        Gate scalars, as many copies as there are gated irrep copies.
    act_gates : list of callable or None
        One per term of ``irreps_gates``.
    irreps_gated : Irreps or str
        The gated irreps (any ``l``).

    Attributes
    ----------
    irreps_in : Irreps
        ``(irreps_scalars + irreps_gates + irreps_gated)`` sorted and simplified: the input layout.
    irreps_out : Irreps
        The activated scalars, then the gated irreps (parity times that of their gates).

    Examples
    --------
    >>> gate = Gate("1x0e", [torch.tanh], "1x0e", [torch.sigmoid], "1x1o")
    >>> gate
    Gate (2x0e+1x1o -> 1x0e+1x1o)
    >>> gate(torch.randn(1, 5)).shape
    torch.Size([1, 4])
    >>> Gate("16x0e", [torch.relu], "4x0o", [torch.tanh], "2x1e + 2x2e").irreps_out
    16x0e+2x1o+2x2o
    """

    def __init__(
        self,
        irreps_scalars: Irreps | str,
        act_scalars: Sequence[Act | None],
        irreps_gates: Irreps | str,
        act_gates: Sequence[Act | None],
        irreps_gated: Irreps | str,
    ) -> None:
        super().__init__()
        raw_s, raw_g, raw_x = Irreps(irreps_scalars), Irreps(irreps_gates), Irreps(irreps_gated)
        _check_scalars(raw_s, "irreps_scalars")
        _check_scalars(raw_g, "irreps_gates")
        if raw_g.num_irreps != raw_x.num_irreps:
            raise ValueError(
                f"expected {raw_x.num_irreps} gates for {raw_x.num_irreps} gated irreps ({raw_x}), "
                f"got {raw_g.num_irreps} gates ({raw_g})"
            )
        _check_acts(act_scalars, raw_s, "irreps_scalars")
        _check_acts(act_gates, raw_g, "irreps_gates")
        self.irreps_scalars, self.irreps_gates = raw_s.simplify(), raw_g.simplify()
        self.irreps_gated = raw_x.simplify()
        self.act_scalars = Activation(raw_s, act_scalars)
        self.act_gates = Activation(raw_g, act_gates)
        gates_out = self.act_gates.irreps_out.simplify()
        gated_out = _gated_irreps(self.irreps_gated, gates_out)
        n_paths = self.irreps_gated.num_irreps
        text = f"{self.irreps_gated} x {gates_out} -> {gated_out} | {n_paths} paths | 0 weights"
        self.mul = _TensorProductState("ElementwiseTensorProduct", text, gated_out.dim)
        self.irreps_in = (raw_s + raw_g + raw_x).sort().irreps.simplify()
        self.irreps_out = self.act_scalars.irreps_out + gated_out
        self.plan = _make_plan(raw_s, act_scalars, raw_g, act_gates, raw_x)
        self.register_buffer(
            "gate_index", torch.tensor(self.plan.gate_index, dtype=torch.long), persistent=False
        )
        self._setup_kernels()

    def _setup_kernels(self) -> None:
        """The fused kernels' plan (integers and float64 constants, not buffers: exact under ``.to()``), or None."""
        plan, layout = self.plan, None
        if self.irreps_in.dim > 0:
            layout = _gate_ops.encode(
                plan.sizes,
                [(i, None if a < 0 else self.act_scalars.acts[a]) for i, a in plan.scalars],
                [(i, None if a < 0 else self.act_gates.acts[a]) for i, a in plan.gates],
                plan.gated,
                plan.gate_index,
            )
        self._kernel_plan = None if layout is None else (layout.table(), list(layout.scales))
        self._dims = (self.irreps_in.dim, self.irreps_out.dim)
        self._use_kernels = layout is not None and _kernels.kernels_available("gate")

    def __setstate__(self, state: dict) -> None:
        # unpickled in another process: load (or, without a compiler, give up) the kernels there; a pickle made
        # before the kernels existed gets their plan now
        super().__setstate__(state)
        if "_kernel_plan" not in state:
            self._setup_kernels()
        elif self._use_kernels and not _kernels.kernels_available("gate"):
            self._use_kernels = False

    @property
    def backend(self) -> str:
        """``"cpp"`` when CPU float32/float64 inputs run through the fused kernels, else ``"torch"``.

        Examples
        --------
        >>> Gate("2x0e", [torch.tanh], "1x0e", [lambda x: x.sigmoid()], "1x1o").backend  # unknown callable
        'torch'
        """
        return "cpp" if self._use_kernels else "torch"

    def __repr__(self) -> str:
        return f"{type(self).__name__} ({self.irreps_in} -> {self.irreps_out})"

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Apply the gate.

        Parameters
        ----------
        features : torch.Tensor
            ``(..., irreps_in.dim)``.

        Returns
        -------
        torch.Tensor
            ``(..., irreps_out.dim)``.

        Examples
        --------
        >>> Gate("", [], "2x0e", [torch.sigmoid], "2x1o")(torch.randn(3, 8)).shape
        torch.Size([3, 6])
        """
        if not isinstance(features, torch.Tensor):
            raise TypeError(f"expected features to be a torch.Tensor, got {type(features).__name__}")
        if features.dim() == 0 or features.shape[-1] != self.irreps_in.dim:
            raise ValueError(
                f"expected input with last dimension {self.irreps_in.dim} (irreps {self.irreps_in}), "
                f"got shape {tuple(features.shape)}"
            )
        if self._use_kernels and features.device.type == "cpu" and features.dtype in _KERNEL_DTYPES:
            (tab, scales), (d_in, d_out) = self._kernel_plan, self._dims
            y = _gate_ops.gate(features.reshape(-1, d_in), tab, scales, d_out)
            return y.reshape(features.shape[:-1] + (d_out,))
        return self._forward_torch(features)

    def _forward_torch(self, features: torch.Tensor) -> torch.Tensor:
        """The pure-torch path (the fallback, and the kernels' oracle)."""
        trainable = any(p.requires_grad for p in self.parameters())  # e.g. an activation with parameters
        if torch.is_grad_enabled() and (features.requires_grad or trainable):
            outs = self._pieces(features)
            if not outs:
                return features.new_zeros(features.shape[:-1] + (0,))
            return torch.cat(outs, dim=-1) if len(outs) > 1 else outs[0]
        # no autograd: every piece written once into its place
        n = math.prod(features.shape[:-1])
        x = features.reshape(n, self.irreps_in.dim)
        out = features.new_empty(n, self.irreps_out.dim)
        # on one thread, chunks of about 1 MB of input, at most 4; with several threads (each op synchronizes
        # them) or under compilation, one chunk
        rows = n
        if not torch.compiler.is_compiling() and torch.get_num_threads() == 1:  # (this order: compilable)
            rows = max(64, 2 ** round(math.log2(2**18 / max(1, x.shape[1]))), -(-n // 4))
        for start in range(0, n, rows) if n > rows else [0]:
            self._write(
                x if n <= rows else x[start : start + rows], out if n <= rows else out[start : start + rows]
            )
        return out.reshape(features.shape[:-1] + (self.irreps_out.dim,))

    def _gated(self, segs: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor] | None:
        """The gated irreps and their activated gates, expanded to the same layout."""
        plan = self.plan
        if not plan.gated:
            return None
        gates = [segs[i] if a < 0 else self.act_gates.acts[a](segs[i]) for i, a in plan.gates]
        gates_all = torch.cat(gates, dim=-1) if len(gates) > 1 else gates[0]
        pieces = [segs[i] for i in plan.gated]
        gated = torch.cat(pieces, dim=-1) if len(pieces) > 1 else pieces[0]
        return gated, gates_all.index_select(-1, self.gate_index)

    def _pieces(self, features: torch.Tensor) -> list[torch.Tensor]:
        plan = self.plan
        segs = torch.split(features, plan.sizes, dim=-1) if len(plan.sizes) > 1 else (features,)
        outs = [segs[i] if a < 0 else self.act_scalars.acts[a](segs[i]) for i, a in plan.scalars]
        gated = self._gated(segs)
        return outs if gated is None else outs + [gated[0] * gated[1]]

    def _write(self, x: torch.Tensor, out: torch.Tensor) -> None:
        plan = self.plan
        segs = torch.split(x, plan.sizes, dim=-1) if len(plan.sizes) > 1 else (x,)
        pos = 0
        for i, a in plan.scalars:
            dst, pos = out[:, pos : pos + plan.sizes[i]], pos + plan.sizes[i]
            f, c = (None, None) if a < 0 else split_scale(self.act_scalars.acts[a])
            y = segs[i] if f is None else f(segs[i])
            dst.copy_(y) if c is None else torch.mul(y, c, out=dst)
        gated = self._gated(segs)
        if gated is not None:
            torch.mul(gated[0], gated[1], out=out[:, pos:])
