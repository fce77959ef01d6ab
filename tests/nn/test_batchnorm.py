"""nn.BatchNorm: parity with e3nn 0.6.0 in float64 (outputs, gradients, running statistics, state_dict, repr)
in
every mode, fast train path vs generic path, double backward, equivariance, errors, torch.compile."""

from __future__ import annotations

import e3nn.nn
import pytest
import torch

from e3torch import nn
from e3torch.util.test import assert_equivariant

DT = torch.float64
IRREPS = ["2x0e + 3x1o + 2e + 0o + 0e", "3x1o + 2x2e", "4x0e", "1o + 0e + 1o + 2e + 1e"]
MODES = [
    {},
    {"reduce": "max"},
    {"normalization": "norm"},
    {"instance": True},
    {"instance": True, "reduce": "max"},
    {"affine": False},
    {"include_bias": False},
    {"instance": True, "normalization": "norm", "affine": False},
]


def _pair(irreps: str, kw: dict) -> tuple[e3nn.nn.BatchNorm, nn.BatchNorm]:
    theirs = e3nn.nn.BatchNorm(irreps, momentum=0.3, **kw).to(DT)
    ours = nn.BatchNorm(irreps, momentum=0.3, **kw).to(DT)
    with torch.no_grad():
        for p in theirs.parameters():
            p.normal_()
    ours.load_state_dict(theirs.state_dict(), strict=True)
    return theirs, ours


@pytest.mark.parametrize("kw", MODES)
@pytest.mark.parametrize("irreps", IRREPS)
def test_parity_with_e3nn(irreps: str, kw: dict) -> None:
    theirs, ours = _pair(irreps, kw)
    assert repr(ours) == repr(theirs)
    assert {k: v.shape for k, v in ours.state_dict().items()} == {
        k: v.shape for k, v in theirs.state_dict().items()
    }
    assert set(dict(ours.named_parameters())) == set(dict(theirs.named_parameters()))
    assert hasattr(ours, "bias") == hasattr(theirs, "bias")
    for shape in [(7,), (5, 4)]:
        x = (torch.randn(*shape, ours.irreps.dim, dtype=DT) * 2 + 0.5).requires_grad_()
        ours.train(), theirs.train()
        y_ours, y_theirs = ours(x), theirs(x)
        torch.testing.assert_close(y_ours, y_theirs, atol=1e-10, rtol=0)
        g = torch.randn_like(y_ours)
        wrt_ours, wrt_theirs = [x] + list(ours.parameters()), [x] + list(theirs.parameters())
        for a, b in zip(
            torch.autograd.grad(y_ours, wrt_ours, g, allow_unused=True),
            torch.autograd.grad(y_theirs, wrt_theirs, g, allow_unused=True),
        ):
            if a is None or b is None:  # an empty bias (no scalars) is unused in both
                assert (a is None or not a.any()) and (b is None or not b.any())
                continue
            torch.testing.assert_close(a, b, atol=1e-10, rtol=0)
        for key, value in theirs.state_dict().items():
            torch.testing.assert_close(ours.state_dict()[key], value, atol=1e-12, rtol=0)
        ours.eval(), theirs.eval()
        torch.testing.assert_close(ours(x), theirs(x), atol=1e-10, rtol=0)
    theirs.load_state_dict(ours.state_dict(), strict=True)


@pytest.mark.parametrize("kw", [{}, {"affine": False}, {"normalization": "norm"}, {"include_bias": False}])
def test_fast_train_path_gradgrad(kw: dict) -> None:
    bn = nn.BatchNorm("2x0e + 1o + 2e + 0o", **kw).to(DT)
    bn._use_kernels = False  # the pure-torch path (the fused kernels: test_batchnorm_kernel.py)
    with torch.no_grad():
        for p in bn.parameters():
            p.normal_()
    x = torch.randn(6, 2, bn.irreps.dim, dtype=DT, requires_grad=True)
    params = tuple(bn.parameters())
    torch.autograd.gradcheck(lambda x, *p: bn(x), (x,) + params)
    torch.autograd.gradgradcheck(lambda x, *p: bn(x), (x,) + params)


def test_fast_train_path_matches_generic_path() -> None:
    # reduce="max" takes the generic (autograd) path; with one sample per batch row both reductions agree
    a, b = nn.BatchNorm("3x0e + 2x1o", reduce="mean").to(DT), nn.BatchNorm("3x0e + 2x1o", reduce="max").to(DT)
    a._use_kernels = False
    x = torch.randn(9, 1, 9, dtype=DT, requires_grad=True)
    ya, yb = a(x), b(x)
    torch.testing.assert_close(ya, yb, atol=1e-12, rtol=0)
    g = torch.randn_like(ya)
    torch.testing.assert_close(
        torch.autograd.grad(ya, x, g)[0], torch.autograd.grad(yb, x, g)[0], atol=1e-12, rtol=0
    )
    torch.testing.assert_close(a.running_var, b.running_var, atol=1e-12, rtol=0)


def test_statistics() -> None:
    bn = nn.BatchNorm("4x0e + 2x1o").to(DT)
    x = torch.randn(4000, 10, dtype=DT) * 3 + 1
    y = bn(x)
    torch.testing.assert_close(y[:, :4].mean(0), torch.zeros(4, dtype=DT), atol=1e-10, rtol=0)
    torch.testing.assert_close(y[:, :4].pow(2).mean(0), torch.ones(4, dtype=DT), atol=1e-5, rtol=0)
    norms = y[:, 4:].reshape(-1, 2, 3).pow(2).mean(-1).mean(0)
    torch.testing.assert_close(norms, torch.ones(2, dtype=DT), atol=1e-5, rtol=0)


def test_equivariance() -> None:
    for kw in [{}, {"instance": True}, {"reduce": "max"}]:
        bn = nn.BatchNorm("2x0e + 1o + 2e + 0o", **kw).to(DT)
        assert_equivariant(
            bn, [torch.randn(6, 3, bn.irreps.dim, dtype=DT)], irreps_in=bn.irreps, irreps_out=bn.irreps
        )
        bn.eval()
        assert_equivariant(
            bn, [torch.randn(6, bn.irreps.dim, dtype=DT)], irreps_in=bn.irreps, irreps_out=bn.irreps
        )


def test_momentum_and_eval() -> None:
    bn = nn.BatchNorm("1x0e", momentum=0.5).to(DT)
    x = torch.tensor([[1.0], [3.0]], dtype=DT)
    bn(x)
    torch.testing.assert_close(bn.running_mean, torch.tensor([1.0], dtype=DT))  # 0.5 * 0 + 0.5 * 2
    torch.testing.assert_close(bn.running_var, torch.tensor([1.0], dtype=DT))  # 0.5 * 1 + 0.5 * 1
    bn.eval()
    before = bn.running_var.clone()
    bn(torch.randn(5, 1, dtype=DT))
    assert torch.equal(bn.running_var, before)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"reduce": "sum"}, ValueError, "expected reduce 'mean' or 'max', got 'sum'"),
        ({"normalization": "foo"}, ValueError, "expected normalization 'norm' or 'component', got 'foo'"),
        ({"eps": -1.0}, ValueError, "expected eps >= 0, got -1.0"),
        ({"momentum": 2.0}, ValueError, r"expected momentum in \[0, 1\], got 2.0"),
        ({"momentum": "a"}, TypeError, r"expected momentum to be a float, got 'a' \(type str\)"),
    ],
)
def test_constructor_errors(kwargs: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        nn.BatchNorm("2x0e", **kwargs)


def test_forward_errors() -> None:
    bn = nn.BatchNorm("2x0e + 1o")
    with pytest.raises(
        ValueError, match=r"expected input of shape \(batch, ..., 5\) \(irreps 2x0e\+1x1o\), got shape \(5,\)"
    ):
        bn(torch.randn(5))
    with pytest.raises(ValueError, match=r"got shape \(3, 6\)"):
        bn(torch.randn(3, 6))
    with pytest.raises(TypeError, match="expected input to be a torch.Tensor, got list"):
        bn([[0.0] * 5])


def test_compile_fullgraph() -> None:
    bn = nn.BatchNorm("4x0e + 2x1o + 2e")
    ref = nn.BatchNorm("4x0e + 2x1o + 2e")
    x = torch.randn(16, bn.irreps.dim, requires_grad=True)
    compiled = torch.compile(bn, fullgraph=True, dynamic=False)
    y, y_ref = compiled(x), ref(x)
    torch.testing.assert_close(y, y_ref, atol=1e-5, rtol=1e-5)
    (g,) = torch.autograd.grad(y.pow(2).sum(), x)
    (g_ref,) = torch.autograd.grad(y_ref.pow(2).sum(), x)
    torch.testing.assert_close(g, g_ref, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(bn.running_var, ref.running_var, atol=1e-6, rtol=0)


def test_chunked_reductions_match_e3nn(monkeypatch: pytest.MonkeyPatch) -> None:
    # dim 1000, one thread: the reductions run by chunks of 256 rows (4 chunks for 1000 rows)
    monkeypatch.setattr(torch, "get_num_threads", lambda: 1)
    theirs, ours = _pair("300x0e + 100x1o + 80x2e", {})
    ours._use_kernels = False
    x = (torch.randn(1000, 1000, dtype=DT) * 2 + 3).requires_grad_()
    y_ours, y_theirs = ours(x), theirs(x)
    torch.testing.assert_close(y_ours, y_theirs, atol=1e-10, rtol=0)
    g = torch.randn_like(y_ours)
    for a, b in zip(
        torch.autograd.grad(y_ours, [x] + list(ours.parameters()), g),
        torch.autograd.grad(y_theirs, [x] + list(theirs.parameters()), g),
    ):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=0)
    torch.testing.assert_close(ours.running_var, theirs.running_var, atol=1e-12, rtol=0)
