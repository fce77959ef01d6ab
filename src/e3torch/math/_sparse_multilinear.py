"""Sparse multilinear maps: ``y[o] = sum of c * z_1[i_1] * ... * z_q[i_q]`` over a table of terms, per column.

A symmetric contraction (MACE's product basis) is a sum of such terms: a Clebsch-Gordan coefficient times a weight
times a monomial in the features. Its tensors are very sparse (MACE's correlation-3 contraction of L=3 features
has 353 nonzero entries out of 94 208 for the scalar output), so applying the nonzero terms directly is much
cheaper than dense contractions. The table is built once, in float64, by :func:`sparse_multilinear_table`;
:func:`sparse_multilinear` evaluates it, with the fused CPU kernel (``_kernels/multilinear.cpp``) or with
:func:`sparse_multilinear_reference`, the pure-torch executor that is also the tests' oracle. Both are
differentiable to any order.

The columns (samples, or samples times channels) are the last dimension of every input, so that one term is one
vectorised pass over a block of columns.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from e3torch import _kernels
from e3torch._compiler import assume_constant_result

__all__ = ["sparse_multilinear", "sparse_multilinear_reference", "sparse_multilinear_table"]

_KERNEL_DTYPES = (torch.float32, torch.float64)


def sparse_multilinear_table(
    terms: Sequence[tuple[int, Sequence[int], float]], num_inputs: int
) -> torch.Tensor:
    """The ``(E, num_inputs + 2)`` int64 table of a sparse multilinear map.

    Parameters
    ----------
    terms : sequence of ``(o, (i_1, .., i_q), c)``
        One term per entry: output row ``o`` receives ``c * z_1[i_1] * ... * z_q[i_q]``.
    num_inputs : int
        ``q``, the number of inputs (every term names one row of each).

    Returns
    -------
    torch.Tensor
        Rows ``(o, i_1, .., i_q, bits of c as a float64)``: the coefficient is stored exactly, and the table is
        left unchanged by ``.to(dtype)``.

    Raises
    ------
    ValueError
        When a term does not name exactly ``num_inputs`` rows, or names a negative row.

    Examples
    --------
    >>> tab = sparse_multilinear_table([(0, (1, 2), 0.5)], num_inputs=2)
    >>> tab[:, :3].tolist(), tab[:, 3].view(torch.float64).tolist()
    ([[0, 1, 2]], [0.5])
    """
    rows = []
    coef = []
    for o, idx, c in terms:
        idx = tuple(int(i) for i in idx)
        if len(idx) != num_inputs:
            raise ValueError(f"expected each term to name {num_inputs} input rows, got {len(idx)}: {idx}")
        if int(o) < 0 or min(idx, default=0) < 0:
            raise ValueError(f"expected non-negative rows in every term, got output {o} and inputs {idx}")
        rows.append((int(o),) + idx)
        coef.append(float(c))
    index = torch.tensor(rows, dtype=torch.int64).reshape(len(rows), num_inputs + 1)
    bits = torch.tensor(coef, dtype=torch.float64).view(torch.int64).reshape(len(rows), 1)
    return torch.cat([index, bits], dim=1).contiguous()


def _check(inputs: Sequence[torch.Tensor], table: torch.Tensor) -> None:
    if len(inputs) == 0:
        raise ValueError("expected at least one input, got none")
    if table.dim() != 2 or table.shape[1] != len(inputs) + 2 or table.dtype != torch.int64:
        raise ValueError(
            f"expected an int64 table of shape (E, {len(inputs) + 2}) for {len(inputs)} inputs, "
            f"got {table.dtype} of shape {tuple(table.shape)}"
        )
    columns = inputs[0].shape[-1] if inputs[0].dim() == 2 else None
    for s, z in enumerate(inputs):
        if z.dim() != 2 or z.shape[1] != columns or z.dtype != inputs[0].dtype:
            raise ValueError(
                f"expected every input to be 2-D (rows, {columns}) of dtype {inputs[0].dtype}, "
                f"got input {s}: {z.dtype} of shape {tuple(z.shape)}"
            )


def sparse_multilinear_reference(
    inputs: Sequence[torch.Tensor], table: torch.Tensor, dim_out: int
) -> torch.Tensor:
    """The pure-torch executor of :func:`sparse_multilinear`: one gathered product per term, then a scatter-add.

    It holds an ``(E, columns)`` temporary, so it is the slow path; it runs on any device and dtype.

    Examples
    --------
    >>> tab = sparse_multilinear_table([(0, (0, 0), 1.0), (1, (0, 1), 2.0)], num_inputs=2)
    >>> z = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    >>> sparse_multilinear_reference([z, z], tab, 2).tolist()
    [[1.0, 4.0], [6.0, 16.0]]
    """
    _check(inputs, table)
    table = table.to(inputs[0].device)
    coef = table[:, -1].contiguous().view(torch.float64).to(inputs[0].dtype)
    terms = coef.unsqueeze(1)
    for s, z in enumerate(inputs):
        terms = terms * z.index_select(0, table[:, 1 + s])
    out = terms.new_zeros(dim_out, inputs[0].shape[1])
    return out.index_add(0, table[:, 0], terms)


@assume_constant_result
def _kernel_available() -> bool:
    return _kernels.kernels_available("multilinear")


def sparse_multilinear(
    inputs: Sequence[torch.Tensor], table: torch.Tensor, dim_out: int, *, use_kernel: bool = True
) -> torch.Tensor:
    """Evaluate a sparse multilinear map column by column.

    ``y[o, r] = sum over the terms (o, i_1, .., i_q, c) of c * inputs[0][i_1, r] * ... * inputs[q-1][i_q, r]``.

    Parameters
    ----------
    inputs : sequence of torch.Tensor
        ``q`` tensors ``(n_s, columns)`` of one dtype and device; one tensor may fill several slots.
    table : torch.Tensor
        From :func:`sparse_multilinear_table`.
    dim_out : int
        Number of output rows.
    use_kernel : bool
        Use the compiled CPU kernel where it applies (it is built, and the inputs are at most 8 float32 or
        float64 CPU tensors); everything else takes :func:`sparse_multilinear_reference`. ``False`` forces the
        reference. Default ``True``.

    Returns
    -------
    torch.Tensor
        ``(dim_out, columns)``, differentiable to any order in every input.

    Raises
    ------
    ValueError
        When the inputs are not 2-D tensors with one column count and dtype, or the table's width does not match
        the number of inputs.

    Examples
    --------
    >>> tab = sparse_multilinear_table([(0, (1, 1), 3.0)], num_inputs=2)
    >>> x = torch.tensor([[1.0, 1.0], [2.0, -1.0]])
    >>> sparse_multilinear([x, x], tab, 1).tolist()
    [[12.0, 3.0]]
    """
    if (
        use_kernel
        and 1 <= len(inputs) <= 8
        and inputs[0].dtype in _KERNEL_DTYPES
        and all(z.device.type == "cpu" for z in inputs)
        and table.device.type == "cpu"
        and _kernel_available()
    ):
        _check(inputs, table)
        identity = list(range(len(inputs) + 1))  # (torch.library's autograd cannot take an empty list)
        return torch.ops.e3torch_multilinear.forward(list(inputs), table, dim_out, identity)
    return sparse_multilinear_reference(inputs, table, dim_out)
