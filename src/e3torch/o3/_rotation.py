"""Parametrizations of 3D rotations and the conversions between them.

Four parametrizations, with e3nn's conventions:

- matrices ``R`` of shape ``(..., 3, 3)``, acting on column vectors ``(x, y, z)``;
- Euler angles ``(alpha, beta, gamma)`` in the ``Y-X-Y`` convention, ``R = Y(alpha) X(beta) Y(gamma)``;
- unit quaternions ``q = (cos(t/2), sin(t/2) n)`` of shape ``(..., 4)``, real part first (in
  :mod:`e3torch.o3._rotation_quaternion`);
- axis-angle ``(n, t)``: rotation by ``t`` about the axis ``n`` of shape ``(..., 3)``.

Random rotations are uniform (Haar) on SO(3): ``alpha, gamma`` uniform in ``[0, 2 pi)``, ``cos(beta)``
uniform in ``[-1, 1]``. They draw from torch's generator as e3nn does (``alpha`` and ``gamma`` first, as one
``(2, *shape)`` draw, then ``beta``), so seeded calls give the same rotations.
"""

from __future__ import annotations

import math
import numbers

import torch

__all__ = [
    "angles_to_axis_angle",
    "angles_to_matrix",
    "angles_to_xyz",
    "axis_angle_to_angles",
    "axis_angle_to_matrix",
    "compose_angles",
    "identity_angles",
    "inverse_angles",
    "matrix_to_angles",
    "matrix_to_axis_angle",
    "matrix_x",
    "matrix_y",
    "matrix_z",
    "rand_angles",
    "rand_axis_angle",
    "rand_matrix",
    "xyz_to_angles",
]  # fmt: skip

Angles = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


# --- validation ---


def _check_shape(shape: tuple) -> tuple[int, ...]:
    for n in shape:
        if isinstance(n, bool) or not isinstance(n, numbers.Integral):
            raise TypeError(f"expected the shape as ints, got {type(n).__name__} {n!r} in {shape}")
        if n < 0:
            raise ValueError(f"expected non-negative sizes, got shape {shape}")
    return tuple(int(n) for n in shape)


def _tensor(name: str, x: object) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"expected {name} to be a torch.Tensor, got {type(x).__name__}")
    return x


def _vectors(name: str, x: object, n: int, what: str) -> torch.Tensor:
    x = _tensor(name, x)
    if x.ndim == 0 or x.shape[-1] != n:
        raise ValueError(f"expected {what} of shape (..., {n}), got {name} of shape {tuple(x.shape)}")
    return x


def _rotations(R: object) -> torch.Tensor:
    R = _tensor("R", R)
    if R.ndim < 2 or R.shape[-2:] != (3, 3):
        raise ValueError(f"expected rotation matrices of shape (..., 3, 3), got R of shape {tuple(R.shape)}")
    if not torch.compiler.is_compiling() and R.numel() > 0:
        with torch.no_grad():
            det = torch.linalg.det(R.double() if R.dtype in (torch.float16, torch.bfloat16) else R)
            worst = (det - 1).abs().max()
        if not bool(worst <= 1e-3):
            raise ValueError(
                "expected rotation matrices (det = +1), "
                f"got determinants up to {float(worst):.3g} away from 1"
            )
    return R


# --- elementary rotations ---


def _about_axis(angle: torch.Tensor, i: int, j: int) -> torch.Tensor:
    """Rotation by ``angle`` in the plane of axes ``i -> j``."""
    c, s = torch.cos(angle), torch.sin(angle)
    one, zero = torch.ones_like(c), torch.zeros_like(c)
    rows = [[one, zero, zero], [zero, one, zero], [zero, zero, one]]
    rows[i][i], rows[j][j] = c, c
    rows[j][i], rows[i][j] = s, -s
    return torch.stack([torch.stack(row, dim=-1) for row in rows], dim=-2)


def matrix_x(angle: torch.Tensor) -> torch.Tensor:
    """Rotation matrix about the ``x`` axis.

    Parameters
    ----------
    angle : torch.Tensor
        tensor of shape ``(...)``

    Returns
    -------
    torch.Tensor
        matrices of shape ``(..., 3, 3)``

    Examples
    --------
    >>> matrix_x(torch.tensor(torch.pi / 2)).round() + 0.0
    tensor([[ 1.,  0.,  0.],
            [ 0.,  0., -1.],
            [ 0.,  1.,  0.]])
    """
    return _about_axis(_tensor("angle", angle), 1, 2)


def matrix_y(angle: torch.Tensor) -> torch.Tensor:
    """Rotation matrix about the ``y`` axis.

    Parameters
    ----------
    angle : torch.Tensor
        tensor of shape ``(...)``

    Returns
    -------
    torch.Tensor
        matrices of shape ``(..., 3, 3)``

    Examples
    --------
    >>> matrix_y(torch.tensor(torch.pi / 2)).round() + 0.0
    tensor([[ 0.,  0.,  1.],
            [ 0.,  1.,  0.],
            [-1.,  0.,  0.]])
    """
    return _about_axis(_tensor("angle", angle), 2, 0)


def matrix_z(angle: torch.Tensor) -> torch.Tensor:
    """Rotation matrix about the ``z`` axis.

    Parameters
    ----------
    angle : torch.Tensor
        tensor of shape ``(...)``

    Returns
    -------
    torch.Tensor
        matrices of shape ``(..., 3, 3)``

    Examples
    --------
    >>> matrix_z(torch.tensor(torch.pi / 2)).round() + 0.0
    tensor([[ 0., -1.,  0.],
            [ 1.,  0.,  0.],
            [ 0.,  0.,  1.]])
    """
    return _about_axis(_tensor("angle", angle), 0, 1)


# --- Euler angles ---


def _check_angles(**angles: object) -> Angles:
    return tuple(_tensor(name, x) for name, x in angles.items())  # type: ignore[return-value]


def identity_angles(
    *shape: int,
    requires_grad: bool = False,
    dtype: torch.dtype | None = None,
    device: torch.device | None = None,
) -> Angles:
    """Euler angles of the identity rotation: three zero tensors.

    Parameters
    ----------
    *shape : int
    requires_grad : bool
    dtype, device : optional

    Returns
    -------
    (alpha, beta, gamma) : tuple of torch.Tensor
        each of shape ``shape``

    Examples
    --------
    >>> identity_angles(2)
    (tensor([0., 0.]), tensor([0., 0.]), tensor([0., 0.]))
    """
    shape = _check_shape(shape)
    return tuple(
        torch.zeros(shape, dtype=dtype, device=device, requires_grad=requires_grad) for _ in range(3)
    )  # type: ignore[return-value]


def rand_angles(
    *shape: int,
    requires_grad: bool = False,
    dtype: torch.dtype | None = None,
    device: torch.device | None = None,
) -> Angles:
    """Euler angles of random rotations, uniform on SO(3).

    ``alpha`` and ``gamma`` are uniform in ``[0, 2 pi)`` and ``beta = arccos(u)`` with ``u`` uniform in
    ``[-1, 1]``; the draws from torch's generator are those of e3nn.

    Parameters
    ----------
    *shape : int
    requires_grad : bool
    dtype, device : optional

    Returns
    -------
    (alpha, beta, gamma) : tuple of torch.Tensor
        each of shape ``shape``

    Examples
    --------
    >>> a, b, c = rand_angles(5)
    >>> a.shape, bool(((b >= 0) & (b <= torch.pi)).all())
    (torch.Size([5]), True)
    """
    shape = _check_shape(shape)
    alpha, gamma = 2 * math.pi * torch.rand(2, *shape, dtype=dtype, device=device)
    beta = torch.acos(2 * torch.rand(shape, dtype=dtype, device=device) - 1)
    return (
        alpha.requires_grad_(requires_grad),
        beta.requires_grad_(requires_grad),
        gamma.requires_grad_(requires_grad),
    )


def angles_to_matrix(alpha: torch.Tensor, beta: torch.Tensor, gamma: torch.Tensor) -> torch.Tensor:
    """Rotation matrix of Euler angles: ``Y(alpha) X(beta) Y(gamma)``.

    Parameters
    ----------
    alpha, beta, gamma : torch.Tensor
        tensors of broadcastable shapes ``(...)``

    Returns
    -------
    torch.Tensor
        matrices of shape ``(..., 3, 3)``

    Examples
    --------
    >>> angles_to_matrix(torch.tensor(torch.pi / 2), torch.tensor(0.0), torch.tensor(0.0)).round() + 0.0
    tensor([[ 0.,  0.,  1.],
            [ 0.,  1.,  0.],
            [-1.,  0.,  0.]])
    """
    alpha, beta, gamma = torch.broadcast_tensors(*_check_angles(alpha=alpha, beta=beta, gamma=gamma))
    return matrix_y(alpha) @ matrix_x(beta) @ matrix_y(gamma)


def angles_to_xyz(alpha: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
    """The point ``Y(alpha) X(beta) e_y = (sin a sin b, cos b, cos a sin b)`` on the unit sphere.

    Parameters
    ----------
    alpha, beta : torch.Tensor
        tensors of broadcastable shapes ``(...)``

    Returns
    -------
    torch.Tensor
        tensor of shape ``(..., 3)``

    Examples
    --------
    >>> angles_to_xyz(torch.tensor(1.7), torch.tensor(0.0)).abs()
    tensor([0., 1., 0.])
    """
    alpha, beta = torch.broadcast_tensors(*_check_angles(alpha=alpha, beta=beta))
    sin_b = torch.sin(beta)
    return torch.stack([torch.sin(alpha) * sin_b, torch.cos(beta), torch.cos(alpha) * sin_b], dim=-1)


def xyz_to_angles(xyz: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Angles ``(alpha, beta)`` of a point on the sphere: ``xyz / |xyz| = Y(alpha) X(beta) e_y``.

    The point need not be normalized; ``alpha = atan2(x, z)`` and ``beta = arccos(y / |xyz|)``.

    Parameters
    ----------
    xyz : torch.Tensor
        tensor of shape ``(..., 3)``

    Returns
    -------
    (alpha, beta) : tuple of torch.Tensor
        each of shape ``(...)``

    Examples
    --------
    >>> a, b = xyz_to_angles(torch.tensor([0.0, 0.0, 2.0]))
    >>> round(float(a), 4), round(float(b), 4)
    (0.0, 1.5708)
    """
    xyz = torch.nn.functional.normalize(_vectors("xyz", xyz, 3, "points"), p=2.0, dim=-1)
    beta = torch.acos(xyz[..., 1].clamp(-1, 1))
    alpha = torch.atan2(xyz[..., 0], xyz[..., 2])
    return alpha, beta


def matrix_to_angles(R: torch.Tensor) -> Angles:
    """Euler angles of rotation matrices (the inverse of :func:`angles_to_matrix`).

    Parameters
    ----------
    R : torch.Tensor
        rotation matrices of shape ``(..., 3, 3)``

    Returns
    -------
    (alpha, beta, gamma) : tuple of torch.Tensor
        each of shape ``(...)``, with ``beta`` in ``[0, pi]``

    Examples
    --------
    >>> angles = (torch.tensor(0.1), torch.tensor(0.2), torch.tensor(0.3))
    >>> [round(float(x), 4) for x in matrix_to_angles(angles_to_matrix(*angles))]
    [0.1, 0.2, 0.3]
    """
    R = _rotations(R)
    alpha, beta = xyz_to_angles(R[..., :, 1])
    rest = matrix_x(-beta) @ matrix_y(-alpha) @ R  # = Y(gamma)
    gamma = torch.atan2(rest[..., 0, 2], rest[..., 0, 0])
    return alpha, beta, gamma


def compose_angles(
    a1: torch.Tensor, b1: torch.Tensor, c1: torch.Tensor, a2: torch.Tensor, b2: torch.Tensor, c2: torch.Tensor
) -> Angles:
    """Euler angles of the composition ``R(a1, b1, c1) R(a2, b2, c2)`` (the second rotation applied first).

    Parameters
    ----------
    a1, b1, c1 : torch.Tensor
        angles of the rotation applied second, broadcastable shapes ``(...)``
    a2, b2, c2 : torch.Tensor
        angles of the rotation applied first

    Returns
    -------
    (alpha, beta, gamma) : tuple of torch.Tensor
        each of the broadcast shape ``(...)``

    Examples
    --------
    >>> z = torch.tensor(0.0)
    >>> angles = compose_angles(torch.tensor(0.5), z, z, torch.tensor(0.25), torch.tensor(0.1), z)
    >>> [round(float(x), 4) + 0.0 for x in angles]
    [0.75, 0.1, 0.0]
    """
    return matrix_to_angles(angles_to_matrix(a1, b1, c1) @ angles_to_matrix(a2, b2, c2))


def inverse_angles(a: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> Angles:
    """Euler angles of the inverse rotation: ``(-c, -b, -a)``.

    Parameters
    ----------
    a, b, c : torch.Tensor
        tensors of shape ``(...)``

    Returns
    -------
    (alpha, beta, gamma) : tuple of torch.Tensor

    Examples
    --------
    >>> inverse_angles(torch.tensor(1.0), torch.tensor(2.0), torch.tensor(3.0))
    (tensor(-3.), tensor(-2.), tensor(-1.))
    """
    a, b, c = _check_angles(a=a, b=b, c=c)
    return -c, -b, -a


# --- axis-angle ---


def axis_angle_to_matrix(axis: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    """Rotation matrix of the rotation by ``angle`` about ``axis``.

    The axis need not be normalized. With ``(a, b) = xyz_to_angles(axis)`` the frame rotation
    ``Y(a) X(b)`` takes ``e_y`` to the axis, and the result is ``Y(a) X(b) Y(angle) X(-b) Y(-a)``.

    Parameters
    ----------
    axis : torch.Tensor
        tensor of shape ``(..., 3)``
    angle : torch.Tensor
        tensor of shape ``(...)``, broadcastable with the axis

    Returns
    -------
    torch.Tensor
        matrices of shape ``(..., 3, 3)``

    Examples
    --------
    >>> axis_angle_to_matrix(torch.tensor([0.0, 0.0, 3.0]), torch.tensor(torch.pi / 2)).round() + 0.0
    tensor([[ 0., -1.,  0.],
            [ 1.,  0.,  0.],
            [ 0.,  0.,  1.]])
    """
    axis, angle = torch.broadcast_tensors(
        _vectors("axis", axis, 3, "axes"), _tensor("angle", angle)[..., None]
    )
    alpha, beta = xyz_to_angles(axis)
    frame = angles_to_matrix(alpha, beta, torch.zeros_like(alpha))
    return frame @ matrix_y(angle[..., 0]) @ frame.transpose(-1, -2)


def matrix_to_axis_angle(R: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Axis and angle of rotation matrices, with the angle in ``[0, pi]``.

    The axis is the unit vector along the antisymmetric part of ``R``; for angles close to ``pi``, where that
    part vanishes, it is read from the symmetric part instead. The angle is ``atan2(sin, cos)`` of the two
    parts, accurate to rounding also near ``0`` and ``pi``. The identity gives the axis ``(0, 0, 0)``.

    Parameters
    ----------
    R : torch.Tensor
        rotation matrices of shape ``(..., 3, 3)``

    Returns
    -------
    (axis, angle) : tuple of torch.Tensor
        of shapes ``(..., 3)`` and ``(...)``

    Examples
    --------
    >>> axis, angle = matrix_to_axis_angle(matrix_z(torch.tensor(1.0)))
    >>> axis, round(float(angle), 4)
    (tensor([0., 0., 1.]), 1.0)
    """
    R = _rotations(R)
    cos = ((R.diagonal(dim1=-2, dim2=-1).sum(-1) - 1) / 2).clamp(-1, 1)
    vee = torch.stack(
        [R[..., 2, 1] - R[..., 1, 2], R[..., 0, 2] - R[..., 2, 0], R[..., 1, 0] - R[..., 0, 1]], -1
    )
    angle = torch.atan2(vee.norm(dim=-1) / 2, cos)  # = arccos(cos), accurate also near 0 and pi
    axis = torch.nn.functional.normalize(vee, dim=-1)
    # near pi: R + R^T - 2 cos I = 2 (1 - cos) n n^T; its largest column is along n
    sym = R + R.transpose(-1, -2) - 2 * cos[..., None, None] * torch.eye(3, dtype=R.dtype, device=R.device)
    column = sym.diagonal(dim1=-2, dim2=-1).argmax(-1)
    n = torch.take_along_dim(sym, column[..., None, None].expand(*column.shape, 3, 1), dim=-1)[..., 0]
    n = torch.nn.functional.normalize(n, dim=-1)
    n = torch.where((n * vee).sum(-1, keepdim=True) < 0, -n, n)
    return torch.where(cos[..., None] < -0.9, n, axis), angle


def angles_to_axis_angle(
    alpha: torch.Tensor, beta: torch.Tensor, gamma: torch.Tensor
) -> tuple[torch.Tensor, ...]:
    """Axis and angle (in ``[0, pi]``) of the rotation given by Euler angles.

    Parameters
    ----------
    alpha, beta, gamma : torch.Tensor
        tensors of broadcastable shapes ``(...)``

    Returns
    -------
    (axis, angle) : tuple of torch.Tensor
        of shapes ``(..., 3)`` and ``(...)``

    Examples
    --------
    >>> axis, angle = angles_to_axis_angle(torch.tensor(0.5), torch.tensor(0.0), torch.tensor(0.0))
    >>> axis, round(float(angle), 4)
    (tensor([0., 1., 0.]), 0.5)
    """
    return matrix_to_axis_angle(angles_to_matrix(alpha, beta, gamma))


def axis_angle_to_angles(axis: torch.Tensor, angle: torch.Tensor) -> Angles:
    """Euler angles of the rotation by ``angle`` about ``axis``.

    Parameters
    ----------
    axis : torch.Tensor
        tensor of shape ``(..., 3)``
    angle : torch.Tensor
        tensor of shape ``(...)``

    Returns
    -------
    (alpha, beta, gamma) : tuple of torch.Tensor

    Examples
    --------
    >>> angles = axis_angle_to_angles(torch.tensor([1.0, 0.0, 0.0]), torch.tensor(0.5))
    >>> [round(float(x), 4) + 0.0 for x in angles]
    [0.0, 0.5, 0.0]
    """
    return matrix_to_angles(axis_angle_to_matrix(axis, angle))


def rand_axis_angle(
    *shape: int,
    requires_grad: bool = False,
    dtype: torch.dtype | None = None,
    device: torch.device | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Random rotations, uniform on SO(3), as axis and angle (in ``[0, pi]``).

    Parameters
    ----------
    *shape : int
    requires_grad : bool
    dtype, device : optional

    Returns
    -------
    (axis, angle) : tuple of torch.Tensor
        of shapes ``(*shape, 3)`` and ``shape``

    Examples
    --------
    >>> axis, angle = rand_axis_angle(4)
    >>> axis.shape, angle.shape
    (torch.Size([4, 3]), torch.Size([4]))
    """
    axis, angle = angles_to_axis_angle(*rand_angles(*shape, dtype=dtype, device=device))
    return axis.requires_grad_(requires_grad), angle.requires_grad_(requires_grad)


def rand_matrix(
    *shape: int,
    requires_grad: bool = False,
    dtype: torch.dtype | None = None,
    device: torch.device | None = None,
) -> torch.Tensor:
    """Random rotation matrices, uniform on SO(3).

    Parameters
    ----------
    *shape : int
    requires_grad : bool
    dtype, device : optional

    Returns
    -------
    torch.Tensor
        tensor of shape ``(*shape, 3, 3)``

    Examples
    --------
    >>> R = rand_matrix(10, dtype=torch.float64)
    >>> R.shape, bool(torch.allclose(R @ R.transpose(-1, -2), torch.eye(3, dtype=torch.float64)))
    (torch.Size([10, 3, 3]), True)
    """
    R = angles_to_matrix(*rand_angles(*shape, dtype=dtype, device=device))
    return R.requires_grad_(requires_grad)
