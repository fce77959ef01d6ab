import e3nn.math
import pytest
import torch

from e3torch.math import germinate_formulas, reduce_permutation

CASES = [
    ("ij=ji", dict(i=3)),
    ("ij=-ji", dict(i=3)),
    ("ijk=-jik=jki", dict(i=3)),
    ("ijk=jik", dict(i=2, k=3)),
    ("ijk=-jik", dict(i=3, k=2)),
    ("ijkl=-jikl=klij", dict(i=3)),
    ("ijkl=jikl=klij", dict(i=3)),
    ("ijkl=-jikl=-ijlk", dict(i=2, k=3)),
    ("ijkl=jilk", dict(i=2, k=3)),
    ("ijk=jki", dict(i=3)),
    ("ijk=-jki", dict(i=2)),
    ("ij", dict(i=2, j=3)),
    ("", dict()),
    ("ijkl=-lkji", dict(i=2, j=3)),
    ("ijk=-kji", dict(i=3, j=2)),
    ("ijkl=-jikl=-klij", dict(i=3)),
    ("ijk=-jki=-jik", dict(i=3)),
    ("ijklm=-jiklm=ijlkm=ijkml", dict(i=2, k=3)),
    ("ijkl=-jkli", dict(i=3)),
    ("ijkl=-jikl=-ijlk=-klij", dict(i=3)),
    ("ij=ji=-ji", dict(i=2)),
]


@pytest.mark.parametrize("formula,dims", CASES)
def test_parity(formula: str, dims: dict) -> None:
    ours = germinate_formulas(formula)
    theirs = e3nn.math.germinate_formulas(formula)
    assert ours == theirs
    q1, r1 = reduce_permutation(*ours, dtype=torch.float64, **dims)
    q2, r2 = e3nn.math.reduce_permutation(*theirs, dtype=torch.float64, **dims)
    assert r1 == r2
    assert q1.shape == q2.shape
    torch.testing.assert_close(q1, q2, atol=1e-12, rtol=0)
    # the basis is orthonormal
    flat = q1.reshape(q1.shape[0], q1[0].numel() if q1.shape[0] else 0)
    torch.testing.assert_close(flat @ flat.T, torch.eye(q1.shape[0], dtype=torch.float64), atol=1e-12, rtol=0)


@pytest.mark.parametrize(
    "formulas", [{(1, (0, 1)), (-1, (0, 1))}, {(-1, (1, 0))}, {(1, (1, 0))}, set(), {(1, (1, 0)), (-1, (0, 1))}]
)
def test_parity_non_group_formulas(formulas) -> None:
    q1, r1 = reduce_permutation("ij", formulas, i=2, j=2)
    q2, r2 = e3nn.math.reduce_permutation("ij", formulas, i=2, j=2)
    assert r1 == r2
    torch.testing.assert_close(q1, q2, atol=0, rtol=0)


def test_symmetry_is_satisfied() -> None:
    q, _ = reduce_permutation(*germinate_formulas("ijk=-jik=kij"), dtype=torch.float64, i=3)
    torch.testing.assert_close(q, -q.transpose(1, 2))
    torch.testing.assert_close(q, q.permute(0, 3, 1, 2))


def test_dtype_default_and_whitespace() -> None:
    q, _ = reduce_permutation(*germinate_formulas(" ij = ji "), i=2)
    assert q.dtype == torch.get_default_dtype() and q.shape == (3, 2, 2)


def test_errors() -> None:
    with pytest.raises(ValueError, match="jk is not a permutation of ij"):
        germinate_formulas("ij=jk")
    with pytest.raises(ValueError, match="ii is not a permutation of ii"):
        germinate_formulas("ii=ii")
    with pytest.raises(ValueError, match="must not carry a sign, got '-ij'"):
        germinate_formulas("-ij=ji")
    with pytest.raises(ValueError, match="letters with an optional '-', got '-ji'"):
        germinate_formulas("ij=--ji")
    with pytest.raises(TypeError, match="expected formula to be a str, got int"):
        germinate_formulas(3)
    with pytest.raises(ValueError, match="index i has no dimension associated to it"):
        reduce_permutation(*germinate_formulas("ij=ji"))
    with pytest.raises(ValueError, match="dimension of i and j should be the same"):
        reduce_permutation(*germinate_formulas("ij=ji"), i=2, j=3)
    with pytest.raises(ValueError, match="expected formulas of the form"):
        reduce_permutation("ij", {(2, (1, 0))}, i=2)
    with pytest.raises(ValueError, match="expected the dimension of index i to be a non-negative int, got -1"):
        reduce_permutation("ij", {(1, (1, 0))}, i=-1)
