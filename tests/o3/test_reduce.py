import e3nn.o3
import pytest
import torch

from e3torch.o3 import Irreps, ReducedTensorProducts
from e3torch.util.test import assert_equivariant

F64 = torch.float64

CASES = [
    ("ij", {"i": "0e+1o", "j": "1o+0e"}),
    ("ij=ji", {"i": "1o"}),
    ("ij=ji", {"i": "2x1o"}),
    ("ij=-ji", {"i": "2x1o"}),
    ("ij=ji", {"i": "1e+1o"}),
    ("ijk=jki", {"i": "1o"}),
    ("ijk=-jik=jki", {"i": "1o"}),
    ("ijk", {"i": "1o", "j": "1o", "k": "1o"}),
    ("ijk=jik", {"i": "0e+1o", "k": "1e+2x0e"}),
    ("ijk=kji", {"i": "1o", "j": "0e+1e"}),
    ("ijk=-kji", {"i": "1o", "j": "0e+1e"}),
    ("ijkl=jikl=ikjl=ijlk", {"i": "1o+0e"}),
    ("ijkl=jikl=klij", {"i": "1o"}),
    ("ijkl=-jikl=-ijlk=klij", {"i": "1o"}),
    ("ijkl=lkji", {"i": "1o", "j": "1e"}),
    ("i", {"i": "1o+0e+2x1e"}),
    ("i", {"i": "1o+0e", "filter_ir_out": ["0e"]}),
    ("ijk", {"i": "1o", "j": "1o", "k": "1o", "filter_ir_mid": ["0e", "1e", "1o"]}),
    ("ijk", {"i": "1o", "j": "1o", "k": "1o", "filter_ir_out": ["1o"], "filter_ir_mid": ["2e", "1o"]}),
    ("ij=ji", {"i": "2x1o", "eps": 0.2}),
    # intermediate filters with symmetries: only the symmetric tensors inside the span of the allowed couplings
    ("ijkl=jikl=ijlk=klij", {"i": "1o", "filter_ir_mid": ["0e", "1o", "1e", "2e"]}),
    ("ijkl=jikl=ijlk=klij", {"i": "0e+1o", "filter_ir_mid": ["0e", "1o", "1e", "2e"]}),
    ("ijk=jik=ikj", {"i": "1o+2e", "filter_ir_mid": ["1o", "2e", "0e", "3o"]}),
    ("ijk=-jik", {"i": "1o+0e", "k": "1o", "filter_ir_mid": ["1e", "1o", "0o"]}),
    ("ijkl=jikl=klij", {"i": "1o", "filter_ir_mid": ["0e", "1o", "2e", "2o"]}),
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


#: more cases for the layout of ``main`` (e3nn's names and order of its tensor products depend on all of it)
LAYOUT_CASES = CASES + [
    ("ijk=jik=ikj", {"i": "1o"}),
    ("ij", {"i": "1o+2e", "j": "1o+1e"}),
    ("ijk", {"i": "0e+1o", "j": "0e+1o", "k": "0e+1o"}),
    ("ijkl=jikl=klij", {"i": "1o"}),
    ("ijkl=jikl=ijlk=klij", {"i": "1o", "filter_ir_out": ["0e", "2e"]}),
    ("ijk=jik", {"i": "1o+0e+1e", "k": "1e+1o+0e"}),
    ("ijk", {"i": "1o", "j": "2e+1o", "k": "2x1o+1e"}),
    ("ijkl=jilk", {"i": "1o+0e", "k": "1o+1e"}),
]


def _layout(module: torch.nn.Module) -> list:
    return [(k, tuple(v.shape)) for k, v in module.state_dict().items()]


@pytest.mark.parametrize("formula,kwargs", LAYOUT_CASES)
def test_state_dict_is_e3nn_s(formula: str, kwargs: dict, float64_default) -> None:
    """Same keys in the same order, same shapes, same values; strict loads both ways; ``main`` computes the same."""
    ours = ReducedTensorProducts(formula, **kwargs)
    theirs = e3nn.o3.ReducedTensorProducts(formula, **kwargs)
    assert _layout(ours) == _layout(theirs)
    a, b = ours.state_dict(), theirs.state_dict()
    for key in a:
        torch.testing.assert_close(a[key], b[key], atol=1e-12, rtol=0, msg=key)
    for name, tp in ours.main.named_children():
        other = getattr(theirs.main, name)
        assert type(tp).__name__ == "TensorProduct"
        assert (str(tp.irreps_in1), str(tp.irreps_in2), str(tp.irreps_out)) == (
            str(other.irreps_in1), str(other.irreps_in2), str(other.irreps_out)
        )
    ours.load_state_dict(theirs.state_dict(), strict=True)
    theirs.load_state_dict(ours.state_dict(), strict=True)
    xs = [torch.randn(3, ir.dim, dtype=F64) for ir in ours.irreps_in]
    torch.testing.assert_close(ours(*xs), theirs(*xs), atol=1e-10, rtol=0)


@pytest.mark.parametrize("formula,kwargs", LAYOUT_CASES)
def test_tree_computes_the_change_of_basis(formula: str, kwargs: dict, float64_default) -> None:
    """The naive path: ``main`` (its tensor products, chain by chain) equals the contraction with the basis."""
    tp = ReducedTensorProducts(formula, **kwargs)
    xs = [torch.randn(4, ir.dim, dtype=F64, requires_grad=True) for ir in tp.irreps_in]
    a, b = tp(*xs), tp.main(*xs)
    torch.testing.assert_close(b, a, atol=1e-10, rtol=0)
    w = torch.randn_like(a)
    for ga, gb in zip(torch.autograd.grad((a * w).sum(), xs), torch.autograd.grad((b * w).sum(), xs)):
        torch.testing.assert_close(gb, ga, atol=1e-10, rtol=0)


@pytest.mark.parametrize("formula,kwargs", [LAYOUT_CASES[k] for k in (1, 5, 11, 17, 23, 24)])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_from_change_of_basis(formula: str, kwargs: dict, dtype: torch.dtype) -> None:
    """Rebuilt from e3nn's change of basis alone (as from a pickle), the module has e3nn's layout."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        theirs = e3nn.o3.ReducedTensorProducts(formula, **kwargs)
        ours = ReducedTensorProducts._from_change_of_basis(
            theirs.irreps_in, theirs.irreps_out, theirs.change_of_basis, "unknown"
        )
    finally:
        torch.set_default_dtype(old)
    assert _layout(ours) == _layout(theirs)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    xs = [torch.randn(2, ir.dim, dtype=dtype) for ir in ours.irreps_in]
    torch.testing.assert_close(ours(*xs), theirs(*xs))
    with pytest.raises(ValueError, match="expected a change of basis of shape"):
        q = theirs.change_of_basis[1:]
        ReducedTensorProducts._from_change_of_basis(theirs.irreps_in, theirs.irreps_out, q, "")


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_e3nn_pickle_translator(dtype: torch.dtype) -> None:
    """The compat translator rebuilds a pickled e3nn module (its ``__dict__``: no formula, ``main`` as code)."""
    from e3torch.compat._pickle import registered

    old = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        theirs = e3nn.o3.ReducedTensorProducts("ijkl=jikl=klij", i="1o")
    finally:
        torch.set_default_dtype(old)
    state = theirs.__getstate__()
    assert not state["_modules"]  # e3nn pickles ``main`` as generated code, not as modules
    ours = registered()["e3torch.o3:ReducedTensorProducts"].build(state, ReducedTensorProducts)
    assert type(ours) is ReducedTensorProducts and ours.change_of_basis.dtype == dtype
    assert _layout(ours) == _layout(theirs)
    theirs.load_state_dict(ours.state_dict(), strict=True)
    xs = [torch.randn(2, 3, dtype=dtype) for _ in range(4)]
    torch.testing.assert_close(ours(*xs), theirs(*xs))


def test_to_moves_the_tree() -> None:
    tp = ReducedTensorProducts("ijk=jik", i="1o", k="1e").to(F64)
    assert {v.dtype for v in tp.state_dict().values() if v.is_floating_point()} == {F64}
    x, y, z = torch.randn(2, 3, dtype=F64), torch.randn(2, 3, dtype=F64), torch.randn(2, 3, dtype=F64)
    # built in float32: both carry float32-rounded constants
    torch.testing.assert_close(tp.main(x, y, z), tp(x, y, z), atol=1e-6, rtol=0)


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
    assert list(tp.state_dict()) == [
        "change_of_basis", "main.tp1.weight", "main.tp1.output_mask", "main.tp0.weight", "main.tp0.output_mask",
        "main.tp0._compiled_main_left_right._w3j_1_1_2",
    ]
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
    ours.load_state_dict(theirs.state_dict(), strict=True)
    torch.testing.assert_close(ours.change_of_basis, theirs.change_of_basis)
    with pytest.raises(RuntimeError, match="Unexpected key"):
        ours.load_state_dict({**ours.state_dict(), "other": torch.zeros(1)})


def test_torch_compile_fullgraph() -> None:
    tp = ReducedTensorProducts("ijk=jik", i="1o", k="0e")
    compiled = torch.compile(tp, fullgraph=True, backend="eager")
    x, y, z = torch.randn(2, 3), torch.randn(2, 3), torch.randn(2, 1)
    torch.testing.assert_close(compiled(x, y, z), tp(x, y, z))


def test_torch_export_batch_dynamic() -> None:
    tp = ReducedTensorProducts("ijk=jik", i="1o", k="1e")
    n = torch.export.Dim("n", min=2)
    xs = tuple(torch.randn(4, 3) for _ in range(3))
    program = torch.export.export(tp, xs, dynamic_shapes={"xs": tuple({0: n} for _ in xs)})
    ys = tuple(torch.randn(7, 3) for _ in range(3))
    torch.testing.assert_close(program.module()(*ys), tp(*ys))


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
