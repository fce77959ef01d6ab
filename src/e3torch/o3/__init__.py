"""Irreducible representations of O(3) and the operations built on them.

The public names of :mod:`e3torch.o3`; the implementation lives in private modules, one concept each.
Each section below is owned by one module; keep imports explicit.
"""

# --- irreps ---
from e3torch.o3._irreps import Irrep, Irreps
# --- rotations ---
from e3torch.o3._rotation import (
    angles_to_axis_angle,
    angles_to_matrix,
    angles_to_xyz,
    axis_angle_to_angles,
    axis_angle_to_matrix,
    compose_angles,
    identity_angles,
    inverse_angles,
    matrix_to_angles,
    matrix_to_axis_angle,
    matrix_x,
    matrix_y,
    matrix_z,
    rand_angles,
    rand_axis_angle,
    rand_matrix,
    xyz_to_angles,
)
from e3torch.o3._rotation_quaternion import (
    angles_to_quaternion,
    axis_angle_to_quaternion,
    compose_axis_angle,
    compose_quaternion,
    identity_quaternion,
    inverse_quaternion,
    matrix_to_quaternion,
    quaternion_to_angles,
    quaternion_to_axis_angle,
    quaternion_to_matrix,
    rand_quaternion,
)
# --- wigner ---
from e3torch.o3._wigner import change_basis_real_to_complex, so3_generators, su2_generators, wigner_D
from e3torch.o3._wigner_3j import wigner_3j
# --- spherical harmonics ---
from e3torch.o3._legendre import Legendre
from e3torch.o3._spherical_harmonics import SphericalHarmonics, spherical_harmonics
from e3torch.o3._angular_spherical_harmonics import (
    SphericalHarmonicsAlphaBeta,
    spherical_harmonics_alpha,
    spherical_harmonics_alpha_beta,
)
# --- s2 grid ---
from e3torch.o3._s2grid import FromS2Grid, ToS2Grid, irfft, rfft, s2_grid, spherical_harmonics_s2_grid
from e3torch.o3._so3grid import SO3Grid
# --- tensor products ---
from e3torch.o3._tensor_product import (
    ElementwiseTensorProduct,
    FullTensorProduct,
    FullyConnectedTensorProduct,
    Instruction,
    TensorProduct,
    TensorSquare,
)
# --- linear, norm ---
from e3torch.o3._linear import Linear
from e3torch.o3._norm import Norm
# --- reduced tensor products ---
from e3torch.o3._reduce import ReducedTensorProducts
# --- e3nn 0.6's experimental products (o3.experimental; FullTensorProductv2 is also an o3 name in e3nn) ---
from e3torch.o3 import experimental
from e3torch.o3.experimental import FullTensorProductv2
