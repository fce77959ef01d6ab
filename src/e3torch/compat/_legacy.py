"""Private e3nn helpers that clients import or that e3nn pickles name, written for e3torch.

- ``e3nn.o3._spherical_harmonics._spherical_harmonics(lmax, x, y, z)``: the unnormalized, component-normalized
  harmonics of degrees ``0..lmax`` (an ``SphericalHarmonics`` pickle names it as its ``sph_func``).
- ``e3nn.nn._gate._Sortcut(*irreps_outs)``: splits an input laid out as ``sum(irreps_outs).sort().simplify()``
  into the parts ``irreps_outs`` (a ``Gate`` pickle contains one).

Examples
--------
>>> import torch
>>> from e3torch.compat._legacy import _Sortcut
>>> cut = _Sortcut("1x0e", "1x1o")
>>> cut.irreps_in
1x0e+1x1o
>>> [t.shape[-1] for t in cut(torch.zeros(2, 4))]
[1, 3]
"""

from __future__ import annotations

import torch

from e3torch.o3 import Irreps, spherical_harmonics

__all__ = ["_Sortcut", "_spherical_harmonics"]


def _spherical_harmonics(lmax: int, x: torch.Tensor, y: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """Spherical harmonics ``l = 0..lmax`` of the (not normalized) vectors ``(x, y, z)``, component normalization.

    Parameters
    ----------
    lmax : int
    x, y, z : torch.Tensor
        The coordinates, all of shape ``(...)``.

    Returns
    -------
    torch.Tensor
        ``(..., (lmax + 1) ** 2)``.

    Examples
    --------
    >>> v = torch.tensor([0.0, 0.0, 1.0])
    >>> _spherical_harmonics(1, v[0:1], v[1:2], v[2:3]).shape
    torch.Size([1, 4])
    """
    return spherical_harmonics(list(range(lmax + 1)), torch.stack([x, y, z], dim=-1), False, "component")


class _Sortcut(torch.nn.Module):
    """Cut an input with irreps ``sum(irreps_outs).sort().irreps.simplify()`` into the parts ``irreps_outs``.

    Parameters
    ----------
    *irreps_outs : Irreps
        The parts, in output order.

    Examples
    --------
    >>> cut = _Sortcut("2x0e", "1x0e")
    >>> x = torch.arange(3.0)[None]
    >>> [t.tolist() for t in cut(x)]
    [[[0.0, 1.0]], [[2.0]]]
    """

    def __init__(self, *irreps_outs: object) -> None:
        super().__init__()
        self.irreps_outs = tuple(Irreps(irreps).simplify() for irreps in irreps_outs)
        self._n_outs = len(self.irreps_outs)
        irreps_in = sum(self.irreps_outs, Irreps(""))
        self.irreps_in = irreps_in.sort().irreps.simplify()
        # each (mul, ir) of each output takes the next unused copies of ir in irreps_in
        offsets: dict[object, int] = {}
        starts: dict[object, list[int]] = {}
        pos = 0
        for mul, ir in self.irreps_in:
            starts.setdefault(ir, []).extend(pos + i * ir.dim for i in range(mul))
            pos += mul * ir.dim
        for k, irreps in enumerate(self.irreps_outs):
            index: list[int] = []
            for mul, ir in irreps:
                used = offsets.get(ir, 0)
                for start in starts[ir][used : used + mul]:
                    index.extend(range(start, start + ir.dim))
                offsets[ir] = used + mul
            self.register_buffer(f"_index{k}", torch.tensor(index, dtype=torch.long), persistent=False)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        if x.shape[-1] != self.irreps_in.dim:
            raise ValueError(
                f"expected input with last dimension {self.irreps_in.dim} (irreps {self.irreps_in}), "
                f"got shape {tuple(x.shape)}"
            )
        return tuple(x.index_select(-1, getattr(self, f"_index{k}")) for k in range(self._n_outs))
