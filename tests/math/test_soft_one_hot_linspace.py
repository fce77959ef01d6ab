import e3nn.math
import pytest
import torch

from e3torch.math import soft_one_hot_linspace, soft_unit_step

BASES = ["gaussian", "cosine", "smooth_finite", "fourier", "bessel"]


def _x() -> torch.Tensor:
    torch.manual_seed(0)
    # avoid x == start exactly (bessel is 0/0 there) and the exact cosine/cutoff boundaries
    return torch.cat([torch.rand(200, dtype=torch.float64) * 3.0 - 1.0, torch.tensor([-0.7, 0.3, 1.9])])


@pytest.mark.parametrize("basis", BASES)
@pytest.mark.parametrize("cutoff", [True, False])
@pytest.mark.parametrize("number", [1, 2, 5])
def test_parity_values_and_gradients(basis: str, cutoff: bool, number: int) -> None:
    if number == 1 and not cutoff:
        pytest.skip("e3nn fails (IndexError) for a single function without cutoff; see test_single_function")
    x = _x().requires_grad_(True)
    ours = soft_one_hot_linspace(x, -0.5, 1.5, number, basis=basis, cutoff=cutoff)
    theirs = e3nn.math.soft_one_hot_linspace(x, -0.5, 1.5, number, basis=basis, cutoff=cutoff)
    assert ours.shape == (x.shape[0], number)
    assert ours.dtype == torch.float64
    torch.testing.assert_close(ours, theirs, atol=1e-10, rtol=0)
    w = torch.randn_like(ours)
    (g_ours,) = torch.autograd.grad((ours * w).sum(), x)
    (g_theirs,) = torch.autograd.grad((theirs * w).sum(), x)
    torch.testing.assert_close(g_ours, g_theirs, atol=1e-8, rtol=1e-10)


@pytest.mark.parametrize("basis", BASES)
def test_parity_float32_and_batch_shape(basis: str) -> None:
    x = torch.rand(3, 7) * 2.0 - 0.4
    ours = soft_one_hot_linspace(x, -0.5, 1.5, 4, basis=basis, cutoff=True)
    theirs = e3nn.math.soft_one_hot_linspace(x, -0.5, 1.5, 4, basis=basis, cutoff=True)
    assert ours.shape == (3, 7, 4) and ours.dtype == torch.float32
    torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-5)


def test_cutoff_vanishes_outside() -> None:
    x = torch.tensor([-3.0, -0.6, 1.5, 4.0], dtype=torch.float64)
    for basis in ["cosine", "smooth_finite", "fourier", "bessel"]:  # the gaussian tails only decay
        y = soft_one_hot_linspace(x, -0.5, 1.5, 6, basis=basis, cutoff=True)
        assert y.abs().max() < 1e-12, basis


def test_normalization_second_moment() -> None:
    x = torch.linspace(0.0, 1.0, 100_001, dtype=torch.float64)[1:-1]
    for basis in ["gaussian", "cosine", "smooth_finite", "fourier"]:
        m = soft_one_hot_linspace(x, 0.0, 1.0, 10, basis=basis, cutoff=True).pow(2).sum(-1).mean()
        assert 0.85 < m.item() < 1.15, (basis, m)


@pytest.mark.parametrize("basis", BASES)
def test_gradcheck(basis: str) -> None:
    x = (torch.rand(6, dtype=torch.float64) * 1.6 - 0.3).requires_grad_(True)
    fn = lambda t: soft_one_hot_linspace(t, -0.5, 1.5, 3, basis=basis, cutoff=True)  # noqa: E731
    assert torch.autograd.gradcheck(fn, (x,))
    assert torch.autograd.gradgradcheck(fn, (x,))


def test_single_function_without_cutoff() -> None:
    x = torch.tensor([0.25, 0.5], dtype=torch.float64)
    torch.testing.assert_close(
        soft_one_hot_linspace(x, 0.0, 1.0, 1, basis="fourier", cutoff=False),
        torch.full((2, 1), 0.75**-0.5, dtype=torch.float64),
    )
    bes = soft_one_hot_linspace(x, 0.0, 1.0, 1, basis="bessel", cutoff=False)
    torch.testing.assert_close(bes, e3nn.math.soft_one_hot_linspace(x, 0.0, 1.0, 2, basis="bessel", cutoff=False)[:, :1])


def test_number_zero() -> None:
    y = soft_one_hot_linspace(torch.zeros(4), 0.0, 1.0, 0, basis="gaussian", cutoff=False)
    assert y.shape == (4, 0)


def test_errors() -> None:
    x = torch.zeros(3)
    with pytest.raises(ValueError, match='basis="foo" is not a valid entry'):
        soft_one_hot_linspace(x, 0.0, 1.0, 4, basis="foo", cutoff=True)
    with pytest.raises(ValueError, match='basis="None" is not a valid entry'):
        soft_one_hot_linspace(x, 0.0, 1.0, 4, cutoff=True)
    with pytest.raises(ValueError, match="cutoff must be specified"):
        soft_one_hot_linspace(x, 0.0, 1.0, 4, basis="gaussian")
    with pytest.raises(ValueError, match="needs number >= 2"):
        soft_one_hot_linspace(x, 0.0, 1.0, 1, basis="cosine", cutoff=False)
    with pytest.raises(ValueError, match="number must be >= 0"):
        soft_one_hot_linspace(x, 0.0, 1.0, -1, basis="cosine", cutoff=True)
    with pytest.raises(TypeError, match="number must be an int, got float"):
        soft_one_hot_linspace(x, 0.0, 1.0, 2.0, basis="cosine", cutoff=True)
    with pytest.raises(TypeError, match="expected x to be a torch.Tensor, got list"):
        soft_one_hot_linspace([0.0], 0.0, 1.0, 2, basis="cosine", cutoff=True)


def test_torch_compile_fullgraph() -> None:
    def fn(x: torch.Tensor) -> torch.Tensor:
        return soft_one_hot_linspace(x, 0.0, 2.0, 5, basis="smooth_finite", cutoff=True)

    compiled = torch.compile(fn, fullgraph=True, backend="eager")
    x = torch.rand(10, dtype=torch.float64) * 2.0
    torch.testing.assert_close(compiled(x), fn(x), atol=1e-12, rtol=0)


def test_soft_unit_step_parity_and_derivatives() -> None:
    x = torch.linspace(-2.0, 5.0, 141, dtype=torch.float64).requires_grad_(True)
    ours = soft_unit_step(x)
    theirs = e3nn.math.soft_unit_step(x)
    torch.testing.assert_close(ours, theirs, atol=1e-12, rtol=0)
    (g1,) = torch.autograd.grad(ours.sum(), x)
    (g2,) = torch.autograd.grad(theirs.sum(), x)
    torch.testing.assert_close(g1, g2, atol=1e-12, rtol=0)
    assert torch.isfinite(g1).all()
    xs = torch.tensor([-1.0, 0.3, 0.8, 2.0], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(soft_unit_step, (xs,))
    assert torch.autograd.gradgradcheck(soft_unit_step, (xs,))


def test_soft_unit_step_type_error() -> None:
    with pytest.raises(TypeError, match="expected a torch.Tensor, got float"):
        soft_unit_step(1.0)


@pytest.mark.parametrize("default", [torch.float32, torch.float64])
def test_smooth_finite_prefactor_follows_default_dtype(default: torch.dtype) -> None:
    x = torch.tensor([0.1, 0.45, 0.8], dtype=torch.float64)
    old = torch.get_default_dtype()
    torch.set_default_dtype(default)
    try:
        ours = soft_one_hot_linspace(x, 0.0, 1.0, 3, basis="smooth_finite", cutoff=True)
        theirs = e3nn.math.soft_one_hot_linspace(x, 0.0, 1.0, 3, basis="smooth_finite", cutoff=True)
    finally:
        torch.set_default_dtype(old)
    torch.testing.assert_close(ours, theirs, atol=1e-14, rtol=0)
