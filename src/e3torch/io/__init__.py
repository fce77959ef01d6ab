"""e3torch.io."""

# --- exports ---
from e3torch.io._cartesian_tensor import CartesianTensor  # noqa: E402,F401
from e3torch.io._spherical_tensor import SphericalTensor  # noqa: E402,F401
