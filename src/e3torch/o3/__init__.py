"""Irreducible representations of O(3) and the operations built on them.

The public names of :mod:`e3torch.o3`; the implementation lives in private modules, one concept each.
Each section below is owned by one module; keep imports explicit.
"""

# --- irreps ---
from e3torch.o3._irreps import Irrep, Irreps
# --- rotations ---
# --- wigner ---
# --- spherical harmonics ---
# --- s2 grid ---
# --- tensor products ---
# --- linear, norm ---
# --- reduced tensor products ---
