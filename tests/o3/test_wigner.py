"""Tests of the Wigner 3j symbols, Wigner D matrices, generators and change of basis."""

from __future__ import annotations

import itertools

import e3nn.o3
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from e3torch import o3

F64 = torch.float64


def _triples(lmax: int) -> list[tuple[int, int, int]]:
    return [
        t for t in itertools.product(range(lmax + 1), repeat=3) if abs(t[0] - t[1]) <= t[2] <= t[0] + t[1]
    ]


def _close(a: torch.Tensor, b: torch.Tensor, atol: float = 1e-10) -> None:
    torch.testing.assert_close(a, b, atol=atol, rtol=0)


# --- wigner_3j ---


@pytest.mark.slow  # e3nn itself takes ~8 s to produce its tables
def test_wigner_3j_matches_e3nn_for_all_tabulated_triples() -> None:
    for l1, l2, l3 in _triples(6):
        _close(o3.wigner_3j(l1, l2, l3, dtype=F64), e3nn.o3.wigner_3j(l1, l2, l3, dtype=F64))


def test_wigner_3j_shape_norm_dtype_device() -> None:
    C = o3.wigner_3j(2, 3, 4, dtype=F64)
    assert C.shape == (5, 7, 9)
    _close(C.norm(), torch.tensor(1.0, dtype=F64), atol=1e-14)
    assert o3.wigner_3j(1, 1, 1).dtype == torch.get_default_dtype()
    assert o3.wigner_3j(1, 1, 1, dtype=torch.float32, device="cpu").dtype == torch.float32
    assert o3.wigner_3j(0, 0, 0, dtype=F64).item() == 1.0


def test_wigner_3j_returns_a_fresh_copy() -> None:
    C = o3.wigner_3j(1, 1, 2, dtype=F64)
    C.zero_()
    assert o3.wigner_3j(1, 1, 2, dtype=F64).norm() > 0.5


@pytest.mark.parametrize("ls", [(5, 5, 10), (7, 4, 9), (10, 10, 10), (10, 3, 8), (12, 11, 1)])
def test_wigner_3j_invariant_for_large_degrees(ls: tuple[int, int, int]) -> None:
    C = o3.wigner_3j(*ls, dtype=F64)
    _close(C.norm(), torch.tensor(1.0, dtype=F64), atol=1e-13)
    torch.manual_seed(0)
    a, b, c = o3.rand_angles(dtype=F64)
    D1, D2, D3 = (o3.wigner_D(l, a, b, c) for l in ls)
    rotated = torch.einsum("ijk,il,jm,kn->lmn", C, D1, D2, D3)
    _close(rotated, C, atol=1e-12)


@pytest.mark.parametrize("ls", [(1, 1, 1), (1, 2, 2), (2, 3, 4), (4, 5, 3), (3, 7, 10), (10, 9, 10)])
def test_wigner_3j_permutation_symmetry(ls: tuple[int, int, int]) -> None:
    C = o3.wigner_3j(*ls, dtype=F64)
    for perm in itertools.permutations(range(3)):
        odd = perm in [(0, 2, 1), (1, 0, 2), (2, 1, 0)]
        sign = (-1) ** sum(ls) if odd else 1
        C_perm = o3.wigner_3j(*(ls[i] for i in perm), dtype=F64)
        _close(C_perm.permute(*(perm.index(i) for i in range(3))), sign * C, atol=1e-14)


@st.composite
def _triple(draw: st.DrawFn, lmax: int = 10) -> tuple[int, int, int]:
    l1 = draw(st.integers(0, lmax))
    l2 = draw(st.integers(0, lmax))
    l3 = draw(st.integers(abs(l1 - l2), min(l1 + l2, lmax)))
    return l1, l2, l3


@settings(max_examples=20, deadline=None)
@given(ls=_triple(), seed=st.integers(0, 2**16))
def test_wigner_3j_invariant_random_triples(ls: tuple[int, int, int], seed: int) -> None:
    C = o3.wigner_3j(*ls, dtype=F64)
    _close(C.norm(), torch.tensor(1.0, dtype=F64), atol=1e-13)
    torch.manual_seed(seed)
    a, b, c = o3.rand_angles(dtype=F64)
    rotated = torch.einsum("ijk,il,jm,kn->lmn", C, *(o3.wigner_D(l, a, b, c) for l in ls))
    _close(rotated, C, atol=1e-12)
    swapped = o3.wigner_3j(ls[1], ls[0], ls[2], dtype=F64).transpose(0, 1)
    _close(swapped, (-1) ** sum(ls) * C, atol=1e-14)


def test_wigner_3j_errors() -> None:
    with pytest.raises(ValueError, match=r"wigner_3j\(1, 1, 3\): expected degrees satisfying the triangle"):
        o3.wigner_3j(1, 1, 3)
    with pytest.raises(ValueError, match=r"wigner_3j\(4, 1, 2\).*got \|4 - 1\| = 3"):
        o3.wigner_3j(4, 1, 2)
    with pytest.raises(ValueError, match="expected l2 >= 0, got l2=-1"):
        o3.wigner_3j(1, -1, 1)
    with pytest.raises(TypeError, match=r"expected l1 to be an int, got float 1\.0"):
        o3.wigner_3j(1.0, 1, 1)
    with pytest.raises(TypeError, match="expected l3 to be an int, got bool"):
        o3.wigner_3j(1, 1, True)


# --- wigner_D ---


@pytest.fixture
def default_float64():
    """e3nn builds its generators in the default dtype: make it float64 for the float64 oracle."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(F64)
    yield
    torch.set_default_dtype(old)


def test_wigner_D_matches_e3nn(default_float64: None) -> None:
    torch.manual_seed(0)
    a, b, c = o3.rand_angles(20, dtype=F64)
    for l in range(9):
        _close(o3.wigner_D(l, a, b, c), e3nn.o3.wigner_D(l, a, b, c))


def test_wigner_D_l1_is_the_rotation_matrix() -> None:
    torch.manual_seed(1)
    a, b, c = o3.rand_angles(50, dtype=F64)
    _close(o3.wigner_D(1, a, b, c), o3.angles_to_matrix(a, b, c), atol=1e-14)


@pytest.mark.parametrize("l", [0, 1, 2, 5, 9, 12, 16])
def test_wigner_D_group_law_orthogonality_inverse(l: int) -> None:
    torch.manual_seed(l)
    g1 = o3.rand_angles(8, dtype=F64)
    g2 = o3.rand_angles(8, dtype=F64)
    D1, D2 = o3.wigner_D(l, *g1), o3.wigner_D(l, *g2)
    _close(o3.wigner_D(l, *o3.compose_angles(*g1, *g2)), D1 @ D2, atol=1e-11)
    eye = torch.eye(2 * l + 1, dtype=F64).expand_as(D1)
    _close(D1 @ D1.transpose(-1, -2), eye, atol=1e-12)
    _close(o3.wigner_D(l, *o3.inverse_angles(*g1)), D1.transpose(-1, -2), atol=1e-12)
    _close(o3.wigner_D(l, *o3.identity_angles(3, dtype=F64)), eye[:3], atol=1e-14)


@pytest.mark.parametrize("l", [1, 3, 6])
def test_wigner_D_is_the_exponential_of_the_generators(l: int, default_float64: None) -> None:
    t = torch.tensor(0.7, dtype=F64)
    G = o3.so3_generators(l).to(F64)
    for k in range(3):
        axis = torch.eye(3, dtype=F64)[k]
        D = o3.wigner_D(l, *o3.axis_angle_to_angles(axis, t))
        _close(D, torch.linalg.matrix_exp(t * G[k]), atol=1e-12)


def test_wigner_D_broadcasting_and_dtypes() -> None:
    z = torch.zeros
    assert o3.wigner_D(2, z(2, 1), z(3), z(1, 1, 1)).shape == (1, 2, 3, 5, 5)
    assert o3.wigner_D(0, z(4), z(4), z(4)).shape == (4, 1, 1)
    assert o3.wigner_D(3, z(()), z(()), z(())).shape == (7, 7)
    x32, x64 = torch.tensor(0.1), torch.tensor(0.2, dtype=F64)
    assert o3.wigner_D(2, x32, x32, x32).dtype == torch.float32
    assert o3.wigner_D(2, x32, x64, x32).dtype == F64
    ints = torch.tensor([0, 1])
    assert o3.wigner_D(1, ints, ints, ints).dtype == torch.get_default_dtype()
    a, b, c = o3.rand_angles(5)
    _close(o3.wigner_D(4, a, b, c), o3.wigner_D(4, a.double(), b.double(), c.double()).float(), atol=1e-5)


def test_wigner_D_gradcheck() -> None:
    torch.manual_seed(2)
    angles = o3.rand_angles(3, dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda *x: o3.wigner_D(3, *x), angles)
    assert torch.autograd.gradgradcheck(lambda *x: o3.wigner_D(2, *x), angles)


def test_wigner_D_first_built_in_inference_mode_still_differentiable() -> None:
    a = torch.tensor([0.3, 0.4], dtype=F64)
    with torch.inference_mode():
        o3.wigner_D(13, a, a, a)  # l = 13 is used nowhere else: this call fills the cache
    b = a.clone().requires_grad_(True)
    o3.wigner_D(13, b, b, b).sum().backward()
    assert b.grad is not None and torch.isfinite(b.grad).all()


def test_wigner_D_compiles_fullgraph() -> None:
    fn = torch.compile(lambda a, b, c: o3.wigner_D(2, a, b, c), fullgraph=True)
    a, b, c = o3.rand_angles(4)
    torch.testing.assert_close(fn(a, b, c), o3.wigner_D(2, a, b, c))


def test_wigner_D_and_3j_export() -> None:
    class Module(torch.nn.Module):
        def forward(self, a: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
            return o3.wigner_D(3, a, b, c) * o3.wigner_3j(1, 1, 2).sum()

    a, b, c = o3.rand_angles(4)
    exported = torch.export.export(Module(), (a, b, c))
    torch.testing.assert_close(exported.module()(a, b, c), Module()(a, b, c))


def test_fake_tensor_tracing_leaves_the_caches_clean() -> None:
    from torch._subclasses.fake_tensor import FakeTensor, FakeTensorMode

    with FakeTensorMode():  # degrees used nowhere else: these calls are the first
        x = torch.rand(3, dtype=F64)
        fakes = [
            o3.wigner_D(14, x, x, x),
            o3.wigner_3j(6, 7, 8, dtype=F64),
            o3.change_basis_real_to_complex(11),
        ]
        fakes.append(o3.so3_generators(9))
    assert all(isinstance(t, FakeTensor) for t in fakes)
    a, b, c = o3.rand_angles(2, dtype=F64)
    real = [o3.wigner_D(14, a, b, c), o3.wigner_3j(6, 7, 8, dtype=F64), o3.change_basis_real_to_complex(11)]
    real.append(o3.so3_generators(9))
    assert all(type(t) is torch.Tensor for t in real)
    _close(real[0] @ real[0].transpose(-1, -2), torch.eye(29, dtype=F64).expand(2, 29, 29), atol=1e-12)
    _close(real[1].norm(), torch.tensor(1.0, dtype=F64), atol=1e-14)


def test_wigner_D_errors() -> None:
    x = torch.tensor(0.0)
    with pytest.raises(TypeError, match=r"expected beta to be a torch\.Tensor, got float"):
        o3.wigner_D(1, x, 0.5, x)
    with pytest.raises(ValueError, match="expected l >= 0, got l=-1"):
        o3.wigner_D(-1, x, x, x)
    with pytest.raises(TypeError, match=r"expected l to be an int, got float 2\.0"):
        o3.wigner_D(2.0, x, x, x)


# --- generators and change of basis ---


def test_generators_match_e3nn(default_float64: None) -> None:
    for l in range(7):
        _close(o3.so3_generators(l), e3nn.o3.so3_generators(l), atol=1e-14)
    for j in (0, 0.5, 1, 1.5, 2, 3.5, 5):
        _close(o3.su2_generators(j), e3nn.o3.su2_generators(j), atol=1e-14)


def test_generators_dtype_follows_default() -> None:
    assert o3.so3_generators(2).dtype == torch.get_default_dtype()
    expected = torch.complex128 if torch.get_default_dtype() == F64 else torch.complex64
    assert o3.su2_generators(1).dtype == expected


@pytest.mark.parametrize("j", [0.5, 1, 1.5, 3, 4.5])
def test_su2_commutation_relations(j: float, default_float64: None) -> None:
    G = o3.su2_generators(j).to(torch.complex128)
    for a, b, c in [(0, 1, 2), (1, 2, 0), (2, 0, 1)]:
        _close(G[a] @ G[b] - G[b] @ G[a], G[c], atol=1e-13)


@pytest.mark.parametrize("l", [1, 2, 4, 7])
def test_so3_generators_real_antisymmetric_and_commute(l: int, default_float64: None) -> None:
    G = o3.so3_generators(l).to(F64)
    _close(G, -G.transpose(-1, -2), atol=0)
    for a, b, c in [(0, 1, 2), (1, 2, 0), (2, 0, 1)]:
        _close(G[a] @ G[b] - G[b] @ G[a], G[c], atol=1e-12)


def test_change_basis_matches_e3nn_and_is_unitary() -> None:
    for l in range(8):
        Q = o3.change_basis_real_to_complex(l, dtype=F64)
        assert Q.dtype == torch.complex128
        _close(Q, e3nn.o3.change_basis_real_to_complex(l, dtype=F64), atol=0)
        _close(Q.conj().T @ Q, torch.eye(2 * l + 1, dtype=Q.dtype), atol=1e-15)
    assert o3.change_basis_real_to_complex(2, dtype=torch.float32).dtype == torch.complex64
    assert o3.change_basis_real_to_complex(2, dtype=torch.complex128).dtype == torch.complex128


def test_change_basis_relates_generators(default_float64: None) -> None:
    for l in range(5):
        Q = o3.change_basis_real_to_complex(l, dtype=F64)
        G = o3.su2_generators(l).to(torch.complex128)
        _close((Q.conj().T @ G @ Q).real, o3.so3_generators(l).to(F64), atol=1e-14)


def test_generator_and_basis_errors() -> None:
    with pytest.raises(TypeError, match="expected dtype float32, float64, complex64 or complex128"):
        o3.change_basis_real_to_complex(1, dtype=torch.int64)
    with pytest.raises(ValueError, match="expected l >= 0, got l=-2"):
        o3.change_basis_real_to_complex(-2)
    with pytest.raises(TypeError, match=r"expected j to be an int or a half-integer float, got float 0\.3"):
        o3.su2_generators(0.3)
    with pytest.raises(ValueError, match=r"expected j >= 0, got j=-0\.5"):
        o3.su2_generators(-0.5)
    with pytest.raises(TypeError, match="expected l to be an int, got str"):
        o3.so3_generators("1")
