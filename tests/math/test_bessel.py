import e3nn.math
import pytest
import torch

from e3torch.math import bessel


@pytest.mark.parametrize("x_max", [1.0, 2.5])
def test_parity_values_and_gradients(x_max: float) -> None:
    torch.manual_seed(0)
    x = torch.cat([torch.rand(50, dtype=torch.float64) * 3 - 0.5, torch.zeros(1)]).requires_grad_(True)
    ours = bessel(x, 6, x_max)
    theirs = e3nn.math.bessel(x, 6, x_max)
    assert ours.shape == (51, 6)
    torch.testing.assert_close(ours, theirs, atol=1e-10, rtol=0)
    w = torch.randn_like(ours)
    (g1,) = torch.autograd.grad((ours * w).sum(), x)
    (g2,) = torch.autograd.grad((theirs * w).sum(), x)
    torch.testing.assert_close(g1, g2, atol=1e-8, rtol=1e-10)


def test_orthonormality() -> None:
    # int_0^c x^2 B_n B_m dx = delta_nm (trapezoid rule)
    c = 2.0
    x = torch.linspace(0.0, c, 20001, dtype=torch.float64)
    b = bessel(x, 4, c)
    gram = torch.trapezoid(x[:, None, None] ** 2 * b[:, :, None] * b[:, None, :], x, dim=0)
    torch.testing.assert_close(gram, torch.eye(4, dtype=torch.float64), atol=1e-6, rtol=0)


def test_gradcheck() -> None:
    x = torch.tensor([0.0, 0.2, 0.7, 1.3], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: bessel(t, 3, 1.5), (x,))
    assert torch.autograd.gradgradcheck(lambda t: bessel(t, 3, 1.5), (x,))


def test_errors() -> None:
    with pytest.raises(TypeError, match="expected n to be an int, got float"):
        bessel(torch.zeros(2), 2.0)
    with pytest.raises(ValueError, match="expected n >= 0, got n=-1"):
        bessel(torch.zeros(2), -1)
    with pytest.raises(ValueError, match="expected x_max > 0, got x_max=0"):
        bessel(torch.zeros(2), 2, 0.0)
    with pytest.raises(TypeError, match="expected x to be a torch.Tensor, got float"):
        bessel(0.5, 2)
