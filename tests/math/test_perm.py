import math
import random

import e3nn.math.perm as eperm
import pytest
import torch

from e3torch.math import perm


@pytest.mark.parametrize("n", [0, 1, 2, 3, 4, 5])
def test_parity_over_the_group(n: int) -> None:
    assert perm.group(n) == eperm.group(n)
    for i in range(math.factorial(n)):
        p = perm.from_int(i, n)
        assert p == eperm.from_int(i, n)
        assert perm.to_int(p) == eperm.to_int(p) == i
        assert perm.inverse(p) == eperm.inverse(p)
        assert perm.sign(p) == eperm.sign(p)
        assert perm.to_cycles(p) == eperm.to_cycles(p)
        assert perm.compose(p, perm.inverse(p)) == perm.identity(n)
        torch.testing.assert_close(perm.natural_representation(p), eperm.natural_representation(p), atol=0, rtol=0)
        if n >= 2:
            # e3nn only supports the default dtype here (float32)
            torch.testing.assert_close(
                perm.standard_representation(p, dtype=torch.float64),
                eperm.standard_representation(p).double(),
                atol=1e-6,
                rtol=0,
            )


def test_compose_parity() -> None:
    g = sorted(perm.group(4))
    for p1 in g[::5]:
        for p2 in g[::3]:
            assert perm.compose(p1, p2) == eperm.compose(p1, p2)


def test_representations_are_homomorphisms() -> None:
    g = sorted(perm.group(4))
    for p1 in g[::4]:
        for p2 in g[::5]:
            for rep in (perm.natural_representation, perm.standard_representation):
                lhs = rep(perm.compose(p1, p2), dtype=torch.float64)
                rhs = rep(p1, dtype=torch.float64) @ rep(p2, dtype=torch.float64)
                torch.testing.assert_close(lhs, rhs, atol=1e-12, rtol=0)


def test_rand_matches_e3nn_stream() -> None:
    random.seed(7)
    a = [eperm.rand(5) for _ in range(20)]
    random.seed(7)
    b = [perm.rand(5) for _ in range(20)]
    assert a == b and all(perm.is_perm(p) for p in b)


@pytest.mark.parametrize(
    "subset",
    [set(), {(0, 1)}, {(1, 2, 0, 3)}, {(1, 0, 2, 3), (0, 1, 3, 2)}, {(1, 0, 2, 3), (1, 2, 3, 0)}, {(2, 3, 0, 1)}],
)
def test_germinate_and_is_group(subset) -> None:
    g = perm.germinate(subset)
    assert g == eperm.germinate(subset)
    assert perm.is_group(g) == eperm.is_group(g) == (len(subset) > 0)
    assert perm.is_group(subset) == eperm.is_group(subset)


def test_is_perm() -> None:
    for p in [(0, 1, 2), (0, 0, 1), (1, 2), (), (2, 0, 1)]:
        assert perm.is_perm(p) == eperm.is_perm(p)


def test_dtype_and_device() -> None:
    assert perm.natural_representation((1, 0), dtype=torch.float64).dtype == torch.float64
    assert perm.standard_representation((1, 0)).dtype == torch.get_default_dtype()
    assert perm.standard_representation(()).shape == (0, 0)


def test_errors() -> None:
    with pytest.raises(ValueError, match=r"expected p to be a permutation .* got \(0, 0, 1\)"):
        perm.inverse((0, 0, 1))
    with pytest.raises(ValueError, match=r"expected p2 to be a permutation .* got \[1, 0\]"):
        perm.compose((1, 0), [1, 0])
    with pytest.raises(ValueError, match="expected permutations of the same length, got 2 and 3"):
        perm.compose((1, 0), (0, 1, 2))
    with pytest.raises(ValueError, match=r"expected 0 <= i < n! = 6, got i=6"):
        perm.from_int(6, 3)
    with pytest.raises(ValueError, match="expected n >= 0, got -1"):
        perm.identity(-1)
