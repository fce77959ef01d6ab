"""Wigner D matrices of SO(3) in the real basis, Lie algebra generators, real/complex change of basis.

Conventions (those of e3nn): the real basis of degree ``l`` is indexed by ``m = -l..l``; for ``l = 1`` it is
``(x, y, z)``, so that ``wigner_D(1, a, b, c)`` is the rotation matrix ``angles_to_matrix(a, b, c)``. The
``y`` axis is special: a rotation about ``y`` by ``t`` only mixes the components ``m`` and ``-m``, with
``cos(m t)`` and ``sin(m t)``.

Fast path: with ``Y(t)`` that rotation about ``y`` and ``X(b)`` the rotation about ``x``,
``D(a, b, c) = Y(a) X(b) Y(c)``. The middle factor is a trigonometric polynomial,
``X(b) = sum_k cos(k b) A_k + sin(k b) B_k``, whose constant coefficients ``A_k, B_k`` follow from
``X(b) = K^T Y(b) K`` with ``K`` the (exact) representation of a fixed rotation taking ``x`` to ``y``. A call
costs one small matrix product and a few element-wise products: no matrix exponential.
"""

from __future__ import annotations

import functools
import math

import torch

from e3torch.o3._wigner_3j import check_degree
from e3torch.o3._wigner_exact import real_d_half_pi_entries

__all__ = ["change_basis_real_to_complex", "so3_generators", "su2_generators", "wigner_D"]

_COMPLEX = {
    torch.float32: torch.complex64,
    torch.float64: torch.complex128,
    torch.complex64: torch.complex64,
    torch.complex128: torch.complex128,
}


def _complex_dtype(dtype: torch.dtype | None) -> torch.dtype:
    dtype = torch.get_default_dtype() if dtype is None else dtype
    if dtype not in _COMPLEX:
        raise TypeError(f"expected dtype float32, float64, complex64 or complex128 (or None), got {dtype}")
    return _COMPLEX[dtype]


@functools.cache
def _change_basis_cached(l: int) -> torch.Tensor:
    q = torch.zeros(2 * l + 1, 2 * l + 1, dtype=torch.complex128, device="cpu")
    s = 1 / math.sqrt(2)
    for m in range(1, l + 1):
        sign = (-1) ** m
        q[l - m, l - m] = -1j * s
        q[l - m, l + m] = s
        q[l + m, l - m] = 1j * sign * s
        q[l + m, l + m] = sign * s
    q[l, l] = 1
    return (-1j) ** l * q


@torch.compiler.assume_constant_result  # a constant: computed outside of any graph being traced
def _change_basis_complex128(l: int) -> torch.Tensor:
    with torch.inference_mode(False):
        return _change_basis_cached(l)


def change_basis_real_to_complex(
    l: int, dtype: torch.dtype | None = None, device: torch.device | str | None = None
) -> torch.Tensor:
    r"""The unitary change of basis ``Q`` from e3nn's real basis to the complex spherical-harmonic basis.

    ``Q[m, i]`` maps the real component ``i`` to the complex component ``m`` (both ``-l..l``):
    a real-basis operator is ``Q^H A Q`` for the complex-basis operator ``A``. The columns mix ``m`` and
    ``-m`` with weights :math:`1/\sqrt{2}`, and the whole matrix carries the phase :math:`(-i)^l` that makes
    the Wigner 3j symbols real.

    Parameters
    ----------
    l : int
        the degree
    dtype : torch.dtype, optional
        a real dtype (mapped to its complex counterpart) or a complex dtype; default from
        ``torch.get_default_dtype()``.
    device : torch.device, optional

    Returns
    -------
    torch.Tensor
        complex tensor of shape ``(2 l + 1, 2 l + 1)``

    Examples
    --------
    >>> Q = change_basis_real_to_complex(1, dtype=torch.float64)
    >>> Q.dtype, Q.shape
    (torch.complex128, torch.Size([3, 3]))
    >>> bool(torch.allclose(Q.conj().T @ Q, torch.eye(3, dtype=Q.dtype)))
    True
    """
    l = check_degree("l", l)
    out_dtype = _complex_dtype(dtype)
    cached = _change_basis_complex128(l)
    return torch.empty(cached.shape, dtype=out_dtype, device=device).copy_(cached)


def _check_spin(j: object) -> float:
    if isinstance(j, bool) or not isinstance(j, (int, float)) or (2 * j) % 1 != 0:
        raise TypeError(f"expected j to be an int or a half-integer float, got {type(j).__name__} {j!r}")
    if j < 0:
        raise ValueError(f"expected j >= 0, got j={j}")
    return j


def su2_generators(j: float) -> torch.Tensor:
    r"""Generators of the spin-:math:`j` representation of :math:`SU(2)`, in the complex basis ``m = -j..j``.

    With :math:`J_x, J_y, J_z` the angular-momentum matrices (Condon-Shortley phase), the three generators are
    :math:`(-i J_y, i J_z, i J_x)`: they act as rotations about the ``x``, ``y`` and ``z`` axes of e3nn's
    frame, where ``y`` is the axis diagonal in this basis.

    Parameters
    ----------
    j : int or float
        the spin, an integer or half-integer

    Returns
    -------
    torch.Tensor
        complex tensor of shape ``(3, 2 j + 1, 2 j + 1)`` (complex version of the default dtype)

    Examples
    --------
    >>> G = su2_generators(0.5)
    >>> G.shape
    torch.Size([3, 2, 2])
    >>> (2 * G[1]).imag
    tensor([[-1.,  0.],
            [ 0.,  1.]])
    """
    g = _su2_complex128(_check_spin(j))
    return torch.empty(g.shape, dtype=_complex_dtype(None)).copy_(g)


def _su2_complex128(j: float) -> torch.Tensor:
    n = round(2 * j) + 1
    m = torch.arange(n, dtype=torch.float64, device="cpu") - j
    raising = torch.sqrt(j * (j + 1) - m[:-1] * (m[:-1] + 1))  # <m+1| J+ |m>
    j_plus = torch.diag(raising, -1).to(torch.complex128)
    j_minus = j_plus.T
    return torch.stack(
        [(j_minus - j_plus) / 2, 1j * torch.diag(m).to(torch.complex128), 1j * (j_plus + j_minus) / 2]
    )


def so3_generators(l: int) -> torch.Tensor:
    r"""Generators of the degree-:math:`l` representation of :math:`SO(3)` in the real basis.

    ``so3_generators(l)[k]`` is the real antisymmetric matrix :math:`G_k` with
    ``wigner_D`` of a rotation by ``t`` about axis ``k`` (``x, y, z``) equal to :math:`\exp(t G_k)`; it equals
    ``Q^H su2_generators(l)[k] Q`` with ``Q = change_basis_real_to_complex(l)``.

    Parameters
    ----------
    l : int
        the degree

    Returns
    -------
    torch.Tensor
        tensor of shape ``(3, 2 l + 1, 2 l + 1)`` in the default dtype

    Examples
    --------
    >>> so3_generators(1)[2]
    tensor([[ 0., -1.,  0.],
            [ 1.,  0.,  0.],
            [ 0.,  0.,  0.]])
    """
    l = check_degree("l", l)
    q = _change_basis_complex128(l)
    g = (q.conj().T @ _su2_complex128(l) @ q).real
    return torch.empty(g.shape).copy_(g)


@functools.cache
def _x_rotation_coefficients(l: int) -> torch.Tensor:
    """``W`` of shape ``(2l+1, (2l+1)**2)`` with ``X(b) = sum_f T_f(b) W[f]`` for the features
    ``T = (sin(l b), ..., sin(b), 1, cos(b), ..., cos(l b))``."""
    d = 2 * l + 1
    x_half_pi = torch.tensor(real_d_half_pi_entries(l), dtype=torch.float64, device="cpu")
    # K = X(pi/2) Y(pi/2) takes x to y; Y(pi/2) is a signed permutation, so K is exact.
    m = torch.arange(-l, l + 1, dtype=torch.float64, device="cpu")
    cos_m = torch.round(torch.cos(m * math.pi / 2))
    sin_m = torch.round(torch.sin(m * math.pi / 2))
    y_half_pi = torch.diag(cos_m) - torch.diag(sin_m).flip(1)
    k_mat = x_half_pi @ y_half_pi
    # X(b) = K^T Y(b) K, and Y(b) = sum_k cos(k b) (E_kk + E_-k-k) + sin(k b) (E_-kk - E_k-k)
    top, bottom = k_mat[l:], k_mat[: l + 1].flip(0)  # rows m = k and m = -k, k = 0..l
    a = torch.einsum("ka,kb->kab", top, top) + torch.einsum("ka,kb->kab", bottom, bottom)
    a[0] /= 2  # k = 0 counted twice
    b = torch.einsum("ka,kb->kab", bottom[1:], top[1:]) - torch.einsum("ka,kb->kab", top[1:], bottom[1:])
    return torch.cat([b.flip(0), a]).reshape(d, d * d)


@functools.lru_cache(maxsize=64)
def _wigner_D_constants(
    l: int, dtype: torch.dtype, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(frequency_phase, W)``: ``cos(angle * frequency + phase)``, of shape ``(..., 3, 2, 2l+1)``, gives
    ``cos(m a), sin(m a)`` for ``alpha``, the features of :func:`_x_rotation_coefficients` for ``beta`` (an
    unused second row) and ``cos(m c), sin(m c)`` for ``gamma``, with ``m = -l..l``."""
    with torch.inference_mode(False):
        m = torch.arange(-l, l + 1, dtype=torch.float64, device="cpu")
        frequency = torch.stack([m, m]).expand(3, 2, 2 * l + 1).clone()
        frequency[1] = m.abs()
        phase = torch.zeros_like(frequency)
        phase[:, 1] = -math.pi / 2  # cos(x - pi/2) = sin(x)
        phase[1, 0, :l] = -math.pi / 2  # beta: sin(|m| b) for m < 0
        frequency_phase = torch.stack([frequency, phase])
        return (
            frequency_phase.to(dtype=dtype, device=device),
            _x_rotation_coefficients(l).to(dtype=dtype, device=device),
        )


@torch.compiler.assume_constant_result  # constants: computed outside of any graph being traced
def _wigner_D_frequency_phase(l: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    return _wigner_D_constants(l, dtype, device)[0]


@torch.compiler.assume_constant_result
def _wigner_D_coefficients(l: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    return _wigner_D_constants(l, dtype, device)[1]


def _angle_dtype(*angles: torch.Tensor) -> torch.dtype:
    dtype = torch.promote_types(torch.promote_types(angles[0].dtype, angles[1].dtype), angles[2].dtype)
    return dtype if dtype.is_floating_point else torch.get_default_dtype()


def _check_angles(alpha: object, beta: object, gamma: object) -> None:
    for name, x in (("alpha", alpha), ("beta", beta), ("gamma", gamma)):
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"expected {name} to be a torch.Tensor, got {type(x).__name__}")


def wigner_D(l: int, alpha: torch.Tensor, beta: torch.Tensor, gamma: torch.Tensor) -> torch.Tensor:
    r"""Wigner D matrix of degree :math:`l`: the real representation of :math:`Y(\alpha) X(\beta) Y(\gamma)`.

    It satisfies :math:`D(\mathrm{id}) = 1`, :math:`D(R_1 R_2) = D(R_1) D(R_2)` and
    :math:`D(R^{-1}) = D(R)^T`; for ``l = 1`` it is the rotation matrix itself. The angles broadcast together;
    the result is differentiable (any order) in them and is computed without a matrix exponential.

    Parameters
    ----------
    l : int
        the degree
    alpha : torch.Tensor
        tensor of shape ``(...)``: rotation about ``y``, applied third
    beta : torch.Tensor
        tensor of shape ``(...)``: rotation about ``x``, applied second
    gamma : torch.Tensor
        tensor of shape ``(...)``: rotation about ``y``, applied first

    Returns
    -------
    torch.Tensor
        :math:`D^l(\alpha, \beta, \gamma)` of shape ``(..., 2 l + 1, 2 l + 1)``

    Examples
    --------
    >>> a, b, c = torch.tensor(0.1), torch.tensor([0.2, 0.3]), torch.tensor(0.4)
    >>> D = wigner_D(2, a, b, c)
    >>> D.shape
    torch.Size([2, 5, 5])
    >>> bool(torch.allclose(D @ D.transpose(-1, -2), torch.eye(5), atol=1e-6))
    True
    >>> wigner_D(1, torch.tensor(0.0), torch.tensor(torch.pi / 2), torch.tensor(0.0)).round() + 0.0
    tensor([[ 1.,  0.,  0.],
            [ 0.,  0., -1.],
            [ 0.,  1.,  0.]])
    """
    l = check_degree("l", l)
    _check_angles(alpha, beta, gamma)
    dtype = _angle_dtype(alpha, beta, gamma)
    angles = torch.stack(torch.broadcast_tensors(alpha.to(dtype), beta.to(dtype), gamma.to(dtype)), dim=-1)
    d = 2 * l + 1
    frequency, phase = _wigner_D_frequency_phase(l, dtype, angles.device)
    trig = torch.cos(torch.addcmul(phase, angles[..., None, None], frequency))  # (..., 3, 2, d)
    x_part = (trig[..., 1, 0, :] @ _wigner_D_coefficients(l, dtype, angles.device)).unflatten(-1, (d, d))
    # D = Y(alpha) X(beta) Y(gamma): Y(gamma) mixes the columns m, -m and Y(alpha) the rows
    cos_c, sin_c = trig[..., 2, 0, None, :], trig[..., 2, 1, None, :]
    x_part = torch.addcmul(x_part * cos_c, x_part.flip(-1), sin_c)
    cos_a, sin_a = trig[..., 0, 0, :, None], trig[..., 0, 1, :, None]
    return torch.addcmul(x_part * cos_a, x_part.flip(-2), sin_a, value=-1)
