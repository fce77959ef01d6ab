"""e3torch.math."""

# --- exports ---
from e3torch.math._linalg import complete_basis, direct_sum, orthonormalize  # noqa: E402
from e3torch.math._normalize_activation import moment, normalize2mom  # noqa: E402
from e3torch.math._soft_unit_step import soft_unit_step  # noqa: E402
from e3torch.math._bessel import bessel  # noqa: E402
from e3torch.math._soft_one_hot_linspace import soft_one_hot_linspace  # noqa: E402
from e3torch.math._reduce import germinate_formulas, reduce_permutation  # noqa: E402
from e3torch.math._sparse_multilinear import (  # noqa: E402
    sparse_multilinear,
    sparse_multilinear_reference,
    sparse_multilinear_table,
)
from e3torch.math import perm  # noqa: E402

__all__ = [
    "complete_basis",
    "direct_sum",
    "orthonormalize",
    "moment",
    "normalize2mom",
    "soft_unit_step",
    "bessel",
    "soft_one_hot_linspace",
    "germinate_formulas",
    "reduce_permutation",
    "sparse_multilinear",
    "sparse_multilinear_reference",
    "sparse_multilinear_table",
    "perm",
]
