import e3nn.math
import pytest
import torch

from e3torch.math import complete_basis, direct_sum, orthonormalize


def _random_sets(count: int):
    g = torch.Generator().manual_seed(1)
    for t in range(count):
        n = int(torch.randint(1, 7, (), generator=g))
        d = int(torch.randint(1, 7, (), generator=g))
        x = torch.randn(n, d, generator=g, dtype=torch.float64)
        if t % 3 == 0 and n > 2:
            x[2] = x[0] - 2 * x[1]
        if t % 5 == 0:
            x[0] = 0
        if t % 4 == 0:
            x = x.round()
        yield x


def test_orthonormalize_parity() -> None:
    for x in _random_sets(150):
        y1, a1 = orthonormalize(x)
        y2, a2 = e3nn.math.orthonormalize(x)
        assert y1.shape == y2.shape and a1.shape == a2.shape
        torch.testing.assert_close(y1, y2, atol=1e-10, rtol=0)
        torch.testing.assert_close(a1, a2, atol=1e-10, rtol=1e-10)
        torch.testing.assert_close(a1 @ x, y1, atol=1e-8, rtol=0)
        torch.testing.assert_close(y1 @ y1.T, torch.eye(y1.shape[0], dtype=torch.float64), atol=1e-10, rtol=0)


@pytest.mark.parametrize("eps", [1e-9, 1e-3, 0.3])
def test_orthonormalize_thresholds(eps: float) -> None:
    for res in [1.9, 2.0, 2.1, 5.0]:
        x = torch.tensor([[1.0, 0.0, 0.0], [1.0, res * eps, 0.0], [0.5 * eps, -1.0, 3.0]], dtype=torch.float64)
        y1, _ = orthonormalize(x, eps)
        y2, _ = e3nn.math.orthonormalize(x, eps)
        assert y1.shape == y2.shape
        torch.testing.assert_close(y1, y2, atol=1e-10, rtol=0)


def test_orthonormalize_sign_convention() -> None:
    y, a = orthonormalize(torch.tensor([[0.0, -3.0], [-1.0, 1.0]], dtype=torch.float64))
    torch.testing.assert_close(y, torch.eye(2, dtype=torch.float64)[[1, 0]])
    torch.testing.assert_close(a, torch.tensor([[-1 / 3, 0.0], [-1 / 3, -1.0]], dtype=torch.float64))


def test_orthonormalize_empty() -> None:
    y, a = orthonormalize(torch.zeros(0, 3))
    assert y.shape == (0, 3) and a.shape == (0, 0)
    y, a = orthonormalize(torch.zeros(2, 3))
    assert y.shape == (0, 3) and a.shape == (0, 2)


def test_complete_basis_parity() -> None:
    for x in _random_sets(100):
        y, _ = orthonormalize(x)
        for k in range(y.shape[0] + 1):
            c1 = complete_basis(y[:k])
            c2 = e3nn.math.complete_basis(y[:k])
            assert c1.shape == c2.shape == (x.shape[1] - k, x.shape[1])
            torch.testing.assert_close(c1, c2, atol=1e-10, rtol=0)
            full = torch.cat([y[:k], c1])
            torch.testing.assert_close(full @ full.T, torch.eye(x.shape[1], dtype=torch.float64), atol=1e-10, rtol=0)


def test_complete_basis_unnormalized_and_eps() -> None:
    for vecs, eps in [([[1.0, 1.0, 0.0]], 1e-9), ([[2.0, 0.0, 0.0]], 1e-9), ([[0.5**0.5, 0.5**0.5, 0.0]], 0.34),
                      ([[0.5**0.5, 0.5**0.5, 0.0]], 0.36), ([[1.0, 0.0, 0.0], [1.0, 1.0, 0.0]], 1e-9)]:
        v = torch.tensor(vecs, dtype=torch.float64)
        torch.testing.assert_close(complete_basis(v, eps), e3nn.math.complete_basis(v, eps), atol=1e-12, rtol=0)


def test_linalg_errors() -> None:
    with pytest.raises(ValueError, match=r"expected original of shape \(number of vectors, dimension\), got shape \(3,\)"):
        orthonormalize(torch.zeros(3))
    with pytest.raises(ValueError, match=r"expected vecs of shape \(number of vectors, dimension\), got shape \(3,\)"):
        complete_basis(torch.zeros(3))
    with pytest.raises(TypeError, match="expected vecs to be a torch.Tensor, got list"):
        complete_basis([[1.0, 0.0]])


def test_direct_sum_parity_and_grad() -> None:
    a = torch.randn(4, 2, 3, dtype=torch.float64, requires_grad=True)
    b = torch.randn(1, 1, dtype=torch.float64, requires_grad=True)
    c = torch.randn(4, 0, 2, dtype=torch.float64)
    ours = direct_sum(a, b, c)
    theirs = e3nn.math.direct_sum(a, b, c)
    assert ours.shape == (4, 3, 6)
    torch.testing.assert_close(ours, theirs, atol=0, rtol=0)
    assert torch.autograd.gradcheck(lambda x, y: direct_sum(x, y), (a, b))


def test_direct_sum_broadcast_and_dtype() -> None:
    out = direct_sum(torch.ones(2, 3, dtype=torch.float64), torch.ones(5, 1, 1, dtype=torch.float32))
    assert out.shape == (5, 3, 4) and out.dtype == torch.float64
    torch.testing.assert_close(out[0], e3nn.math.direct_sum(torch.ones(2, 3, dtype=torch.float64), torch.ones(1, 1)))


def test_direct_sum_errors() -> None:
    with pytest.raises(ValueError, match="expected at least one matrix, got none"):
        direct_sum()
    with pytest.raises(ValueError, match=r"at least 2 dimensions, got shape \(3,\) at position 1"):
        direct_sum(torch.ones(1, 1), torch.ones(3))
    with pytest.raises(TypeError, match="expected torch.Tensor matrices, got list at position 0"):
        direct_sum([[1.0]])
