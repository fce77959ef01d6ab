"""Pointwise activation of a signal on the sphere: :class:`S2Activation` (as e3nn 0.6.0's)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Union

import torch

from e3torch.math import normalize2mom
from e3torch.nn._activation import activation_parity
from e3torch.o3._irreps import Irreps
from e3torch.o3._rotation import rand_angles
from e3torch.o3._s2grid import FromS2Grid, ToS2Grid

__all__ = ["S2Activation"]

Res = Union[int, Sequence[int]]  # noqa: UP007 - a runtime alias


def _spherical_tensor_parities(irreps: Irreps) -> tuple[int, int]:
    """``(p_val, p_arg)`` of irreps ``[(1, (l, p_val * p_arg^l)) for l = 0..lmax]``, or raise ``ValueError``."""
    ok = len(irreps) > 0 and all(mul == 1 and ir.l == l for l, (mul, ir) in enumerate(irreps))
    if not ok:
        raise ValueError(
            "expected irreps of the form [(1, (l, p_val * p_arg^l)) for l in 0..lmax] (one copy of each degree from "
            f"0, as io.SphericalTensor), got {irreps}"
        )
    p_val = irreps[0].ir.p
    p_arg = irreps[1].ir.p * p_val if len(irreps) > 1 else 1
    for l, (_, ir) in enumerate(irreps):
        if ir.p != p_val * p_arg**l:
            raise ValueError(
                f"expected the parity of l = {l} to be p_val * p_arg^l = {p_val * p_arg**l} "
                f"(p_val = {p_val}, p_arg = {p_arg}), got {irreps}"
            )
    return p_val, p_arg


class S2Activation(torch.nn.Module):
    r"""Apply a pointwise non-linearity to a signal on the sphere given by its coefficients.

    .. math:: \{A^l\}_l \mapsto \Big\{\int \phi\Big(\sum_l A^l \cdot Y^l(x)\Big) Y^j(x) \, dx\Big\}_j

    computed on a grid: :class:`~e3torch.o3.ToS2Grid`, the activation (second-moment normalised), then
    :class:`~e3torch.o3.FromS2Grid`. Equivariant up to the resolution of the grid.

    Parameters
    ----------
    irreps : Irreps
        ``[(1, (l, p_val * p_arg^l)) for l in 0..lmax]``.
    act : callable
        :math:`\phi`, elementwise.
    res : int or tuple of int
        Resolution of the grid, ``res_beta`` or ``(res_beta, res_alpha)``.
    normalization : {"norm", "component", "integral"}
    lmax_out : int, optional
        Default ``lmax`` of the input.
    random_rot : bool
        Rotate the grid randomly at every call (a rotation drawn with :func:`~e3torch.o3.rand_angles`).

    Attributes
    ----------
    irreps_in, irreps_out : Irreps
        The output parity ``p_val`` is that of :math:`\phi(\text{input})`: kept for odd :math:`\phi`, even for
        even :math:`\phi`; any other :math:`\phi` needs ``p_val = 1``.

    Examples
    --------
    >>> m = S2Activation("0e + 1o + 2e", torch.tanh, 20)
    >>> m
    S2Activation (1x0e+1x1o+1x2e -> 1x0e+1x1o+1x2e)
    >>> m(torch.randn(4, 9)).shape
    torch.Size([4, 9])
    """

    def __init__(
        self,
        irreps: Irreps | str,
        act: Callable[[torch.Tensor], torch.Tensor],
        res: Res,
        normalization: str = "component",
        lmax_out: int | None = None,
        random_rot: bool = False,
    ) -> None:
        super().__init__()
        irreps = Irreps(irreps).simplify()
        p_val, p_arg = _spherical_tensor_parities(irreps)
        lmax = irreps.lmax
        if lmax_out is None:
            lmax_out = lmax
        parity = activation_parity(act)
        if parity == -1:
            p_out = p_val
        elif parity == 1:
            p_out = 1
        else:
            if p_val == -1:
                raise ValueError(
                    f"parity violated: the input {irreps} has odd scalars (p_val = -1), expected an even or odd "
                    "activation, got one that is neither"
                )
            p_out = 1
        self.irreps_in = irreps
        self.irreps_out = Irreps([(1, (l, p_out * p_arg**l)) for l in range(lmax_out + 1)])
        self.to_s2 = ToS2Grid(lmax, res, normalization=normalization)
        self.from_s2 = FromS2Grid(res, lmax_out, normalization=normalization, lmax_in=lmax)
        self.act = normalize2mom(act)
        self.random_rot = random_rot

    def __repr__(self) -> str:
        return f"{self.__class__.__name__} ({self.irreps_in} -> {self.irreps_out})"

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """``features: (..., irreps_in.dim)`` to ``(..., irreps_out.dim)``."""
        dim = self.irreps_in.dim
        if features.dim() == 0 or features.shape[-1] != dim:
            raise ValueError(
                f"expected input with last dimension {dim} (irreps {self.irreps_in}), got shape {tuple(features.shape)}"
            )
        if self.random_rot:
            alpha, beta, gamma = rand_angles(dtype=features.dtype, device=features.device)
            features = features @ self.irreps_in.D_from_angles(alpha, beta, gamma).T
        out = self.from_s2(self.act(self.to_s2(features)))
        if self.random_rot:
            out = out @ self.irreps_out.D_from_angles(alpha, beta, gamma)
        return out
