"""Python side of the fused gate: activation codes, plan encoding, fake implementations, autograd.

The C++ operator ``e3torch_gate::forward(x, tab, scales, d_out)`` maps ``x`` ``(N, d_in)`` to the gate's output
``(N, d_out)`` in one pass over the rows; ``e3torch_gate::backward(x, grad, tab, scales)`` is its vector-Jacobian
product, also one pass (the activations and their derivatives recomputed from ``x``, which is all the forward
saves). The plan is a list of integers (runs of scalar and gate columns sharing one activation code, spans of
gated components and the gate of every component) and one constant per run (e3nn's second-moment normalization,
folded in). The autograd formula of ``backward`` (the double backward) calls the fused
``e3torch_gate::double_backward(x, grad, h, tab, scales)`` (one pass, with the activations' second derivatives)
when no higher derivative is asked for (``create_graph=False``, as in force training's final backward), and
otherwise evaluates the same formula in differentiable torch ops, so that derivatives of any order are available.

Only a fixed set of activations has a code (:data:`CODES`); a Gate with any other callable keeps its pure-torch
path.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Sequence
from typing import Any

import torch

__all__ = ["CODES", "activation_code", "encode", "gate", "register"]

VERSION = 1
HEADER = 8
IDENTITY, SILU, SIGMOID, TANH, RELU, GELU, ABS, SOFTPLUS = range(8)
CODES = {
    "identity": IDENTITY, "silu": SILU, "sigmoid": SIGMOID, "tanh": TANH, "relu": RELU, "gelu": GELU, "abs": ABS,
    "softplus": SOFTPLUS,
}  # fmt: skip

F = torch.nn.functional
_FUNCTIONS: tuple[tuple[Callable[..., Any], int], ...] = (
    (F.silu, SILU), (torch.sigmoid, SIGMOID), (F.sigmoid, SIGMOID), (torch.special.expit, SIGMOID),
    (torch.tanh, TANH), (F.tanh, TANH), (torch.relu, RELU), (F.relu, RELU), (F.gelu, GELU), (torch.abs, ABS),
    (F.softplus, SOFTPLUS),
)  # fmt: skip
_MODULES: dict[type, int] = {
    torch.nn.SiLU: SILU, torch.nn.Sigmoid: SIGMOID, torch.nn.Tanh: TANH, torch.nn.ReLU: RELU, torch.nn.GELU: GELU,
    torch.nn.Softplus: SOFTPLUS, torch.nn.Identity: IDENTITY,
}  # fmt: skip


def _is_normalize2mom(act: object) -> bool:
    from e3torch.math import normalize2mom

    if isinstance(act, normalize2mom):
        return True
    # the same wrapper from another package (e3nn's): same attributes, same meaning
    return type(act).__name__ == "normalize2mom" and all(hasattr(act, a) for a in ("f", "cst", "_is_id"))


def _module_code(act: torch.nn.Module) -> int | None:
    code = _MODULES.get(type(act))
    if code is None or getattr(act, "inplace", False):
        return None
    if code == GELU and act.approximate != "none":
        return None
    if code == SOFTPLUS and (act.beta != 1 or act.threshold != 20):
        return None
    return code


def activation_code(act: object) -> tuple[int, float] | None:
    """``(code, c)`` such that ``act(x) == c * f(x)`` for the kernels' function ``code``; None if unrecognised.

    ``act`` is ``None`` (the identity), one of the recognised functions or modules (silu, sigmoid, tanh, relu,
    gelu, abs, softplus with torch's defaults, identity), or a :class:`e3torch.math.normalize2mom` of one (any
    depth; a wrapper taken as already normalized contributes no constant).

    Parameters
    ----------
    act : callable or None

    Returns
    -------
    tuple of (int, float), or None

    Examples
    --------
    >>> from e3torch.math import normalize2mom
    >>> code, c = activation_code(normalize2mom(torch.tanh))
    >>> code == CODES["tanh"], round(c, 4)
    (True, 1.5937)
    >>> activation_code(None), activation_code(lambda x: x * 2) is None
    ((0, 1.0), True)
    """
    scale = 1.0
    while _is_normalize2mom(act):
        if not act._is_id:  # type: ignore[union-attr]
            scale *= float(act.cst)  # type: ignore[union-attr]
        act = act.f  # type: ignore[union-attr]
    if act is None:
        return IDENTITY, scale
    if isinstance(act, torch.nn.Module):
        code = _module_code(act)
        return None if code is None else (code, scale)
    for f, code in _FUNCTIONS:
        if act is f:
            return code, scale
    return None


@dataclasses.dataclass(frozen=True)
class Layout:
    """The gate's columns, as the kernels walk them.

    ``scalars`` and ``gates`` list runs ``(start in the input, start in the output or gate list, length, code)``;
    ``spans`` lists gated components contiguous in both the input and the output ``(input start, output start,
    length, first component)``; ``gate_of`` gives the gate of every gated component; ``scales`` one constant per
    scalar run, then per gate run.

    Examples
    --------
    >>> Layout(4, 3, 1, ((0, 0, 1, 3),), ((1, 0, 1, 2),), ((2, 1, 2, 0),), (0, 0), (1.5, 1.0)).n_gated
    2
    """

    d_in: int
    d_out: int
    n_gates: int
    scalars: tuple[tuple[int, int, int, int], ...]
    gates: tuple[tuple[int, int, int, int], ...]
    spans: tuple[tuple[int, int, int, int], ...]
    gate_of: tuple[int, ...]
    scales: tuple[float, ...]

    @property
    def n_gated(self) -> int:
        """Number of gated components."""
        return len(self.gate_of)

    def table(self) -> list[int]:
        """The integer plan read by the C++ operators."""
        header = [VERSION, self.d_in, self.d_out, self.n_gates, len(self.scalars), len(self.gates),
                  len(self.spans), self.n_gated]  # fmt: skip
        runs = [v for r in self.scalars + self.gates + self.spans for v in r]
        return header + runs + list(self.gate_of)


def encode(
    sizes: Sequence[int],
    scalars: Sequence[tuple[int, object]],
    gates: Sequence[tuple[int, object]],
    gated: Sequence[int],
    gate_index: Sequence[int],
) -> Layout | None:
    """The kernels' layout of a gate plan, or None when an activation has no code.

    Parameters
    ----------
    sizes : sequence of int
        The input cut into consecutive segments.
    scalars, gates : sequence of (int, callable or None)
        ``(segment, activation)`` in output order (scalars) or gate order (gates).
    gated : sequence of int
        The segments of the gated irreps, in output order.
    gate_index : sequence of int
        For every gated component (the gated segments concatenated), its gate in the concatenated gates.

    Returns
    -------
    Layout or None

    Raises
    ------
    ValueError
        When the plan does not cover every input column exactly once (an internal error).

    Examples
    --------
    >>> layout = encode([1, 1, 3], [(0, torch.tanh)], [(1, torch.sigmoid)], [2], [0, 0, 0])
    >>> layout.d_in, layout.d_out, layout.table()[:8]
    (5, 4, [1, 5, 4, 1, 1, 1, 1, 3])
    """
    starts = [0]
    for s in sizes:
        starts.append(starts[-1] + s)
    d_in = starts[-1]
    runs_s, runs_g, spans, scales = [], [], [], []
    covered = []
    out = 0
    for seg, act in scalars:
        found = activation_code(act)
        if found is None:
            return None
        runs_s.append((starts[seg], out, sizes[seg], found[0]))
        scales.append(found[1])
        covered.append(seg)
        out += sizes[seg]
    first = 0
    for seg, act in gates:
        found = activation_code(act)
        if found is None:
            return None
        runs_g.append((starts[seg], first, sizes[seg], found[0]))
        scales.append(found[1])
        covered.append(seg)
        first += sizes[seg]
    comp = 0
    for seg in gated:
        spans.append((starts[seg], out, sizes[seg], comp))
        covered.append(seg)
        out, comp = out + sizes[seg], comp + sizes[seg]
    if sorted(covered) != list(range(len(sizes))) or comp != len(gate_index):
        raise ValueError(f"expected a gate plan covering the {len(sizes)} input segments once, got {covered}")
    return Layout(
        d_in, out, first, tuple(runs_s), tuple(runs_g), tuple(spans), tuple(gate_index), tuple(scales)
    )


@functools.lru_cache(maxsize=64)
def _decode(tab: tuple[int, ...], scales: tuple[float, ...]) -> Layout:
    if len(tab) < HEADER or tab[0] != VERSION:
        raise ValueError(f"expected a gate plan of version {VERSION}, got {tab[:1]}")
    ns, ng, nx = tab[4:7]
    runs = [tuple(tab[HEADER + 4 * k : HEADER + 4 * k + 4]) for k in range(ns + ng + nx)]
    gate_of = tab[HEADER + 4 * (ns + ng + nx) :]
    return Layout(tab[1], tab[2], tab[3], tuple(runs[:ns]), tuple(runs[ns : ns + ng]), tuple(runs[ns + ng :]),
                  tuple(gate_of), scales)  # fmt: skip


def derivatives(code: int, x: torch.Tensor, order: int) -> list[torch.Tensor]:
    """``[f(x), f'(x), f''(x)][: order + 1]`` for the activation ``code``, in differentiable torch ops.

    Parameters
    ----------
    code : int
        A value of :data:`CODES`.
    x : torch.Tensor
    order : int
        0, 1 or 2.

    Returns
    -------
    list of torch.Tensor

    Examples
    --------
    >>> f, d1, d2 = derivatives(CODES["tanh"], torch.zeros(1), 2)
    >>> f.item(), d1.item(), d2.item()
    (0.0, 1.0, -0.0)
    """
    zero = torch.zeros_like(x)
    if code == IDENTITY:
        out = [x, torch.ones_like(x), zero]
    elif code == SILU:
        s = torch.sigmoid(x)
        out = [x * s, s * (1 + x * (1 - s)), s * (1 - s) * (2 + x * (1 - 2 * s))]
    elif code == SIGMOID:
        s = torch.sigmoid(x)
        out = [s, s * (1 - s), s * (1 - s) * (1 - 2 * s)]
    elif code == TANH:
        t = torch.tanh(x)
        out = [t, 1 - t * t, -2 * t * (1 - t * t)]
    elif code == RELU:
        out = [torch.relu(x), (x > 0).to(x.dtype), zero]
    elif code == GELU:
        cdf = 0.5 * (1 + torch.erf(x * 2**-0.5))
        pdf = torch.exp(-0.5 * x * x) * (2 * math.pi) ** -0.5
        out = [x * cdf, cdf + x * pdf, pdf * (2 - x * x)]
    elif code == ABS:
        out = [torch.abs(x), torch.sign(x), zero]
    elif code == SOFTPLUS:
        s, big = torch.sigmoid(x), x > 20
        out = [F.softplus(x), torch.where(big, 1.0, s), torch.where(big, 0.0, s * (1 - s))]
    else:
        raise ValueError(f"expected an activation code in 0..{len(CODES) - 1}, got {code}")
    return out[: order + 1]


def _cat(pieces: list[tuple[int, torch.Tensor]], like: torch.Tensor, width: int) -> torch.Tensor:
    """Column pieces ``(start, tensor)`` covering ``[0, width)`` once, concatenated in column order."""
    pieces = sorted((p for p in pieces if p[1].shape[1] > 0), key=lambda p: p[0])
    if not pieces:
        return like.new_zeros(like.shape[0], width)
    return torch.cat([t for _, t in pieces], dim=1) if len(pieces) > 1 else pieces[0][1]


def _double_backward(
    layout: Layout, x: torch.Tensor, go: torch.Tensor, ggx: torch.Tensor, need_x: bool, need_go: bool
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """Derivatives of ``<ggx, backward(x, go)>`` with respect to ``x`` and ``go``, in torch ops."""
    dx: list[tuple[int, torch.Tensor]] = []
    dgo: list[tuple[int, torch.Tensor]] = []
    cs = layout.scales
    for k, (i, o, n, code) in enumerate(layout.scalars):
        xs, gs, hs = x[:, i : i + n], go[:, o : o + n], ggx[:, i : i + n]
        _, d1, d2 = derivatives(code, xs, 2)
        dgo.append((o, cs[k] * d1 * hs))
        dx.append((i, cs[k] * d2 * gs * hs))
    if layout.spans:
        ns = len(layout.scalars)
        a, a1, a2, hg = [], [], [], []
        for k, (i, _, n, code) in enumerate(layout.gates):
            f, d1, d2 = derivatives(code, x[:, i : i + n], 2)
            c = cs[ns + k]
            a.append(c * f), a1.append(c * d1), a2.append(c * d2), hg.append(ggx[:, i : i + n])
        a_all, a1_all, a2_all, hg_all = (torch.cat(t, dim=1) for t in (a, a1, a2, hg))
        xg = torch.cat([x[:, i : i + n] for i, _, n, _ in layout.spans], dim=1)
        gg = torch.cat([go[:, o : o + n] for _, o, n, _ in layout.spans], dim=1)
        hx = torch.cat([ggx[:, i : i + n] for i, _, n, _ in layout.spans], dim=1)
        index = torch.tensor(layout.gate_of, dtype=torch.long, device=x.device)
        hg_exp, a1_exp = hg_all.index_select(1, index), a1_all.index_select(1, index)
        d_gated_go = hg_exp * a1_exp * xg + hx * a_all.index_select(1, index)
        d_gated_x = hg_exp * a1_exp * gg
        zeros = x.new_zeros(x.shape[0], layout.n_gates)
        s = zeros.index_add(1, index, gg * xg)
        t = zeros.index_add(1, index, hx * gg)
        d_gates_x = a2_all * hg_all * s + a1_all * t
        pos = 0
        for i, o, n, _ in layout.spans:
            dgo.append((o, d_gated_go[:, pos : pos + n]))
            dx.append((i, d_gated_x[:, pos : pos + n]))
            pos += n
        for i, first, n, _ in layout.gates:
            dx.append((i, d_gates_x[:, first : first + n]))
    return (
        _cat(dx, x, layout.d_in) if need_x else None,
        _cat(dgo, x, layout.d_out) if need_go else None,
    )


def _fake_forward(x: torch.Tensor, tab: list[int], scales: list[float], d_out: int) -> torch.Tensor:
    return x.new_empty(x.shape[0], d_out)


def _fake_backward(x: torch.Tensor, grad: torch.Tensor, tab: list[int], scales: list[float]) -> torch.Tensor:
    return x.new_empty(x.shape)


def _setup_forward(ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
    x, tab, scales, _ = inputs
    ctx.save_for_backward(x)
    ctx.plan = (tab, scales)


def _backward_forward(ctx: Any, grad: torch.Tensor | None) -> tuple[Any, ...]:
    (x,) = ctx.saved_tensors
    if grad is None or not ctx.needs_input_grad[0]:
        return None, None, None, None
    return torch.ops.e3torch_gate.backward(x, grad, *ctx.plan), None, None, None


def _setup_backward(ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
    x, grad, tab, scales = inputs
    ctx.save_for_backward(x, grad)
    ctx.plan = (tab, scales)


def _backward_backward(ctx: Any, ggx: torch.Tensor | None) -> tuple[Any, ...]:
    x, grad = ctx.saved_tensors
    need_x, need_go = ctx.needs_input_grad[:2]
    if ggx is None or not (need_x or need_go):
        return None, None, None, None
    if not torch.is_grad_enabled():  # no higher derivative asked for (create_graph=False): one fused pass
        dx, dgo = torch.ops.e3torch_gate.double_backward(x, grad, ggx, *ctx.plan)
        return dx if need_x else None, dgo if need_go else None, None, None
    layout = _decode(tuple(ctx.plan[0]), tuple(ctx.plan[1]))
    dx, dgo = _double_backward(layout, x, grad, ggx, need_x, need_go)
    return dx, dgo, None, None


def _fake_double_backward(
    x: torch.Tensor, grad: torch.Tensor, h: torch.Tensor, tab: list[int], scales: list[float]
) -> tuple[torch.Tensor, torch.Tensor]:
    return x.new_empty(x.shape), x.new_empty(grad.shape)


@functools.cache
def register() -> None:
    """Register the fake (meta) implementations and autograd formulas of the gate operators (once).

    Examples
    --------
    >>> from e3torch._kernels import kernels_available
    >>> kernels_available("gate") in (True, False)
    True
    """
    torch.library.register_fake("e3torch_gate::forward")(_fake_forward)
    torch.library.register_fake("e3torch_gate::backward")(_fake_backward)
    torch.library.register_fake("e3torch_gate::double_backward")(_fake_double_backward)
    torch.library.register_autograd("e3torch_gate::forward", _backward_forward, setup_context=_setup_forward)
    torch.library.register_autograd(
        "e3torch_gate::backward", _backward_backward, setup_context=_setup_backward
    )


def gate(x: torch.Tensor, tab: list[int], scales: list[float], d_out: int) -> torch.Tensor:
    """The gate's output ``(N, d_out)`` through the compiled operator (differentiable to any order).

    Parameters
    ----------
    x : torch.Tensor
        ``(N, d_in)``, CPU, float32 or float64.
    tab, scales : list
        ``Layout.table()`` and ``list(Layout.scales)`` of :func:`encode`.
    d_out : int

    Returns
    -------
    torch.Tensor

    Examples
    --------
    >>> from e3torch._kernels import kernels_available
    >>> layout = encode([1, 1, 3], [(0, torch.tanh)], [(1, torch.sigmoid)], [2], [0, 0, 0])
    >>> if kernels_available("gate"):
    ...     y = gate(torch.zeros(2, 5), layout.table(), list(layout.scales), layout.d_out)
    ...     print(y.shape)
    torch.Size([2, 4])
    """
    return torch.ops.e3torch_gate.forward(x, tab, scales, d_out)
