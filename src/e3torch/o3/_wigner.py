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

import math

import numpy as np
import torch

from e3torch._compiler import assume_constant_result
from e3torch.o3._wigner_common import ConstantCache, check_degree, fresh_copy
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


def _change_basis_array(l: int) -> tuple[np.ndarray]:
    q = np.zeros((2 * l + 1, 2 * l + 1), dtype=np.complex128)
    s = 1 / math.sqrt(2)
    for m in range(1, l + 1):
        sign = (-1) ** m
        q[l - m, l - m] = -1j * s
        q[l - m, l + m] = s
        q[l + m, l - m] = 1j * sign * s
        q[l + m, l + m] = sign * s
    q[l, l] = 1
    return ((-1j) ** l * q,)


def _su2_array(j: float) -> np.ndarray:
    m = np.arange(round(2 * j) + 1, dtype=np.float64) - j
    j_plus = np.diag(np.sqrt(j * (j + 1) - m[:-1] * (m[:-1] + 1)), -1).astype(np.complex128)  # <m+1|J+|m>
    j_minus = j_plus.T
    return np.stack([(j_minus - j_plus) / 2, 1j * np.diag(m), 1j * (j_plus + j_minus) / 2])


def _generators_arrays(l: int) -> tuple[np.ndarray, np.ndarray]:
    """``(su2, so3)`` generators of degree ``l``, the second ``Q^H su2 Q`` in the real basis."""
    (q,) = _change_basis_array(l)
    su2 = _su2_array(l)
    return su2, (q.conj().T @ su2 @ q).real + 0.0  # + 0.0: no negative zeros


_CHANGE_OF_BASIS = ConstantCache(_change_basis_array)
_GENERATORS = ConstantCache(_generators_arrays)
_CPU = torch.device("cpu")


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
    return fresh_copy(_CHANGE_OF_BASIS.get((l,), torch.complex128, _CPU)[0], out_dtype, device)


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
    j = _check_spin(j)
    if j == int(j):
        su2 = _GENERATORS.get((int(j),), torch.complex128, _CPU)[0]
    else:
        su2 = torch.from_numpy(_su2_array(j))
    return fresh_copy(su2, _complex_dtype(None), None)


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
    return fresh_copy(_GENERATORS.get((l,), torch.float64, _CPU)[1], torch.get_default_dtype(), None)


def _x_rotation_coefficients(l: int) -> np.ndarray:
    """``W`` of shape ``(2l+1, (2l+1)**2)`` with ``X(b) = sum_f T_f(b) W[f]`` for the features
    ``T = (sin(l b), ..., sin(b), 1, cos(b), ..., cos(l b))``."""
    d = 2 * l + 1
    x_half_pi = np.array(real_d_half_pi_entries(l), dtype=np.float64).reshape(d, d)
    # K = X(pi/2) Y(pi/2) takes x to y; Y(pi/2) is a signed permutation, so K is exact.
    m = np.arange(-l, l + 1)
    cos_m = np.array([(1, 0, -1, 0)[k % 4] for k in m], dtype=np.float64)  # cos(m pi / 2)
    sin_m = np.array([(0, 1, 0, -1)[k % 4] for k in m], dtype=np.float64)  # sin(m pi / 2)
    y_half_pi = np.diag(cos_m) - np.diag(sin_m)[:, ::-1]
    k_mat = x_half_pi @ y_half_pi
    # X(b) = K^T Y(b) K, and Y(b) = sum_k cos(k b) (E_kk + E_-k-k) + sin(k b) (E_-kk - E_k-k)
    top, bottom = k_mat[l:], k_mat[: l + 1][::-1]  # rows m = k and m = -k, k = 0..l
    a = np.einsum("ka,kb->kab", top, top) + np.einsum("ka,kb->kab", bottom, bottom)
    a[0] /= 2  # k = 0 counted twice
    b = np.einsum("ka,kb->kab", bottom[1:], top[1:]) - np.einsum("ka,kb->kab", top[1:], bottom[1:])
    return np.concatenate([b[::-1], a]).reshape(d, d * d)


def _wigner_D_arrays(l: int) -> tuple[np.ndarray, np.ndarray]:
    """``(frequency_phase, W)``: ``cos(angle * frequency + phase)``, of shape ``(..., 3, 2, 2l+1)``, gives
    ``cos(m a), sin(m a)`` for ``alpha``, the features of :func:`_x_rotation_coefficients` for ``beta`` (and
    an unused second row) and ``cos(m c), sin(m c)`` for ``gamma``, with ``m = -l..l``."""
    m = np.arange(-l, l + 1, dtype=np.float64)
    frequency = np.broadcast_to(m, (3, 2, 2 * l + 1)).copy()
    frequency[1] = np.abs(m)
    phase = np.zeros_like(frequency)
    phase[:, 1] = -math.pi / 2  # cos(x - pi/2) = sin(x)
    phase[1, 0, :l] = -math.pi / 2  # beta: sin(|m| b) for m < 0
    return np.stack([frequency, phase]), np.ascontiguousarray(_x_rotation_coefficients(l))


_WIGNER_D = ConstantCache(_wigner_D_arrays)


@assume_constant_result  # constants: computed outside of any graph being traced
def _wigner_D_frequency_phase(l: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    return _WIGNER_D.get((l,), dtype, device)[0]


@assume_constant_result
def _wigner_D_coefficients(l: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    return _WIGNER_D.get((l,), dtype, device)[1]


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
