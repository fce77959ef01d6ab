"""Small linear-algebra helpers: block-diagonal sums, Gram-Schmidt orthonormalization, basis completion."""

from __future__ import annotations

from typing import List, Tuple

import torch

__all__ = ["direct_sum", "orthonormalize", "complete_basis"]


def direct_sum(*matrices: torch.Tensor) -> torch.Tensor:
    r"""Direct sum of matrices: put them on the diagonal of a block matrix.

    Leading (batch) dimensions are broadcast together. The result has the dtype and device of the first matrix.

    Parameters
    ----------
    *matrices : `torch.Tensor`
        tensors of shape :math:`(..., m_k, n_k)`

    Returns
    -------
    `torch.Tensor`
        tensor of shape :math:`(..., \sum_k m_k, \sum_k n_k)`

    Examples
    --------
    >>> import torch
    >>> from e3torch.math import direct_sum
    >>> direct_sum(torch.ones(1, 2), 2 * torch.ones(2, 1))
    tensor([[1., 1., 0.],
            [0., 0., 2.],
            [0., 0., 2.]])
    """
    if len(matrices) == 0:
        raise ValueError("direct_sum expected at least one matrix, got none")
    for k, m in enumerate(matrices):
        if not isinstance(m, torch.Tensor):
            raise TypeError(f"direct_sum expected torch.Tensor matrices, got {type(m).__name__} at position {k}")
        if m.dim() < 2:
            raise ValueError(
                f"direct_sum expected matrices with at least 2 dimensions, got shape {tuple(m.shape)} at position {k}"
            )
    front = torch.broadcast_shapes(*(m.shape[:-2] for m in matrices))
    rows = sum(m.shape[-2] for m in matrices)
    cols = sum(m.shape[-1] for m in matrices)
    first = matrices[0]
    out = first.new_zeros(front + (rows, cols))
    i, j = 0, 0
    for m in matrices:
        di, dj = m.shape[-2:]
        out[..., i : i + di, j : j + dj] = m
        i += di
        j += dj
    return out


def _check_rows(x: torch.Tensor, name: str, fn: str) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{fn} expected {name} to be a torch.Tensor, got {type(x).__name__}")
    if x.dim() != 2:
        raise ValueError(f"{fn} expected {name} of shape (number of vectors, dimension), got shape {tuple(x.shape)}")


def _clean_and_orient(y: torch.Tensor, c: torch.Tensor, eps: float) -> Tuple[torch.Tensor, torch.Tensor]:
    """Zero the entries of ``y`` smaller than eps and flip the pair so that y's first nonzero entry is positive."""
    y = torch.where(y.abs() < eps, torch.zeros_like(y), y)
    nonzero = torch.nonzero(y).flatten()
    if nonzero.numel() > 0 and y[nonzero[0]] < 0:
        y, c = -y, -c
    return y, c


def orthonormalize(original: torch.Tensor, eps: float = 1e-9) -> Tuple[torch.Tensor, torch.Tensor]:
    r"""Orthonormalize vectors by Gram-Schmidt, dropping the ones that are (numerically) dependent.

    Vectors are processed in order. The residual of each vector (after removing its projection on the ones
    already kept) is kept when its norm exceeds ``2 * eps``; it is then normalized, entries smaller than ``eps``
    are set to zero and its sign is chosen so that its first nonzero entry is positive.

    Parameters
    ----------
    original : `torch.Tensor`
        the original vectors :math:`x`, shape :math:`(n, d)`
    eps : float
        a small number

    Returns
    -------
    final : `torch.Tensor`
        the orthonormalized vectors :math:`y`, shape :math:`(m, d)` with :math:`m \le n`
    matrix : `torch.Tensor`
        the matrix :math:`A` such that :math:`y = A x`, shape :math:`(m, n)`

    Examples
    --------
    >>> import torch
    >>> from e3torch.math import orthonormalize
    >>> y, a = orthonormalize(torch.tensor([[0.0, -2.0], [0.0, 1.0], [1.0, 1.0]]))
    >>> y + 0.0
    tensor([[0., 1.],
            [1., 0.]])
    >>> a + 0.0
    tensor([[-0.5000,  0.0000,  0.0000],
            [ 0.5000,  0.0000,  1.0000]])
    """
    _check_rows(original, "original", "orthonormalize")
    n = original.shape[0]
    eye = torch.eye(n, dtype=original.dtype, device=original.device)
    final: List[torch.Tensor] = []
    matrix: List[torch.Tensor] = []
    for x, cx in zip(original, eye):
        if final:
            ys, cys = torch.stack(final), torch.stack(matrix)
            c = ys @ x
            x = x - c @ ys
            cx = cx - c @ cys
        norm = x.norm()
        if norm > 2 * eps:
            inv = 1 / norm
            x, cx = _clean_and_orient(x * inv, cx * inv, eps)
            final.append(x)
            matrix.append(cx)
    d = original.shape[1]
    if not final:
        return original.new_zeros((0, d)), original.new_zeros((0, n))
    return torch.stack(final), torch.stack(matrix)


def complete_basis(vecs: torch.Tensor, eps: float = 1e-9) -> torch.Tensor:
    r"""Orthonormal vectors completing ``vecs`` into a basis of the whole space.

    The canonical basis vectors :math:`e_0, e_1, \dots` are visited in order; from each one the projections on the
    (normalized) rows of ``vecs`` and on the vectors found so far are removed, and the residual is kept when its
    norm exceeds ``2 * eps`` (then normalized, cleaned and oriented as in :func:`orthonormalize`). The rows of
    ``vecs`` are expected to be orthonormal; all-zero rows are ignored.

    Parameters
    ----------
    vecs : `torch.Tensor`
        orthonormal vectors, shape :math:`(n, d)`
    eps : float
        a small number

    Returns
    -------
    `torch.Tensor`
        orthonormal vectors, orthogonal to ``vecs``, shape :math:`(d - n, d)`

    Examples
    --------
    >>> import torch
    >>> from e3torch.math import complete_basis
    >>> complete_basis(torch.tensor([[0.6, 0.8, 0.0]], dtype=torch.float64)).round(decimals=4) + 0.0
    tensor([[ 0.8000, -0.6000,  0.0000],
            [ 0.0000,  0.0000,  1.0000]], dtype=torch.float64)

    In float32 the rounding errors exceed the default ``eps``; pass a larger one (or use float64):

    >>> complete_basis(torch.tensor([[0.6, 0.8, 0.0]]), eps=1e-5).shape
    torch.Size([2, 3])
    """
    _check_rows(vecs, "vecs", "complete_basis")
    d = vecs.shape[1]
    norms = vecs.norm(dim=1)
    basis: List[torch.Tensor] = [v / nv for v, nv in zip(vecs, norms) if nv > 0]
    found: List[torch.Tensor] = []
    dummy = vecs.new_zeros(())
    for x in torch.eye(d, dtype=vecs.dtype, device=vecs.device):
        for b in basis:
            x = x - torch.dot(x, b) * b
        norm = x.norm()
        if norm > 2 * eps:
            x, _ = _clean_and_orient(x / norm, dummy, eps)
            basis.append(x)
            found.append(x)
    if not found:
        return vecs.new_zeros((0, d))
    return torch.stack(found)
