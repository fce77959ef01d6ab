"""Tests of the rotation parametrizations: parity with e3nn, round trips, distributions, errors."""

from __future__ import annotations

import math

import e3nn.o3
import pytest
import torch

from e3torch import o3

F64 = torch.float64


def _close(a: torch.Tensor, b: torch.Tensor, atol: float = 1e-10) -> None:
    torch.testing.assert_close(a, b, atol=atol, rtol=0)


def _as_tuple(x: object) -> tuple:
    return x if isinstance(x, tuple) else (x,)


def _inputs(n: int = 200) -> dict[str, tuple]:
    torch.manual_seed(0)
    a, b, c = e3nn.o3.rand_angles(n, dtype=F64)
    a2, b2, c2 = e3nn.o3.rand_angles(n, dtype=F64)
    R = e3nn.o3.angles_to_matrix(a, b, c)
    q, q2 = e3nn.o3.angles_to_quaternion(a, b, c), e3nn.o3.angles_to_quaternion(a2, b2, c2)
    axis, angle = e3nn.o3.matrix_to_axis_angle(R)
    xyz = torch.randn(n, 3, dtype=F64)
    return {
        "angles_to_matrix": (a, b, c),
        "matrix_to_angles": (R,),
        "angles_to_quaternion": (a, b, c),
        "quaternion_to_angles": (q,),
        "matrix_to_quaternion": (R,),
        "quaternion_to_matrix": (q,),
        "matrix_to_axis_angle": (R,),
        "axis_angle_to_matrix": (xyz, angle),
        "quaternion_to_axis_angle": (q,),
        "axis_angle_to_quaternion": (xyz, angle),
        "angles_to_axis_angle": (a, b, c),
        "axis_angle_to_angles": (xyz, angle),
        "angles_to_xyz": (a, b),
        "xyz_to_angles": (xyz,),
        "compose_angles": (a, b, c, a2, b2, c2),
        "inverse_angles": (a, b, c),
        "compose_quaternion": (q, q2),
        "inverse_quaternion": (q,),
        "compose_axis_angle": (axis, angle, xyz, 3 * angle),
        "matrix_x": (a,),
        "matrix_y": (a,),
        "matrix_z": (a,),
    }


@pytest.mark.parametrize("name", sorted(_inputs(1)))
def test_matches_e3nn(name: str) -> None:
    args = _inputs()[name]
    ours, theirs = _as_tuple(getattr(o3, name)(*args)), _as_tuple(getattr(e3nn.o3, name)(*args))
    assert len(ours) == len(theirs)
    for x, y in zip(ours, theirs):
        _close(x, y)


@pytest.mark.parametrize("name", ["rand_matrix", "rand_angles", "rand_quaternion", "rand_axis_angle"])
@pytest.mark.parametrize("shape", [(), (5,), (2, 3)])
def test_seeded_random_matches_e3nn(name: str, shape: tuple[int, ...]) -> None:
    torch.manual_seed(7)
    ours = _as_tuple(getattr(o3, name)(*shape, dtype=F64))
    torch.manual_seed(7)
    theirs = _as_tuple(getattr(e3nn.o3, name)(*shape, dtype=F64))
    for x, y in zip(ours, theirs):
        assert x.shape == y.shape
        _close(x, y)


@pytest.mark.parametrize("name", ["rand_matrix", "rand_angles", "rand_quaternion", "rand_axis_angle",
                                  "identity_angles", "identity_quaternion"])  # fmt: skip
def test_factory_options(name: str) -> None:
    out = _as_tuple(getattr(o3, name)(4, requires_grad=True, dtype=torch.float32, device="cpu"))
    for x in out:
        assert x.requires_grad and x.is_leaf and x.dtype == torch.float32 and x.shape[0] == 4
    for x in _as_tuple(getattr(o3, name)(2)):
        assert not x.requires_grad and x.dtype == torch.get_default_dtype()


def test_identities_match_e3nn() -> None:
    for ours, theirs in zip(o3.identity_angles(2, 3, dtype=F64), e3nn.o3.identity_angles(2, 3, dtype=F64)):
        _close(ours, theirs, atol=0)
    _close(o3.identity_quaternion(3, dtype=F64), e3nn.o3.identity_quaternion(3, dtype=F64), atol=0)
    _close(o3.angles_to_matrix(*o3.identity_angles(dtype=F64)), torch.eye(3, dtype=F64), atol=0)
    _close(o3.quaternion_to_matrix(o3.identity_quaternion(dtype=F64)), torch.eye(3, dtype=F64), atol=0)


def test_rand_matrix_is_haar_distributed() -> None:
    torch.manual_seed(3)
    R = o3.rand_matrix(40000, dtype=F64)
    _close(R @ R.transpose(-1, -2), torch.eye(3, dtype=F64).expand_as(R), atol=1e-13)
    _close(torch.linalg.det(R), torch.ones(40000, dtype=F64), atol=1e-13)
    # Haar measure: E[R] = 0, E[R_ij^2] = 1/3, and the rotation angle has density (1 - cos t) / pi
    _close(R.mean(0), torch.zeros(3, 3, dtype=F64), atol=0.02)
    _close((R**2).mean(0), torch.full((3, 3), 1 / 3, dtype=F64), atol=0.01)
    _, angle = o3.matrix_to_axis_angle(R)
    _close(angle.mean(), torch.tensor(math.pi / 2 + 2 / math.pi, dtype=F64), atol=0.02)


def test_round_trips() -> None:
    torch.manual_seed(4)
    R = o3.rand_matrix(100, dtype=F64)
    _close(o3.angles_to_matrix(*o3.matrix_to_angles(R)), R, atol=1e-12)
    _close(o3.quaternion_to_matrix(o3.matrix_to_quaternion(R)), R, atol=1e-12)
    _close(o3.axis_angle_to_matrix(*o3.matrix_to_axis_angle(R)), R, atol=1e-12)
    a, b, c = o3.rand_angles(100, dtype=F64)
    _close(
        o3.quaternion_to_matrix(o3.angles_to_quaternion(a, b, c)), o3.angles_to_matrix(a, b, c), atol=1e-12
    )
    _close(o3.angles_to_matrix(*o3.quaternion_to_angles(o3.angles_to_quaternion(a, b, c))),
           o3.angles_to_matrix(a, b, c), atol=1e-12)  # fmt: skip
    alpha, beta = o3.xyz_to_angles(o3.angles_to_xyz(a, b))
    _close(o3.angles_to_xyz(alpha, beta), o3.angles_to_xyz(a, b), atol=1e-12)


def test_compositions_and_inverses() -> None:
    torch.manual_seed(5)
    g1, g2 = o3.rand_angles(50, dtype=F64), o3.rand_angles(50, dtype=F64)
    R1, R2 = o3.angles_to_matrix(*g1), o3.angles_to_matrix(*g2)
    _close(o3.angles_to_matrix(*o3.compose_angles(*g1, *g2)), R1 @ R2, atol=1e-12)
    _close(o3.angles_to_matrix(*o3.inverse_angles(*g1)), R1.transpose(-1, -2), atol=1e-12)
    q1, q2 = o3.matrix_to_quaternion(R1), o3.matrix_to_quaternion(R2)
    _close(o3.quaternion_to_matrix(o3.compose_quaternion(q1, q2)), R1 @ R2, atol=1e-12)
    _close(o3.quaternion_to_matrix(o3.inverse_quaternion(q1)), R1.transpose(-1, -2), atol=1e-12)
    (n1, t1), (n2, t2) = o3.matrix_to_axis_angle(R1), o3.matrix_to_axis_angle(R2)
    _close(o3.axis_angle_to_matrix(*o3.compose_axis_angle(n1, t1, n2, t2)), R1 @ R2, atol=1e-12)


def test_axis_angle_near_pi_is_accurate() -> None:
    axis = torch.nn.functional.normalize(
        torch.tensor([[1.0, 2.0, 3.0], [0.0, -1.0, 0.0], [-1, 0.5, 0.2]], dtype=F64)
    )
    for t in (math.pi, math.pi - 1e-9, math.pi - 1e-4, 2.9):
        R = o3.axis_angle_to_matrix(axis, torch.tensor(t, dtype=F64))
        n, angle = o3.matrix_to_axis_angle(R)
        _close(o3.axis_angle_to_matrix(n, angle), R, atol=1e-12)
        _close(n.norm(dim=-1), torch.ones(3, dtype=F64), atol=1e-14)
    n, angle = o3.matrix_to_axis_angle(torch.eye(3, dtype=F64))
    _close(n, torch.zeros(3, dtype=F64), atol=0)
    _close(angle, torch.tensor(0.0, dtype=F64), atol=0)


def test_elementary_matrices_and_xyz_conventions() -> None:
    t = torch.tensor(0.3, dtype=F64)
    c, s = math.cos(0.3), math.sin(0.3)
    _close(o3.matrix_x(t), torch.tensor([[1, 0, 0], [0, c, -s], [0, s, c]], dtype=F64), atol=1e-16)
    _close(o3.matrix_y(t), torch.tensor([[c, 0, s], [0, 1, 0], [-s, 0, c]], dtype=F64), atol=1e-16)
    _close(o3.matrix_z(t), torch.tensor([[c, -s, 0], [s, c, 0], [0, 0, 1]], dtype=F64), atol=1e-16)
    a, b = torch.tensor(0.4, dtype=F64), torch.tensor(1.1, dtype=F64)
    e_y = torch.tensor([0.0, 1.0, 0.0], dtype=F64)
    _close(o3.angles_to_xyz(a, b), o3.angles_to_matrix(a, b, torch.zeros((), dtype=F64)) @ e_y, atol=1e-15)


def test_broadcasting() -> None:
    z = torch.zeros
    assert o3.angles_to_matrix(z(2, 1), z(3), z(())).shape == (2, 3, 3, 3)
    assert [x.shape for x in o3.compose_angles(z(2, 1), z(3), z(()), z(3), z(1), z(1))] == [(2, 3)] * 3
    assert o3.angles_to_quaternion(z(2, 1), z(3), z(())).shape == (2, 3, 4)
    assert o3.compose_quaternion(z(2, 1, 4), z(3, 4)).shape == (2, 3, 4)
    assert o3.axis_angle_to_matrix(z(2, 1, 3), z(3)).shape == (2, 3, 3, 3)
    assert o3.axis_angle_to_quaternion(z(2, 1, 3), z(3)).shape == (2, 3, 4)
    assert o3.angles_to_xyz(z(2, 1), z(3)).shape == (2, 3, 3)
    assert o3.rand_matrix(0).shape == (0, 3, 3)
    assert o3.matrix_to_angles(o3.rand_matrix(0))[0].shape == (0,)


def test_gradients() -> None:
    torch.manual_seed(6)
    angles = o3.rand_angles(4, dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(o3.angles_to_matrix, angles)
    assert torch.autograd.gradcheck(lambda *x: o3.matrix_to_angles(o3.angles_to_matrix(*x)), angles)
    q = o3.rand_quaternion(4, dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(o3.compose_quaternion, (q, q.detach().flip(0).requires_grad_()))


def test_compiles_fullgraph() -> None:
    fn = torch.compile(o3.matrix_to_axis_angle, fullgraph=True)
    R = o3.rand_matrix(5)
    for x, y in zip(fn(R), o3.matrix_to_axis_angle(R)):
        torch.testing.assert_close(x, y, atol=1e-5, rtol=1e-5)


def test_errors() -> None:
    with pytest.raises(
        ValueError, match=r"expected rotation matrices of shape \(\.\.\., 3, 3\), got R of shape \(4, 3\)"
    ):
        o3.matrix_to_angles(torch.zeros(4, 3))
    with pytest.raises(
        ValueError, match=r"expected rotation matrices \(det = \+1\), got determinants up to 2"
    ):
        o3.matrix_to_axis_angle(torch.stack([torch.eye(3), -torch.eye(3)]))
    with pytest.raises(ValueError, match=r"expected rotation matrices \(det = \+1\)"):
        o3.matrix_to_quaternion(2 * torch.eye(3))
    with pytest.raises(
        ValueError, match=r"expected quaternions of shape \(\.\.\., 4\), got q of shape \(3,\)"
    ):
        o3.quaternion_to_matrix(torch.zeros(3))
    with pytest.raises(
        ValueError, match=r"expected quaternions of shape \(\.\.\., 4\), got q2 of shape \(\)"
    ):
        o3.compose_quaternion(torch.zeros(4), torch.tensor(1.0))
    with pytest.raises(ValueError, match=r"expected axes of shape \(\.\.\., 3\), got axis of shape \(2, 4\)"):
        o3.axis_angle_to_matrix(torch.zeros(2, 4), torch.zeros(2))
    with pytest.raises(ValueError, match=r"expected points of shape \(\.\.\., 3\), got xyz of shape \(2,\)"):
        o3.xyz_to_angles(torch.zeros(2))
    with pytest.raises(TypeError, match=r"expected beta to be a torch\.Tensor, got float"):
        o3.angles_to_matrix(torch.zeros(()), 0.5, torch.zeros(()))
    with pytest.raises(TypeError, match=r"expected angle to be a torch\.Tensor, got int"):
        o3.matrix_x(1)
    with pytest.raises(TypeError, match=r"expected R to be a torch\.Tensor, got list"):
        o3.matrix_to_angles([[1, 0, 0], [0, 1, 0], [0, 0, 1]])
    with pytest.raises(TypeError, match=r"expected the shape as ints, got float 2.0 in \(2.0,\)"):
        o3.rand_matrix(2.0)
    with pytest.raises(ValueError, match=r"expected non-negative sizes, got shape \(3, -1\)"):
        o3.rand_angles(3, -1)
