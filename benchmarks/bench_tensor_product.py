"""Tensor products: e3torch's fused kernels against e3nn 0.6.0 on the workloads of equivariant models.

Cases (float32): fully connected x spherical harmonics; the channelwise ``uvu`` convolution of NequIP/MACE with
per-edge weights (at L = 2 and L = 6); fully connected with one-hot species; elementwise; TensorSquare. Each is
timed forward, forward + backward, and for the convolution also in the force-training pattern: forward, the
gradient of the output (for a given upstream gradient) with respect to the spherical harmonics with
``create_graph=True``, then the backward of that gradient with respect to the features and the weights.

Work: per path ``2 nnz m1 m2`` (``uv*`` modes) or ``2 nnz m1`` (``uu*``) flops for the CG part plus
``2 (weights of the path) d_out`` for the weights, per sample; a pass that computes k operator applications
(forward + backward with three gradients: 4) counts k times that. Bytes: inputs, per-sample weights, output (and
their gradients in the backward passes), float32.
"""

from __future__ import annotations

from collections.abc import Callable

import e3nn.o3
import torch

import e3torch.o3
from benchmarks.harness import Case, Workload

__all__ = ["CASES"]


def _forward_flops(tp: e3nn.o3.TensorProduct) -> float:
    """Flops of one sample of the forward product, counted as described in the module docstring."""
    total = 0.0
    for ins in tp.instructions:
        (m1, ir1), (m2, ir2), (_, ir3) = tp.irreps_in1[ins.i_in1], tp.irreps_in2[ins.i_in2], tp.irreps_out[ins.i_out]
        nnz = int((e3nn.o3.wigner_3j(ir1.l, ir2.l, ir3.l).abs() > 1e-10).sum())
        total += 2 * nnz * (m1 if ins.connection_mode.startswith("uu") else m1 * m2)
        if ins.has_weight:
            total += 2 * torch.Size(ins.path_shape).numel() * ir3.dim
    return total


def _pair(e3nn_tp: e3nn.o3.TensorProduct, ours: torch.nn.Module) -> torch.nn.Module:
    """Give ``ours`` e3nn's parameters (same layout) and check that both compute the same numbers."""
    ours.load_state_dict(e3nn_tp.state_dict(), strict=False)
    return ours


def _check(a: torch.Tensor, b: torch.Tensor, what: str) -> None:
    scale = b.abs().max().clamp_min(1e-6)
    if not ((a - b).abs().max() / scale) < 1e-4:
        raise AssertionError(f"{what}: e3torch and e3nn disagree by {float((a - b).abs().max() / scale):.2e}")


def _grads(fn: Callable[..., torch.Tensor], args: list[torch.Tensor], params: list[torch.Tensor]):  # noqa: ANN202
    cot = None

    def run() -> tuple[torch.Tensor, ...]:
        nonlocal cot
        out = fn(*args)
        if cot is None:
            cot = torch.randn(out.shape, generator=torch.Generator().manual_seed(7))
        return torch.autograd.grad(out, args + params, cot)

    return run


def _workload(
    e3nn_tp: e3nn.o3.TensorProduct,
    ours: torch.nn.Module,
    n: int,
    kind: str,
    per_sample: bool,
    one_hot: bool = False,
) -> Workload:
    g = torch.Generator().manual_seed(0)
    x1 = torch.randn(n, e3nn_tp.irreps_in1.dim, generator=g)
    x2 = torch.randn(n, e3nn_tp.irreps_in2.dim, generator=g)
    if one_hot:  # species attributes
        x2 = torch.nn.functional.one_hot(torch.randint(x2.shape[1], (n,), generator=g), x2.shape[1]).to(x1.dtype)
    w = [torch.randn(n, e3nn_tp.weight_numel, generator=g)] if per_sample else []
    flops = _forward_flops(e3nn_tp) * n
    io = (x1.numel() + x2.numel() + sum(t.numel() for t in w) + n * e3nn_tp.irreps_out.dim) * 4
    _check(ours(x1, x2, *w), e3nn_tp(x1, x2, *w), "forward")
    if kind == "fwd":
        return Workload(e3torch=lambda: ours(x1, x2, *w), e3nn=lambda: e3nn_tp(x1, x2, *w), flops=flops, bytes=io)
    args = [x1.requires_grad_(), x2.requires_grad_()] + [t.requires_grad_() for t in w]
    if kind == "fwd+bwd":
        fns = [
            _grads(m, args, [p for p in m.parameters() if p.requires_grad]) for m in (ours, e3nn_tp)
        ]
        for a, b in zip(fns[0](), fns[1]()):
            _check(a, b, "backward")
        applications = 1 + len(args) + (e3nn_tp.weight_numel > 0 and not per_sample)
        return Workload(e3torch=fns[0], e3nn=fns[1], flops=applications * flops, bytes=2 * io)

    def force(m: torch.nn.Module) -> Callable[[], tuple[torch.Tensor, ...]]:
        g = torch.Generator().manual_seed(3)
        upstream = torch.randn(n, e3nn_tp.irreps_out.dim, generator=g)  # d(energy)/d(output), given
        probe = torch.randn(x2.shape, generator=g)  # d(loss)/d(forces), given

        def run() -> tuple[torch.Tensor, ...]:
            (gx2,) = torch.autograd.grad(m(*args), (x2,), upstream, create_graph=True)  # the "forces"
            return torch.autograd.grad(gx2, (x1, *w), probe)  # backward of the force loss

        return run

    fns = [force(ours), force(e3nn_tp)]
    for a, b in zip(fns[0](), fns[1]()):
        _check(a, b, "double backward")
    return Workload(e3torch=fns[0], e3nn=fns[1], flops=4 * flops, bytes=3 * io)


def _fully_connected_sh() -> tuple[e3nn.o3.TensorProduct, torch.nn.Module]:
    args = ("32x0e+32x1o+32x2e", "1x0e+1x1o+1x2e", "32x0e+32x1o+32x2e")
    ref = e3nn.o3.FullyConnectedTensorProduct(*args)
    return ref, _pair(ref, e3torch.o3.FullyConnectedTensorProduct(*args))


def _species() -> tuple[e3nn.o3.TensorProduct, torch.nn.Module]:
    args = ("128x0e+128x1o+128x2e", "10x0e", "128x0e+128x1o+128x2e")
    ref = e3nn.o3.FullyConnectedTensorProduct(*args)
    return ref, _pair(ref, e3torch.o3.FullyConnectedTensorProduct(*args))


def _convolution(irreps_in: str, irreps_sh: str, lmax: int) -> tuple[e3nn.o3.TensorProduct, torch.nn.Module]:
    """NequIP's channelwise convolution: one ``uvu`` path per allowed (ir1, ir2 -> ir_out), l_out <= lmax."""
    irreps_in, irreps_sh = e3nn.o3.Irreps(irreps_in), e3nn.o3.Irreps(irreps_sh)
    irreps_out, instructions = [], []
    for i1, (mul, ir1) in enumerate(irreps_in):
        for i2, (_, ir2) in enumerate(irreps_sh):
            for ir_out in ir1 * ir2:
                if ir_out.l <= lmax:
                    instructions.append((i1, i2, len(irreps_out), "uvu", True))
                    irreps_out.append((mul, ir_out))
    kwargs = {"shared_weights": False, "internal_weights": False}
    ref = e3nn.o3.TensorProduct(irreps_in, irreps_sh, e3nn.o3.Irreps(irreps_out), instructions, **kwargs)
    ours = e3torch.o3.TensorProduct(str(irreps_in), str(irreps_sh), str(e3nn.o3.Irreps(irreps_out)), instructions, **kwargs)
    return ref, ours


def _elementwise() -> tuple[e3nn.o3.TensorProduct, torch.nn.Module]:
    irreps = "64x0e+64x1o+64x2e"
    ref = e3nn.o3.ElementwiseTensorProduct(irreps, irreps)
    return ref, _pair(ref, e3torch.o3.ElementwiseTensorProduct(irreps, irreps))


def _square() -> tuple[e3nn.o3.TensorProduct, torch.nn.Module]:
    args = ("16x0e+16x1o+16x2e", "32x0e+32x1o+32x2e")
    ref = e3nn.o3.TensorSquare(*args)
    ours = _pair(ref, e3torch.o3.TensorSquare(*args))

    class Square(torch.nn.Module):  # TensorSquare takes one input; the workloads pass two equal ones
        def __init__(self, tp: torch.nn.Module) -> None:
            super().__init__()
            self.tp = tp

        def forward(self, x: torch.Tensor, _: torch.Tensor) -> torch.Tensor:
            return self.tp(x)

    return Square(ref), Square(ours)

_BUILDERS = {
    "fc_sh2": (_fully_connected_sh, 2048, False),
    "conv_uvu_L2": (lambda: _convolution("64x0e+64x1o+64x2e", "1x0e+1x1o+1x2e+1x3o", 2), 8192, True),
    "conv_uvu_L6": (lambda: _convolution("8x0e+8x1o+8x2e+8x3o+8x4e+8x5o+8x6e", "1x0e+1x1o+1x2e+1x3o+1x4e+1x5o+1x6e", 6), 512, True),  # noqa: E501
    "fc_species": (_species, 2048, False),
    "elementwise": (_elementwise, 4096, False),
    "square": (_square, 2048, False),
}


def _setup(name: str, kind: str) -> Callable[[], Workload]:
    build, n, per_sample = _BUILDERS[name]

    def setup() -> Workload:
        torch.manual_seed(0)
        ref, ours = build()
        if name == "square":
            return _square_workload(ref, ours, n, kind)
        return _workload(ref, ours, n, kind, per_sample, one_hot=name == "fc_species")

    return setup


def _square_workload(ref: torch.nn.Module, ours: torch.nn.Module, n: int, kind: str) -> Workload:
    tp = ref.tp
    x = torch.randn(n, tp.irreps_in.dim, generator=torch.Generator().manual_seed(0))
    flops = _forward_flops(tp) * n
    io = (x.numel() + n * tp.irreps_out.dim) * 4
    _check(ours(x, x), ref(x, x), "forward")
    if kind == "fwd":
        return Workload(e3torch=lambda: ours(x, x), e3nn=lambda: ref(x, x), flops=flops, bytes=io)
    x.requires_grad_()
    fns = [_grads(lambda a, m=m: m(a, a), [x], list(m.parameters())) for m in (ours, ref)]
    for a, b in zip(fns[0](), fns[1]()):
        _check(a, b, "backward")
    return Workload(e3torch=fns[0], e3nn=fns[1], flops=4 * flops, bytes=2 * io)


_HEAVY = {"conv_uvu_L2": 5}
CASES = [
    Case(f"tp_{name}_{kind}", _setup(name, kind), repeat=_HEAVY.get(name, 10), warmup=1)
    for name in _BUILDERS
    for kind in (("fwd", "fwd+bwd", "force") if name.startswith("conv") else ("fwd", "fwd+bwd"))
]
