"""Batch (or instance) normalization of a direct sum of irreps: :class:`BatchNorm`.

Every copy of every irrep is divided by the root mean square of its norm (statistics over the batch, or over
the sample for instance normalization); ``0e`` scalars are centred first. The norm of an irrep copy is
invariant under rotations, so the layer is equivariant. Numbers, parameters, buffers and repr are those of
e3nn 0.6.0.

Execution plan: e3nn loops over the terms of ``irreps`` in Python. Here, for CPU float32/float64 inputs and
when the C++ kernels of the ``"batchnorm"`` family are available, training (``reduce="mean"``, no
``instance``) and eval with autograd recording call the fused operator of :mod:`e3torch._kernels._batchnorm_ops`
(eval inference without gradients is one ``addcmul`` on the pure path, as fast): one pass reduces
per-thread column sums into the batch statistics, a second writes the output once; its backward is two passes
as well. The running statistics are then updated from the returned batch statistics with a few channel-sized
ops. ``reduce="max"`` (training) and ``instance=True`` stay on the pure-torch path below, which is also the
fallback and the tests' oracle.

Pure-torch path: the statistics of all components come from one ``var_mean`` over the batch; a per-component
second moment (centred for scalars) is reduced to one number per irrep copy with a few ops per distinct ``l``;
the output is one ``addcmul`` (``x * scale + shift``) with per-component scale and shift vectors. Only
``reduce="max"`` needs per-sample norms (one square and a few ops per ``l``).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable

import torch

from e3torch import _kernels
from e3torch._kernels import _batchnorm_ops
from e3torch.o3._irreps import Irrep, Irreps

__all__ = ["BatchNorm"]

_SCALAR = Irrep(0, 1)


@dataclasses.dataclass(frozen=True)
class _DGroup:
    """All components of the irrep copies with one dimension ``d``: a slice when contiguous, else an index."""

    d: int
    start: int  # slice of the components when contiguous (index is None)
    stop: int
    index: tuple[int, ...] | None  # otherwise: the component indices, copy by copy


@dataclasses.dataclass(frozen=True)
class _BNPlan:
    dim: int
    num_channels: int
    groups: tuple[_DGroup, ...]
    channel_order: tuple[int, ...] | None  # permutation from group order to channel order (None: identity)
    comp_channel: tuple[int, ...]  # channel of each component
    scalar_cols: tuple[int, ...]  # components of the 0e copies, in channel order
    scalar_channels: tuple[int, ...]  # their channels


def _make_plan(irreps: Irreps) -> _BNPlan:
    comp_channel: list[int] = []
    scalar_cols, scalar_channels = [], []
    by_d: dict[int, list[tuple[int, int, int]]] = {}  # d -> [(start, stop, first channel)]
    pos, ch = 0, 0
    for mul, ir in irreps:
        for u in range(mul):
            comp_channel += [ch + u] * ir.dim
        if ir == _SCALAR:
            scalar_cols += range(pos, pos + mul)
            scalar_channels += range(ch, ch + mul)
        if mul > 0:
            by_d.setdefault(ir.dim, []).append((pos, pos + mul * ir.dim, ch))
        pos, ch = pos + mul * ir.dim, ch + mul
    groups, order = [], []
    for d, blocks in sorted(by_d.items()):
        for start, stop, first in blocks:
            order += range(first, first + (stop - start) // d)
        if len(blocks) == 1 or all(b[1] == c[0] for b, c in itertools.pairwise(blocks)):
            groups.append(_DGroup(d, blocks[0][0], blocks[-1][1], None))
        else:
            groups.append(_DGroup(d, 0, 0, tuple(k for start, stop, _ in blocks for k in range(start, stop))))
    inverse = [0] * ch
    for position, channel in enumerate(order):
        inverse[channel] = position
    channel_order = None if order == list(range(ch)) else tuple(inverse)
    return _BNPlan(
        pos, ch, tuple(groups), channel_order, tuple(comp_channel), tuple(scalar_cols), tuple(scalar_channels)
    )


def _channels(bn: BatchNorm, comp: torch.Tensor, total: bool = False) -> torch.Tensor:
    """``(..., dim) -> (..., num_irreps)``: mean (component normalization) or sum of ``comp`` over each copy.

    ``total=True``: always the sum.
    """
    mean = bn.normalization == "component" and not total
    parts = []
    for k, g in enumerate(bn.plan.groups):
        x = (
            comp[..., g.start : g.stop]
            if g.index is None
            else comp.index_select(-1, getattr(bn, f"_group_index_{k}"))
        )
        if g.d > 1:
            x = x.unflatten(-1, (-1, g.d))
            x = x.mean(-1) if mean else x.sum(-1)
        parts.append(x)
    if not parts:
        return comp.new_zeros(comp.shape[:-1] + (0,))
    out = torch.cat(parts, dim=-1) if len(parts) > 1 else parts[0]
    return out if bn.plan.channel_order is None else out.index_select(-1, bn._channel_order)


def _scalar_full(bn: BatchNorm, values: torch.Tensor) -> torch.Tensor:
    """``(..., num_scalar) -> (..., dim)``: the values on the 0e components, zero elsewhere."""
    full = values.new_zeros(values.shape[:-1] + (bn.plan.dim,))
    return full.index_copy(-1, bn._scalar_cols, values)


def _row_chunks(n: int, width: int) -> int:
    """Rows per chunk for the reductions, on one thread: the temporaries (about 1 MB) stay in cache, at most 4
    chunks. With several threads (each op synchronizes them) or under compilation: one chunk."""
    if torch.compiler.is_compiling() or torch.get_num_threads() > 1:  # (this order: compilable)
        return max(n, 1)
    return max(256, 2 ** round(math.log2(2**18 / max(1, width))), -(-n // 4))


def _chunked_sum(n: int, rows: int, term: Callable[[int, int], torch.Tensor]) -> torch.Tensor:
    """``sum(term(a, b) for each chunk [a, b) of the rows)``, each term a ``(dim,)`` column sum."""
    total = None
    for start in range(0, n, rows) if n > rows else [0]:
        part = term(start, min(n, start + rows))
        total = part if total is None else total + part
    return total


def _centre(bn: BatchNorm, x: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """Means of the 0e components of ``x`` ``(n, dim)``, and as a ``(dim,)`` vector (zero elsewhere)."""
    if not bn.plan.scalar_cols:
        return None, None
    mean_s = x.sum(0).index_select(0, bn._scalar_cols) / x.shape[0]
    return mean_s, _scalar_full(bn, mean_s)


def _scale(bn: BatchNorm, field: torch.Tensor, weight: torch.Tensor | None) -> torch.Tensor:
    """Per-component scale ``weight / sqrt(field + eps)`` of each copy, ``(dim,)``."""
    scale = (field + bn.eps).pow(-0.5)
    return (scale if weight is None else scale * weight).index_select(0, bn._comp_channel)


class _BatchNormTrain(torch.autograd.Function):
    """Training-mode batch normalization (``reduce="mean"``) with a closed-form backward.

    Forward: the column sums, the centred second moments (on one thread by chunks of rows whose temporaries
    stay in cache) and one ``addcmul``; backward: two column sums (chunked likewise) and two ``addcmul``.
    Autograd through the plain formula takes about nine full passes each way. Under ``create_graph=True`` the
    backward recomputes the statistics with differentiable ops, so that the formula itself is differentiated
    (double backward).
    """

    @staticmethod
    def forward(ctx, x, weight, bias, bn):  # type: ignore[no-untyped-def, override]
        n, dim = x.shape
        mean_s, mean = _centre(bn, x)
        rows = _row_chunks(n, dim)
        centred = (lambda a, b: x[a:b]) if mean is None else (lambda a, b: x[a:b] - mean)
        field = _channels(bn, _chunked_sum(n, rows, lambda a, b: centred(a, b).pow(2).sum(0)) / n)
        scale = _scale(bn, field, weight)
        if mean_s is None:
            out = x * scale
        else:
            shift_s = -mean_s * scale.index_select(0, bn._scalar_cols)
            out = torch.addcmul(_scalar_full(bn, shift_s if bias is None else shift_s + bias), x, scale)
        ctx.bn = bn
        ctx.save_for_backward(x, weight, field, scale, mean)
        stats = (mean_s if mean_s is not None else x.new_zeros(0), field)
        ctx.mark_non_differentiable(*stats)
        return out, *stats

    @staticmethod
    def backward(ctx, g, _g_mean, _g_field):  # type: ignore[no-untyped-def, override]
        bn = ctx.bn
        x, weight, field, scale, mean = ctx.saved_tensors
        n, dim = x.shape
        if torch.is_grad_enabled():  # double backward: make the statistics functions of x again
            _, mean = _centre(bn, x)
            xc = x if mean is None else x - mean
            field = _channels(bn, (xc * xc).sum(0) / n)
            scale = _scale(bn, field, weight)
            g_xc = (g * xc).sum(0)
        else:
            rows = _row_chunks(n, dim)
            centred = (lambda a, b: x[a:b]) if mean is None else (lambda a, b: x[a:b] - mean)
            g_xc = _chunked_sum(n, rows, lambda a, b: (g[a:b] * centred(a, b)).sum(0))
        gs = g.sum(0)
        g_scale = _channels(bn, g_xc, total=True)  # dL / d(scale of each copy)
        inv = (field + bn.eps).pow(-0.5)
        w = inv if weight is None else weight * inv
        d_field = g_scale * w * inv * inv * -0.5
        d_comp = d_field.index_select(0, bn._comp_channel) / bn._divisor * (2.0 / n)
        # grad_x = g * scale + (x - mean) * d_comp - [0e] scale * sum(g) / n
        base = -mean * d_comp if mean is not None else None
        if bn.plan.scalar_cols:
            cols = bn._scalar_cols
            centring = _scalar_full(bn, -scale.index_select(0, cols) * gs.index_select(0, cols) / n)
            base = centring if base is None else base + centring
        grad_x = x * d_comp if base is None else torch.addcmul(base, x, d_comp)
        grad_x = torch.addcmul(grad_x, g, scale)
        grad_w = None if weight is None or not ctx.needs_input_grad[1] else g_scale * inv
        grad_b = gs.index_select(0, bn._scalar_cols) if ctx.needs_input_grad[2] else None
        return grad_x, grad_w, grad_b, None


class BatchNorm(torch.nn.Module):
    r"""Batch normalization for orthonormal representations (e3nn 0.6.0 semantics).

    Parameters
    ----------
    irreps : Irreps or str
        Representation of the input.
    eps : float
        Added to the second moment before the inverse square root.
    momentum : float
        Weight of the new batch statistics in the running averages.
    affine : bool
        Learn a scale per irrep copy (``weight``) and a bias per ``0e`` copy (``bias``).
    reduce : {"mean", "max"}
        How the per-sample norms are reduced over the batch (and extra dimensions).
    instance : bool
        Instance normalization: statistics over the extra dimensions of each sample, no running averages.
    include_bias : bool
        Whether ``affine`` includes the scalar bias.
    normalization : {"component", "norm"}
        Second moment per component (``mean`` over ``2l+1``) or of the norm (``sum``).

    Notes
    -----
    On CPU, for float32/float64 inputs, training with ``reduce="mean"`` and eval with gradients (without
    ``instance``) run
    the fused C++ operators of the ``"batchnorm"`` kernel family (two passes over the data, forward and
    backward; derivatives of any order). Training with ``reduce="max"``, instance normalization, other dtypes
    and devices, and machines where the kernels cannot be built use the pure-torch path, which gives the same
    numbers.

    Examples
    --------
    >>> bn = BatchNorm("4x0e + 2x1o")
    >>> bn
    BatchNorm (4x0e+2x1o, eps=1e-05, momentum=0.1)
    >>> y = bn(torch.randn(100, 10))
    >>> y.shape, abs(y[:, :4].mean().item()) < 1e-6, round(y[:, :4].pow(2).mean().item(), 3)
    (torch.Size([100, 10]), True, 1.0)
    >>> sorted(bn.state_dict())
    ['bias', 'running_mean', 'running_var', 'weight']
    """

    def __init__(
        self,
        irreps: Irreps | str,
        eps: float = 1e-5,
        momentum: float = 0.1,
        affine: bool = True,
        reduce: str = "mean",
        instance: bool = False,
        include_bias: bool = True,
        normalization: str = "component",
    ) -> None:
        super().__init__()
        if reduce not in ("mean", "max"):
            raise ValueError(f"expected reduce 'mean' or 'max', got {reduce!r}")
        if normalization not in ("norm", "component"):
            raise ValueError(f"expected normalization 'norm' or 'component', got {normalization!r}")
        for name, value in (("eps", eps), ("momentum", momentum)):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"expected {name} to be a float, got {value!r} (type {type(value).__name__})")
        if eps < 0:
            raise ValueError(f"expected eps >= 0, got {eps}")
        if not 0 <= momentum <= 1:
            raise ValueError(f"expected momentum in [0, 1], got {momentum}")
        self.irreps = Irreps(irreps)
        self.eps, self.momentum = eps, momentum
        self.affine, self.instance, self.include_bias = affine, instance, include_bias
        self.reduce, self.normalization = reduce, normalization
        self.irs = [(mul, ir.dim, ir == _SCALAR) for mul, ir in self.irreps]
        self.plan = _make_plan(self.irreps)
        num_scalar, num_features = len(self.plan.scalar_cols), self.plan.num_channels

        if instance:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
        else:
            self.register_buffer("running_mean", torch.zeros(num_scalar))
            self.register_buffer("running_var", torch.ones(num_features))
        if affine:
            self.weight = torch.nn.Parameter(torch.ones(num_features))
            if include_bias:
                self.bias = torch.nn.Parameter(torch.zeros(num_scalar))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        long = {"dtype": torch.long}
        self.register_buffer("_comp_channel", torch.tensor(self.plan.comp_channel, **long), persistent=False)
        self.register_buffer("_scalar_cols", torch.tensor(self.plan.scalar_cols, **long), persistent=False)
        order = self.plan.channel_order or ()
        self.register_buffer("_channel_order", torch.tensor(order, **long), persistent=False)
        # divisor of each component's second moment: 2l+1 (component) or 1 (norm); exact in any dtype
        div = [
            float(ir.dim) if normalization == "component" else 1.0
            for mul, ir in self.irreps
            for _ in range(mul * ir.dim)
        ]
        self.register_buffer("_divisor", torch.tensor(div), persistent=False)
        indices = [torch.tensor(g.index or (), **long) for g in self.plan.groups]
        for k, index in enumerate(indices):
            self.register_buffer(f"_group_index_{k}", index, persistent=False)
        # the fused kernels: training with reduce="mean" and eval, without instance normalization
        self._use_kernels = not instance and _kernels.kernels_available("batchnorm")

    def __setstate__(self, state: dict) -> None:
        # A module unpickled in another process loads (or, without a compiler, gives up) the kernels there;
        # one pickled before the kernels existed gets them now.
        super().__setstate__(state)
        wanted = self.__dict__.get("_use_kernels", not self.instance)
        self._use_kernels = bool(wanted) and _kernels.kernels_available("batchnorm")

    def _update_running(self, mean_s: torch.Tensor | None, field: torch.Tensor) -> None:
        """Running statistics: ``(1 - momentum) * running + momentum * batch`` (e3nn's expression; the batch
        second moments are biased, means over the batch)."""
        m = self.momentum
        with torch.no_grad():
            if mean_s is not None:
                self.running_mean.copy_((1 - m) * self.running_mean + m * mean_s.detach())
            self.running_var.copy_((1 - m) * self.running_var + m * field.detach())

    def _kernel_ok(self, x: torch.Tensor) -> bool:
        """Whether the fused operator takes ``x``: kernels built, CPU, float32/float64, one dtype; in eval mode
        only when autograd records (inference without gradients takes the pure path)."""
        if not self._use_kernels or x.device.type != "cpu" or x.dtype not in (torch.float32, torch.float64):
            return False
        if self.training and (self.reduce != "mean" or x.shape[0] == 0):
            return False
        if not self.training and not (
            torch.is_grad_enabled() and (x.requires_grad or any(p.requires_grad for p in self.parameters()))
        ):
            # inference: the pure path is one addcmul with the running statistics, as fast as the operator or
            # faster (measured: 0.24-0.41 ms against 0.44-0.95 ms); with gradients the fused backward wins (3-4x)
            return False
        tensors = [self.weight, getattr(self, "bias", None)]
        if not self.training:
            tensors += [self.running_mean, self.running_var]
        return all(t is None or (t.dtype == x.dtype and t.device.type == "cpu") for t in tensors)

    def __repr__(self) -> str:
        return f"{type(self).__name__} ({self.irreps}, eps={self.eps}, momentum={self.momentum})"

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        """Normalize.

        Parameters
        ----------
        input : torch.Tensor
            ``(batch, ..., irreps.dim)``.

        Returns
        -------
        torch.Tensor
            Same shape.

        Examples
        --------
        >>> BatchNorm("2x1o", instance=True)(torch.randn(3, 7, 6)).shape
        torch.Size([3, 7, 6])
        """
        if not isinstance(input, torch.Tensor):
            raise TypeError(f"expected input to be a torch.Tensor, got {type(input).__name__}")
        plan = self.plan
        if input.dim() < 2 or input.shape[-1] != plan.dim:
            raise ValueError(
                f"expected input of shape (batch, ..., {plan.dim}) (irreps {self.irreps}), "
                f"got shape {tuple(input.shape)}"
            )
        has_scalars = len(plan.scalar_cols) > 0
        bias = getattr(self, "bias", None)
        bias = bias if has_scalars else None
        if self._kernel_ok(input):
            out, mean_s, field = _batchnorm_ops.batch_norm(
                input.reshape(-1, plan.dim), self.weight, bias, self.running_mean, self.running_var,
                self._comp_channel, self._scalar_cols, plan.num_channels, self.normalization == "component",
                self.eps, self.training,
            )  # fmt: skip
            if self.training:
                self._update_running(mean_s if has_scalars else None, field)
            return out.reshape(input.shape)
        x = input.reshape(input.shape[0], -1, plan.dim)  # (B, S, D)
        if self.training and not self.instance and self.reduce == "mean":
            bias = getattr(self, "bias", None) if has_scalars else None
            out, mean_s, field = _BatchNormTrain.apply(x.reshape(-1, plan.dim), self.weight, bias, self)
            self._update_running(mean_s if has_scalars else None, field)
            return out.reshape(input.shape)
        if self.training or self.instance:
            dims = (1,) if self.instance else (0, 1)
            n = x.shape[1] if self.instance else x.shape[0] * x.shape[1]
            mean_s = None
            if (
                has_scalars
            ):  # centre the 0e components (a sum is much faster than mean/var_mean over rows here)
                mean_s = x.sum(dim=dims).index_select(-1, self._scalar_cols) / n
                x = x - _scalar_full(self, mean_s).unsqueeze(-2)
            sq = x * x
            if self.reduce == "mean":
                field = _channels(self, sq.sum(dim=dims) / n)
            else:
                field = _channels(self, sq).amax(1)
                field = field if self.instance else field.mean(0)
            if not self.instance:
                self._update_running(mean_s, field)
            shift_s = bias
        else:
            field = self.running_var
            shift_s = None

        scale = (field + self.eps).pow(-0.5)  # (B, C) or (C,)
        if self.weight is not None:
            scale = scale * self.weight
        scale_full = scale.index_select(-1, self._comp_channel)
        if not (self.training or self.instance) and has_scalars:  # eval: centre with the running mean
            shift_s = -self.running_mean * scale_full.index_select(-1, self._scalar_cols)
            shift_s = shift_s if bias is None else shift_s + bias
        if self.instance:
            scale_full = scale_full.unsqueeze(-2)
        if shift_s is None:
            out = x * scale_full
        else:
            shift_full = _scalar_full(self, shift_s)
            out = torch.addcmul(
                shift_full.unsqueeze(-2) if shift_full.dim() > 1 else shift_full, x, scale_full
            )
        return out.reshape(input.shape)
