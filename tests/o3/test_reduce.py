import e3nn.o3
import pytest
import torch

from e3torch.o3 import Irreps, ReducedTensorProducts
from e3torch.util.test import assert_equivariant

F64 = torch.float64

CASES = [
    ("ij", dict(i="0e+1o", j="1o+0e")),
    ("ij=ji", dict(i="1o")),
    ("ij=ji", dict(i="2x1o")),
    ("ij=-ji", dict(i="2x1o")),
    ("ij=ji", dict(i="1e+1o")),
    ("ijk=jki", dict(i="1o")),
    ("ijk=-jik=jki", dict(i="1o")),
    ("ijk", dict(i="1o", j="1o", k="1o")),
    ("ijk=jik", dict(i="0e+1o", k="1e+2x0e")),
    ("ijk=kji", dict(i="1o", j="0e+1e")),
    ("ijk=-kji", dict(i="1o", j="0e+1e")),
    ("ijkl=jikl=ikjl=ijlk", dict(i="1o+0e")),
    ("ijkl=jikl=klij", dict(i="1o")),
    ("ijkl=-jikl=-ijlk=klij", dict(i="1o")),
    ("ijkl=lkji", dict(i="1o", j="1e")),
    ("i", dict(i="1o+0e+2x1e")),
    ("i", dict(i="1o+0e", filter_ir_out=["0e"])),
    ("ijk", dict(i="1o", j="1o", k="1o", filter_ir_mid=["0e", "1e", "1o"])),
    ("ijk", dict(i="1o", j="1o", k="1o", filter_ir_out=["1o"], filter_ir_mid=["2e", "1o"])),
    ("ij=ji", dict(i="2x1o", eps=0.2)),
]


@pytest.fixture
def float64_default():
    old = torch.get_default_dtype()
    torch.set_default_dtype(F64)
    try:
        yield
    finally:
        torch.set_default_dtype(old)


@pytest.mark.parametrize("formula,kwargs", CASES)
def test_change_of_basis_parity(formula: str, kwargs: dict, float64_default) -> None:
    ours = ReducedTensorProducts(formula, **kwargs)
    theirs = e3nn.o3.ReducedTensorProducts(formula, **kwargs)
    assert str(ours.irreps_out) == str(theirs.irreps_out)
    assert [str(i) for i in ours.irreps_in] == [str(i) for i in theirs.irreps_in]
    assert ours.change_of_basis.dtype == F64
    torch.testing.assert_close(ours.change_of_basis, theirs.change_of_basis, atol=1e-12, rtol=0)
    q = ours.change_of_basis.reshape(ours.irreps_out.dim, -1)
    torch.testing.assert_close(q @ q.T, torch.eye(q.shape[0], dtype=F64), atol=1e-12, rtol=0)


@pytest.mark.parametrize("formula,kwargs", [CASES[3], CASES[8], CASES[12]])
def test_forward_parity_and_gradients(formula: str, kwargs: dict, float64_default) -> None:
    ours = ReducedTensorProducts(formula, **kwargs)
    theirs = e3nn.o3.ReducedTensorProducts(formula, **kwargs)
    xs = [torch.randn(4, ir.dim, dtype=F64, requires_grad=True) for ir in ours.irreps_in]
    a, b = ours(*xs), theirs(*xs)
    torch.testing.assert_close(a, b, atol=1e-10, rtol=0)
    w = torch.randn_like(a)
    ga = torch.autograd.grad((a * w).sum(), xs)
    gb = torch.autograd.grad((b * w).sum(), xs)
    for g1, g2 in zip(ga, gb):
        torch.testing.assert_close(g1, g2, atol=1e-10, rtol=0)


def test_symmetry_and_equivariance(float64_default) -> None:
    tp = ReducedTensorProducts("ijk=-jik", i="1o", k="0e+1e")
    x, y, z = torch.randn(3, 3, dtype=F64), torch.randn(3, 3, dtype=F64), torch.randn(3, 4, dtype=F64)
    torch.testing.assert_close(tp(x, y, z), -tp(y, x, z), atol=1e-12, rtol=0)
    assert_equivariant(tp, [x, y, z])
    q = tp.change_of_basis
    torch.testing.assert_close(q, -q.transpose(1, 2), atol=1e-12, rtol=0)


def test_module_api() -> None:
    tp = ReducedTensorProducts("ij=ji", i="1o")
    assert tp.change_of_basis.dtype == torch.get_default_dtype()
    assert list(tp.state_dict()) == ["change_of_basis"]
    assert tp.irreps_out == Irreps("0e+2e") and tp.irreps_in == [Irreps("1o"), Irreps("1o")]
    assert repr(tp) == "ReducedTensorProducts(\n    in: 1x1o times 1x1o\n    out: 1x0e+1x2e\n)"
    assert tp.plan.indices == "ij" and tp.plan.formula == "ij=ji"
    assert tp(torch.randn(3), torch.randn(3)).shape == (6,)
    assert tp(torch.randn(2, 1, 3), torch.randn(5, 3)).shape == (2, 5, 6)
    # the buffer is a private copy: the cache is not affected by in-place edits
    tp.change_of_basis.zero_()
    assert ReducedTensorProducts("ij=ji", i="1o").change_of_basis.abs().sum() > 0


def test_loads_e3nn_state_dict() -> None:
    theirs = e3nn.o3.ReducedTensorProducts("ij=ji", i="1o")
    ours = ReducedTensorProducts("ij=ji", i="1o")
    ours.change_of_basis.zero_()
    ours.load_state_dict(theirs.state_dict())
    torch.testing.assert_close(ours.change_of_basis, theirs.change_of_basis)
    with pytest.raises(RuntimeError, match="Unexpected key"):
        ours.load_state_dict({**ours.state_dict(), "other": torch.zeros(1)})


def test_torch_compile_fullgraph() -> None:
    tp = ReducedTensorProducts("ijk=jik", i="1o", k="0e")
    compiled = torch.compile(tp, fullgraph=True, backend="eager")
    x, y, z = torch.randn(2, 3), torch.randn(2, 3), torch.randn(2, 1)
    torch.testing.assert_close(compiled(x, y, z), tp(x, y, z))


def test_gradcheck() -> None:
    tp = ReducedTensorProducts("ij=-ji", i="0e+1o").to(F64)
    x = torch.randn(1, 4, dtype=F64, requires_grad=True)
    y = torch.randn(1, 4, dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(tp, (x, y))
    assert torch.autograd.gradgradcheck(tp, (x, y))


def test_errors() -> None:
    with pytest.raises(ValueError, match="index j has no irreps associated to it"):
        ReducedTensorProducts("ij", i="1o")
    with pytest.raises(ValueError, match="irreps of i and j should be the same"):
        ReducedTensorProducts("ij=ji", i="1o", j="1e")
    with pytest.raises(ValueError, match="index k has an irreps but does not appear in the formula"):
        ReducedTensorProducts("ij", i="1o", j="1o", k="1o")
    with pytest.raises(ValueError, match=r"filter_ir_out \(=0e\) must be an iterable of Irrep"):
        ReducedTensorProducts("ij=ji", i="1o", filter_ir_out="0e")
    with pytest.raises(ValueError, match="must be an iterable of Irrep, got an Irreps entry"):
        ReducedTensorProducts("ij=ji", i="1o", filter_ir_out=[Irreps("0e")])
    with pytest.raises(ValueError, match="has no output irreps"):
        ReducedTensorProducts("ij=ji", i="1o", filter_ir_out=["1e"])
    with pytest.raises(ValueError, match="has no output irreps"):
        ReducedTensorProducts("ij=ji", i="1o", eps=0.5)
    with pytest.raises(ValueError, match="expected a formula with at least one index"):
        ReducedTensorProducts("")
    with pytest.raises(ValueError, match="jk is not a permutation of ij"):
        ReducedTensorProducts("ij=jk", i="1o")
    with pytest.raises(TypeError, match="expected formula to be a str, got int"):
        ReducedTensorProducts(3)
    tp = ReducedTensorProducts("ij=ji", i="1o")
    with pytest.raises(ValueError, match=r"expected 2 inputs \(irreps 1x1o times 1x1o\), got 1"):
        tp(torch.randn(3))
    with pytest.raises(ValueError, match=r"expected input 1 with last dimension 3 \(irreps 1x1o\), got shape \(4,\)"):
        tp(torch.randn(3), torch.randn(4))
