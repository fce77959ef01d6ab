"""Unit quaternions ``q = (w, v) = (cos(t/2), sin(t/2) n)``, real part first, and their conversions.

Quaternions go to matrices through axis-angle, as in e3nn: ``angle = 2 arccos(w)`` and ``axis = v / |v|``,
without renormalizing ``q``.
"""

from __future__ import annotations

import torch

from e3torch.o3._rotation import (
    Angles,
    _check_angles,
    _check_shape,
    _tensor,
    _vectors,
    axis_angle_to_matrix,
    matrix_to_angles,
    matrix_to_axis_angle,
    rand_angles,
)

__all__ = [
    "angles_to_quaternion",
    "axis_angle_to_quaternion",
    "compose_axis_angle",
    "compose_quaternion",
    "identity_quaternion",
    "inverse_quaternion",
    "matrix_to_quaternion",
    "quaternion_to_angles",
    "quaternion_to_axis_angle",
    "quaternion_to_matrix",
    "rand_quaternion",
]  # fmt: skip


def compose_axis_angle(
    axis1: torch.Tensor, angle1: torch.Tensor, axis2: torch.Tensor, angle2: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Axis and angle of the composition (rotation 2 applied first), computed through quaternions.

    Parameters
    ----------
    axis1, angle1 : torch.Tensor
        the rotation applied second, shapes ``(..., 3)`` and ``(...)``
    axis2, angle2 : torch.Tensor
        the rotation applied first

    Returns
    -------
    (axis, angle) : tuple of torch.Tensor
        the angle in ``[0, 2 pi]`` (as from :func:`quaternion_to_axis_angle`)

    Examples
    --------
    >>> y = torch.tensor([0.0, 1.0, 0.0])
    >>> axis, angle = compose_axis_angle(y, torch.tensor(0.5), y, torch.tensor(0.25))
    >>> axis, round(float(angle), 4)
    (tensor([0., 1., 0.]), 0.75)
    """
    q = compose_quaternion(axis_angle_to_quaternion(axis1, angle1), axis_angle_to_quaternion(axis2, angle2))
    return quaternion_to_axis_angle(q)


def identity_quaternion(
    *shape: int,
    requires_grad: bool = False,
    dtype: torch.dtype | None = None,
    device: torch.device | None = None,
) -> torch.Tensor:
    """The quaternion ``(1, 0, 0, 0)`` of the identity rotation.

    Parameters
    ----------
    *shape : int
    requires_grad : bool
    dtype, device : optional

    Returns
    -------
    torch.Tensor
        tensor of shape ``(*shape, 4)``

    Examples
    --------
    >>> identity_quaternion(2)
    tensor([[1., 0., 0., 0.],
            [1., 0., 0., 0.]])
    """
    shape = _check_shape(shape)
    q = torch.zeros(*shape, 4, dtype=dtype, device=device)
    q[..., 0] = 1
    return q.requires_grad_(requires_grad)


def rand_quaternion(
    *shape: int,
    requires_grad: bool = False,
    dtype: torch.dtype | None = None,
    device: torch.device | None = None,
) -> torch.Tensor:
    """Unit quaternions of random rotations, uniform on SO(3).

    Parameters
    ----------
    *shape : int
    requires_grad : bool
    dtype, device : optional

    Returns
    -------
    torch.Tensor
        tensor of shape ``(*shape, 4)``

    Examples
    --------
    >>> q = rand_quaternion(3)
    >>> q.shape, bool(torch.allclose(q.norm(dim=-1), torch.ones(3)))
    (torch.Size([3, 4]), True)
    """
    q = angles_to_quaternion(*rand_angles(*shape, dtype=dtype, device=device))
    return q.requires_grad_(requires_grad)


def compose_quaternion(q1: torch.Tensor, q2: torch.Tensor) -> torch.Tensor:
    """Hamilton product ``q1 q2``: the rotation ``q2`` followed by ``q1``.

    Parameters
    ----------
    q1, q2 : torch.Tensor
        tensors of broadcastable shapes ``(..., 4)``

    Returns
    -------
    torch.Tensor
        tensor of shape ``(..., 4)``

    Examples
    --------
    >>> i = torch.tensor([0.0, 1.0, 0.0, 0.0])
    >>> j = torch.tensor([0.0, 0.0, 1.0, 0.0])
    >>> compose_quaternion(i, j)
    tensor([0., 0., 0., 1.])
    """
    q1, q2 = torch.broadcast_tensors(
        _vectors("q1", q1, 4, "quaternions"), _vectors("q2", q2, 4, "quaternions")
    )
    w1, v1 = q1[..., :1], q1[..., 1:]
    w2, v2 = q2[..., :1], q2[..., 1:]
    w = w1 * w2 - (v1 * v2).sum(-1, keepdim=True)
    v = w1 * v2 + w2 * v1 + torch.linalg.cross(v1, v2, dim=-1)
    return torch.cat([w, v], dim=-1)


def inverse_quaternion(q: torch.Tensor) -> torch.Tensor:
    """The conjugate ``(w, -v)``: the inverse of a unit quaternion.

    Parameters
    ----------
    q : torch.Tensor
        tensor of shape ``(..., 4)``

    Returns
    -------
    torch.Tensor
        tensor of shape ``(..., 4)``

    Examples
    --------
    >>> inverse_quaternion(torch.tensor([1.0, 2.0, 3.0, 4.0]))
    tensor([ 1., -2., -3., -4.])
    """
    q = _vectors("q", q, 4, "quaternions")
    return torch.cat([q[..., :1], -q[..., 1:]], dim=-1)


def axis_angle_to_quaternion(xyz: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    """Quaternion ``(cos(t/2), sin(t/2) n)`` of the rotation by ``t = angle`` about ``n = xyz / |xyz|``.

    Parameters
    ----------
    xyz : torch.Tensor
        axes of shape ``(..., 3)``
    angle : torch.Tensor
        tensor of shape ``(...)``

    Returns
    -------
    torch.Tensor
        tensor of shape ``(..., 4)``

    Examples
    --------
    >>> axis_angle_to_quaternion(torch.tensor([0.0, 0.0, 2.0]), torch.tensor(torch.pi / 2)).round(decimals=4)
    tensor([0.7071, 0.0000, 0.0000, 0.7071])
    """
    xyz, angle = torch.broadcast_tensors(_vectors("xyz", xyz, 3, "axes"), _tensor("angle", angle)[..., None])
    xyz = torch.nn.functional.normalize(xyz, p=2.0, dim=-1)
    half = angle[..., :1] / 2
    return torch.cat([torch.cos(half), torch.sin(half) * xyz], dim=-1)


def quaternion_to_axis_angle(q: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Axis ``v / |v|`` and angle ``2 arccos(w)`` (in ``[0, 2 pi]``) of quaternions ``(w, v)``.

    Parameters
    ----------
    q : torch.Tensor
        tensor of shape ``(..., 4)``

    Returns
    -------
    (axis, angle) : tuple of torch.Tensor
        of shapes ``(..., 3)`` and ``(...)``

    Examples
    --------
    >>> axis, angle = quaternion_to_axis_angle(torch.tensor([0.0, 0.0, 0.0, 1.0]))
    >>> axis, round(float(angle), 4)
    (tensor([0., 0., 1.]), 3.1416)
    """
    q = _vectors("q", q, 4, "quaternions")
    angle = 2 * torch.acos(q[..., 0].clamp(-1, 1))
    axis = torch.nn.functional.normalize(q[..., 1:], p=2.0, dim=-1)
    return axis, angle


def angles_to_quaternion(alpha: torch.Tensor, beta: torch.Tensor, gamma: torch.Tensor) -> torch.Tensor:
    """Quaternion of Euler angles: the product of the quaternions of ``Y(alpha)``, ``X(beta)``, ``Y(gamma)``.

    Parameters
    ----------
    alpha, beta, gamma : torch.Tensor
        tensors of broadcastable shapes ``(...)``

    Returns
    -------
    torch.Tensor
        tensor of shape ``(..., 4)``

    Examples
    --------
    >>> angles_to_quaternion(torch.tensor(0.0), torch.tensor(torch.pi), torch.tensor(0.0)).round() + 0.0
    tensor([0., 1., 0., 0.])
    """
    alpha, beta, gamma = torch.broadcast_tensors(*_check_angles(alpha=alpha, beta=beta, gamma=gamma))
    x = torch.tensor([1.0, 0.0, 0.0], dtype=alpha.dtype, device=alpha.device)
    y = torch.tensor([0.0, 1.0, 0.0], dtype=alpha.dtype, device=alpha.device)
    qa = axis_angle_to_quaternion(y, alpha)
    qb = axis_angle_to_quaternion(x, beta)
    qc = axis_angle_to_quaternion(y, gamma)
    return compose_quaternion(qa, compose_quaternion(qb, qc))


def quaternion_to_matrix(q: torch.Tensor) -> torch.Tensor:
    """Rotation matrix of quaternions, through :func:`quaternion_to_axis_angle` (``q`` is not renormalized).

    Parameters
    ----------
    q : torch.Tensor
        tensor of shape ``(..., 4)``

    Returns
    -------
    torch.Tensor
        matrices of shape ``(..., 3, 3)``

    Examples
    --------
    >>> quaternion_to_matrix(torch.tensor([0.0, 0.0, 0.0, 1.0])).round() + 0.0
    tensor([[-1.,  0.,  0.],
            [ 0., -1.,  0.],
            [ 0.,  0.,  1.]])
    """
    return axis_angle_to_matrix(*quaternion_to_axis_angle(q))


def matrix_to_quaternion(R: torch.Tensor) -> torch.Tensor:
    """Unit quaternion (with non-negative real part) of rotation matrices.

    Parameters
    ----------
    R : torch.Tensor
        rotation matrices of shape ``(..., 3, 3)``

    Returns
    -------
    torch.Tensor
        tensor of shape ``(..., 4)``

    Examples
    --------
    >>> matrix_to_quaternion(torch.eye(3))
    tensor([1., 0., 0., 0.])
    """
    return axis_angle_to_quaternion(*matrix_to_axis_angle(R))


def quaternion_to_angles(q: torch.Tensor) -> Angles:
    """Euler angles of quaternions.

    Parameters
    ----------
    q : torch.Tensor
        tensor of shape ``(..., 4)``

    Returns
    -------
    (alpha, beta, gamma) : tuple of torch.Tensor

    Examples
    --------
    >>> q = angles_to_quaternion(torch.tensor(0.1), torch.tensor(0.2), torch.tensor(0.3))
    >>> [round(float(x), 4) for x in quaternion_to_angles(q)]
    [0.1, 0.2, 0.3]
    """
    return matrix_to_angles(quaternion_to_matrix(q))
