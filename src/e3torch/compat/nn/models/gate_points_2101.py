"""``e3nn.nn.models.gate_points_2101`` on e3torch: the gate-points network of e3torch.models, and ``scatter``.

>>> import torch
>>> from e3torch.compat.nn.models.gate_points_2101 import scatter
>>> scatter(torch.ones(4, 2), torch.tensor([0, 0, 1, 3]), 5)[:, 0].tolist()
[2.0, 1.0, 0.0, 1.0, 0.0]
"""

from __future__ import annotations

import torch

from e3torch.compat._export import export

__all__ = ["scatter"]


def scatter(src: torch.Tensor, index: torch.Tensor, dim_size: int) -> torch.Tensor:
    """Sum the rows of ``src`` into ``dim_size`` rows: ``out[index[i]] += src[i]``.

    Parameters
    ----------
    src : torch.Tensor
        ``(n, ...)``.
    index : torch.Tensor
        ``(n,)`` integers in ``[0, dim_size)``.
    dim_size : int
        Number of output rows.

    Returns
    -------
    torch.Tensor
        ``(dim_size, ...)``.

    Raises
    ------
    ValueError
        When ``index`` does not have one entry per row of ``src``.

    Examples
    --------
    >>> scatter(torch.tensor([[1.0], [2.0]]), torch.tensor([1, 1]), 2).tolist()
    [[0.0], [3.0]]
    """
    if index.shape != src.shape[:1]:
        raise ValueError(f"expected index of shape ({src.shape[0]},) (one per row of src), got {tuple(index.shape)}")
    return src.new_zeros((dim_size,) + tuple(src.shape[1:])).index_add_(0, index, src)


__all__ += export(globals())
