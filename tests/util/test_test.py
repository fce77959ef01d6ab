import functools
import random

import e3nn.o3
import e3nn.util.test as etest
import pytest
import torch

from e3torch.o3 import Irreps
from e3torch.util.test import (
    assert_auto_jitable,
    assert_equivariant,
    assert_normalized,
    assert_torch_compile,
    equivariance_error,
    format_equivariance_error,
    random_irreps,
    set_random_seeds,
)

F64 = torch.float64


def _norm_scale(x: torch.Tensor) -> torch.Tensor:
    return x * x.norm(dim=-1, keepdim=True)


class VectorModule(torch.nn.Module):
    """A normalized linear mix of mul vectors (mul x 1o -> mul x 1o)."""

    def __init__(self, mul: int = 2) -> None:
        super().__init__()
        self.mul = mul
        self.irreps_in = Irreps(f"{mul}x1o")
        self.irreps_out = Irreps(f"{mul}x1o")
        self.weight = torch.nn.Parameter(torch.randn(mul, mul))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v = x.reshape(x.shape[:-1] + (self.mul, 3))
        v = torch.einsum("uv,...vi->...ui", self.weight, v) / self.mul**0.5
        return v.reshape(x.shape)


def test_equivariant_function_passes() -> None:
    x = torch.randn(10, 3, dtype=F64)
    errors = assert_equivariant(_norm_scale, [x], irreps_in="1o", irreps_out="1o", ntrials=3)
    assert set(errors) == {(0, False), (1, False)}
    assert all(v.shape == (1,) and float(v.max()) < 1e-12 for v in errors.values())


def test_broken_function_fails() -> None:
    x = torch.randn(10, 3, dtype=F64)
    with pytest.raises(AssertionError, match="Largest componentwise equivariance error was too large for"):
        assert_equivariant(lambda v: v.abs(), [x], irreps_in="1o", irreps_out="1o")
    # a non-equivariant map that is invariant under inversion only
    with pytest.raises(AssertionError, match="parity_k=0"):
        assert_equivariant(lambda v: v[..., [1, 0, 2]], [x], irreps_in="1o", irreps_out="1o")


def test_parity_is_tested() -> None:
    a, b = torch.randn(6, 3, dtype=F64), torch.randn(6, 3, dtype=F64)
    cross = lambda u, v: torch.cross(u, v, dim=-1)  # noqa: E731
    errors = equivariance_error(cross, [a, b], irreps_in=["1o", "1o"], irreps_out=["1o"])
    assert float(errors[(0, False)].max()) < 1e-12
    assert float(errors[(1, False)].max()) > 1e-3
    assert_equivariant(cross, [a, b], irreps_in=["1o", "1o"], irreps_out=["1e"])
    assert set(equivariance_error(cross, [a, b], ["1o", "1o"], ["1o"], do_parity=False)) == {(0, False)}
    with pytest.raises(AssertionError):
        assert_equivariant(cross, [a, b], irreps_in=["1o", "1o"], irreps_out=["1o"])


def test_cartesian_points_and_none() -> None:
    pos = torch.randn(7, 3, dtype=F64)
    center = lambda p: p - p.mean(0)  # noqa: E731
    errors = assert_equivariant(center, [pos], irreps_in=["cartesian_points"], irreps_out=["1o"])
    assert set(errors) == {(0, False), (0, True), (1, False), (1, True)}
    errors = equivariance_error(center, [pos], irreps_in=["cartesian_points"], irreps_out=["cartesian_points"])
    assert float(errors[(0, False)].max()) < 1e-12 and float(errors[(0, True)].max()) > 1e-3
    assert set(equivariance_error(center, [pos], ["cartesian_points"], ["1o"], do_translation=False)) == {
        (0, False),
        (1, False),
    }
    # None: passed untouched on input; outputs must be invariant
    scale = lambda p, c: (p * c, p.norm(dim=-1) * c)  # noqa: E731
    assert_equivariant(scale, [pos, 2.0], irreps_in=["cartesian_points", None], irreps_out=["1o", None],
                       do_translation=False)
    errors = equivariance_error(lambda p: p[:, 0], [pos], irreps_in=["1o"], irreps_out=[None])
    assert float(errors[(0, False)].max()) > 1e-3


def test_multiple_outputs_and_keys_match_e3nn() -> None:
    a, s = torch.randn(5, 3, dtype=F64), torch.randn(5, 2, dtype=F64)

    def f(v: torch.Tensor, t: torch.Tensor):
        return v * t[:, :1], t.sum(-1, keepdim=True) + v.norm(dim=-1, keepdim=True), v.abs()

    ins, outs = ["1o", "2x0e"], ["1o", "0e", "1o"]
    ours = equivariance_error(f, [a, s], ins, outs, ntrials=2)
    theirs = etest.equivariance_error(f, [a, s], [e3nn.o3.Irreps(i) for i in ins], [e3nn.o3.Irreps(o) for o in outs])
    assert set(ours) == set(theirs)
    for k in ours:
        assert ours[k].shape == (3,)
        assert float(ours[k][:2].max()) < 1e-12 and float(ours[k][2]) > 1e-3
        assert float(theirs[k][2]) > 1e-3
    line = format_equivariance_error(ours).splitlines()[0]
    assert line.startswith("(parity_k=0, did_translate=False) -> max error=") and line.endswith("in argument 2")


def test_module_attributes_and_random_inputs() -> None:
    module = VectorModule().to(F64)
    errors = assert_equivariant(module, [torch.randn(3, 6, dtype=F64)])
    assert float(max(v.max() for v in errors.values())) < 1e-12
    # random inputs in torch's default dtype (float32): float32 tolerance
    assert_equivariant(VectorModule())


def test_format_matches_e3nn() -> None:
    errors = {(0, False): torch.tensor([1e-3, 2.0, 0.5]), (1, True): torch.tensor([3.25])}
    assert format_equivariance_error(errors) == etest.format_equivariance_error(errors)
    assert format_equivariance_error({(0, False): torch.zeros(0)}) == "(parity_k=0, did_translate=False) -> no outputs"


def test_tolerance() -> None:
    x = torch.randn(4, 3, dtype=F64)
    with pytest.raises(AssertionError, match=r"tolerance 1.0e-20"):
        assert_equivariant(_norm_scale, [x], irreps_in="1o", irreps_out="1o", tolerance=1e-20)
    assert_equivariant(lambda v: v.abs(), [x], irreps_in="1o", irreps_out="1o", tolerance=1e3)


def test_equivariance_errors() -> None:
    x = torch.randn(4, 3, dtype=F64)
    with pytest.raises(ValueError, match="Cannot infer irreps_in for"):
        equivariance_error(_norm_scale, [x])
    with pytest.raises(ValueError, match=r"expected 2 arguments \(irreps_in \[1x1o, 1x1o\]\), got 1"):
        equivariance_error(_norm_scale, [x], ["1o", "1o"], "1o")
    with pytest.raises(ValueError, match=r"expected argument 0 with last dimension 4 \(irreps 1x0e\+1x1o\), got shape \(4, 3\)"):
        equivariance_error(_norm_scale, [x], "0e+1o", "1o")
    with pytest.raises(ValueError, match=r"expected output 0 with last dimension 4"):
        equivariance_error(_norm_scale, [x], "1o", "0e+1o")
    with pytest.raises(ValueError, match=r"expected func to return 2 outputs"):
        equivariance_error(_norm_scale, [x], "1o", ["1o", "1o"])
    with pytest.raises(TypeError, match="expected args_in to be a list or tuple of arguments, got Tensor"):
        equivariance_error(_norm_scale, x, "1o", "1o")
    with pytest.raises(ValueError, match="Random arguments cannot be generated"):
        assert_equivariant(lambda a, b: a, irreps_in=["1o", None], irreps_out=["1o"])
    with pytest.raises(ValueError, match="expected ntrials >= 1, got 0"):
        equivariance_error(_norm_scale, [x], "1o", "1o", ntrials=0)


def test_random_irreps() -> None:
    random.seed(1)
    many = random_irreps(n=200, lmax=2, mul_min=1, mul_max=3, len_min=1, len_max=3)
    assert isinstance(many, list) and len(many) == 200
    kinds = {type(i) for i in many}
    assert kinds == {Irreps, str, list}
    for i in many:
        irreps = Irreps(i)
        assert 1 <= len(irreps) <= 3 and irreps.lmax <= 2
        assert all(1 <= mul <= 3 for mul, _ in irreps)
    clean = random_irreps(n=100, clean=True, allow_empty=False)
    assert all(isinstance(i, Irreps) and i.dim > 0 for i in clean)
    assert any(Irreps(i).dim == 0 for i in random_irreps(n=100, mul_max=1))
    assert isinstance(random_irreps(clean=True), Irreps)
    assert random_irreps(len_max=0, clean=True) == Irreps("")


def test_random_irreps_errors() -> None:
    with pytest.raises(ValueError, match="expected mul_min <= mul_max, got mul_min=3 and mul_max=1"):
        random_irreps(mul_min=3, mul_max=1)
    with pytest.raises(ValueError, match="expected len_min <= len_max, got len_min=2 and len_max=1"):
        random_irreps(len_min=2, len_max=1)
    with pytest.raises(ValueError, match="allow_empty=False needs mul_max >= 1 and len_max >= 1"):
        random_irreps(mul_max=0, allow_empty=False)
    with pytest.raises(ValueError, match="expected lmax to be a non-negative int, got -1"):
        random_irreps(lmax=-1)


def test_assert_normalized() -> None:
    set_random_seeds()
    module = VectorModule(mul=16)
    before = module.weight.detach().clone()
    # the moments over 40 weight draws of a 16-fan-in mix fluctuate by ~0.06
    assert_normalized(module, n_input=1000, n_weight=40, atol=0.25)
    assert torch.equal(module.weight, before)
    assert_normalized(module, normalization="norm", n_input=1000, n_weight=40, atol=0.25)
    with pytest.raises(AssertionError, match="not norm-normalized"):
        assert_normalized(module, normalization="norm", n_input=1000, n_weight=2, weights=[], atol=1e-6)

    class Doubler(torch.nn.Module):
        irreps_in = irreps_out = "1x0e+1x1o"

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return 2 * x

    with pytest.raises(AssertionError, match="outputs are not component-normalized within atol=0.1: output 0"):
        assert_normalized(Doubler(), n_input=1000)
    with pytest.raises(ValueError, match='expected normalization to be "component" or "norm", got \'l2\''):
        assert_normalized(Doubler(), normalization="l2")
    with pytest.raises(ValueError, match="assert_normalized needs Irreps inputs and outputs"):
        assert_normalized(Doubler(), irreps_in=["cartesian_points"])


def test_set_random_seeds() -> None:
    set_random_seeds()
    a = (torch.rand(3), random.random())
    etest.set_random_seeds()
    b = (torch.rand(3), random.random())
    assert torch.equal(a[0], b[0]) and a[1] == b[1]


class _Checked(torch.nn.Module):
    irreps_in = Irreps("1x0e+1x1o")
    irreps_out = Irreps("1x1o")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != 4:
            raise ValueError(f"expected last dimension 4, got {x.shape[-1]}")
        return x[..., :1] * x[..., 1:]


def test_assert_auto_jitable() -> None:
    compiled = assert_auto_jitable(_Checked())
    x = torch.randn(3, 4)
    torch.testing.assert_close(compiled(x), _Checked()(x))

    class Unchecked(_Checked):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x[..., :1] * x[..., 1:4]

    with pytest.raises(AssertionError, match="accepted argument 0 with last dimension 5"):
        assert_auto_jitable(Unchecked())
    assert_auto_jitable(Unchecked(), strict_shapes=False)

    class GraphBreak(_Checked):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if x.sum().item() > 1e9:  # data-dependent Python branch: not capturable in one graph
                return x[..., 1:]
            return x[..., :1] * x[..., 1:]

    with pytest.raises(Exception):
        assert_auto_jitable(GraphBreak())


def test_assert_torch_compile() -> None:
    assert_torch_compile("trace", functools.partial(_Checked), torch.randn(2, 4))
