"""e3torch.math.sparse_multilinear: the compiled kernel (multilinear.cpp) against the pure-torch reference and a
dense einsum, derivatives to third order, shared input slots, torch.compile and torch.export, fallbacks, errors."""

from __future__ import annotations

import pytest
import torch

from e3torch._kernels import kernels_available
from e3torch._kernels._multilinear_ops import gradient_perms
from e3torch.math import sparse_multilinear, sparse_multilinear_reference, sparse_multilinear_table

DT = torch.float64
needs_kernel = pytest.mark.skipif(
    not kernels_available("multilinear"), reason="the multilinear kernel is unavailable"
)


def _random_terms(
    rows: list[int], dim_out: int, count: int, seed: int
) -> list[tuple[int, tuple[int, ...], float]]:
    g = torch.Generator().manual_seed(seed)
    terms = []
    for _ in range(count):
        idx = tuple(int(torch.randint(0, n, (1,), generator=g)) for n in rows)
        terms.append(
            (int(torch.randint(0, dim_out, (1,), generator=g)), idx, float(torch.randn(1, generator=g)))
        )
    return terms


def _dense(terms: list, rows: list[int], dim_out: int) -> torch.Tensor:
    t = torch.zeros([dim_out] + rows, dtype=DT)
    for o, idx, c in terms:
        t[(o,) + idx] += c
    return t


@pytest.mark.parametrize("rows", [[3], [4, 5], [2, 3, 3], [3, 2, 2, 2], [2] * 6, [2] * 8])
@pytest.mark.parametrize("columns", [1, 63, 64, 130])
def test_matches_dense_einsum(rows: list[int], columns: int) -> None:
    """Every slot count the kernel specialises, full and partial column blocks, against an independent einsum."""
    terms = _random_terms(rows, 4, 25, seed=len(rows) * 1000 + columns)
    tab = sparse_multilinear_table(terms, len(rows))
    g = torch.Generator().manual_seed(columns)
    z = [torch.randn(n, columns, generator=g, dtype=DT) for n in rows]
    letters = "abcdefgh"[: len(rows)]
    expr = "o" + letters + "," + ",".join(f"{a}r" for a in letters) + "->or"
    want = torch.einsum(expr, _dense(terms, rows, 4), *z)
    for use_kernel in (True, False):
        got = sparse_multilinear(z, tab, 4, use_kernel=use_kernel)
        torch.testing.assert_close(got, want, rtol=0, atol=1e-12)


@needs_kernel
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_kernel_matches_reference_with_shared_slots(dtype: torch.dtype) -> None:
    """MACE's layout: weights in slot 0, the same feature tensor in the other slots; outputs and all gradients."""
    rows = [6, 5, 5, 5]
    terms = _random_terms(rows, 3, 200, seed=1)
    tab = sparse_multilinear_table(terms, 4)
    g = torch.Generator().manual_seed(2)
    w0 = torch.randn(6, 300, generator=g, dtype=dtype, requires_grad=True)
    x0 = torch.randn(5, 300, generator=g, dtype=dtype, requires_grad=True)
    tol = 1e-13 if dtype == DT else 1e-5
    results = []
    for fn in (sparse_multilinear, sparse_multilinear_reference):
        y = fn([w0, x0, x0, x0], tab, 3)
        gw, gx = torch.autograd.grad(y.square().sum(), (w0, x0), create_graph=True)
        (hx,) = torch.autograd.grad((gw.sum() + gx.square().sum()), x0)
        results.append((y, gw, gx, hx))
    for a, b in zip(*results):  # float32: the summation orders differ, so compare against the largest value
        torch.testing.assert_close(a, b, rtol=0, atol=tol * float(b.abs().max()))


@needs_kernel
def test_gradcheck_to_third_order() -> None:
    terms = _random_terms([3, 4, 4], 2, 30, seed=3)
    tab = sparse_multilinear_table(terms, 3)
    w = torch.randn(3, 5, dtype=DT, requires_grad=True)
    x = torch.randn(4, 5, dtype=DT, requires_grad=True)

    def fn(w: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return sparse_multilinear([w, x, x], tab, 2)

    assert torch.autograd.gradcheck(fn, (w, x))
    assert torch.autograd.gradgradcheck(fn, (w, x))

    def grad_x(w: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        (g,) = torch.autograd.grad(fn(w, x).sin().sum(), x, create_graph=True)
        return g

    assert torch.autograd.gradgradcheck(grad_x, (w, x))


@needs_kernel
def test_column_orders_read_the_table_as_a_gradient() -> None:
    """A gradient reads the forward's table with the output and one slot exchanged; orders are summed."""
    terms = _random_terms([3, 4, 4], 2, 30, seed=5)
    tab = sparse_multilinear_table(terms, 3)
    g = torch.Generator().manual_seed(6)
    w, x = torch.randn(3, 9, generator=g, dtype=DT), torch.randn(4, 9, generator=g, dtype=DT)
    gy = torch.randn(2, 9, generator=g, dtype=DT)
    op = torch.ops.e3torch_multilinear.forward
    assert gradient_perms([], 3, [1]) == [2, 0, 1, 3]
    swapped = tab[:, [2, 0, 1, 3, 4]]  # the gradient of slot 1 as an explicit table
    torch.testing.assert_close(
        op([gy, w, x], tab, 4, [2, 0, 1, 3]), op([gy, w, x], swapped, 4, []), rtol=0, atol=0
    )
    both = op([gy, w, x], tab, 4, gradient_perms([], 3, [1, 2]))
    want = op([gy, w, x], tab, 4, [2, 0, 1, 3]) + op([gy, w, x], tab, 4, [3, 0, 1, 2])
    torch.testing.assert_close(both, want, rtol=0, atol=1e-13)
    with pytest.raises(
        RuntimeError, match="expected the column orders to come in groups of 4, got 3 entries"
    ):
        op([w, x, x], tab, 2, [0, 1, 2])
    with pytest.raises(RuntimeError, match=r"expected table columns 0..3, got 4"):
        op([w, x, x], tab, 2, [0, 1, 2, 4])


@needs_kernel
def test_compile_fullgraph_and_export() -> None:
    tab = sparse_multilinear_table(_random_terms([3, 4, 4], 2, 20, seed=4), 3)

    class Poly(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("tab", tab)

        def forward(self, w: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
            return sparse_multilinear([w, x, x], self.tab, 2)

    module = Poly()
    w = torch.randn(3, 70, dtype=DT)
    x = torch.randn(4, 70, dtype=DT, requires_grad=True)
    want = module(w, x)
    (want_grad,) = torch.autograd.grad(want.sum(), x)
    compiled = torch.compile(module, fullgraph=True, dynamic=False)
    got = compiled(w, x)
    (got_grad,) = torch.autograd.grad(got.sum(), x)
    torch.testing.assert_close(got, want, rtol=0, atol=1e-12)
    torch.testing.assert_close(got_grad, want_grad, rtol=0, atol=1e-12)
    cols = torch.export.Dim("cols", min=2)
    program = torch.export.export(module, (w, x.detach()), dynamic_shapes=({1: cols}, {1: cols}))
    w2, x2 = torch.randn(3, 9, dtype=DT), torch.randn(4, 9, dtype=DT)
    torch.testing.assert_close(program.module()(w2, x2), module(w2, x2), rtol=0, atol=1e-12)


def test_other_devices_and_dtypes_take_the_reference() -> None:
    tab = sparse_multilinear_table([(0, (1, 1), 2.0)], 2)
    x = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.bfloat16)
    assert sparse_multilinear([x, x], tab, 1).tolist() == [[18.0, 32.0]]
    meta = torch.empty(2, 5, device="meta")
    assert sparse_multilinear([meta, meta], tab, 1).shape == (1, 5)


def test_no_terms_and_no_columns() -> None:
    tab = sparse_multilinear_table([], 2)
    assert tab.shape == (0, 4)
    x = torch.randn(3, 4, dtype=DT)
    assert torch.equal(sparse_multilinear([x, x], tab, 2), torch.zeros(2, 4, dtype=DT))
    tab = sparse_multilinear_table([(0, (1, 2), 1.0)], 2)
    empty = torch.randn(3, 0, dtype=DT)
    assert sparse_multilinear([empty, empty], tab, 1).shape == (1, 0)


def test_table_errors() -> None:
    with pytest.raises(ValueError, match=r"expected each term to name 2 input rows, got 3: \(0, 1, 2\)"):
        sparse_multilinear_table([(0, (0, 1, 2), 1.0)], 2)
    with pytest.raises(ValueError, match=r"expected non-negative rows in every term, got output -1"):
        sparse_multilinear_table([(-1, (0, 1), 1.0)], 2)


@pytest.mark.parametrize("use_kernel", [True, False])
def test_argument_errors(use_kernel: bool) -> None:
    tab = sparse_multilinear_table([(0, (0, 1), 1.0)], 2)
    x = torch.randn(2, 5, dtype=DT)
    with pytest.raises(ValueError, match=r"expected an int64 table of shape \(E, 5\) for 3 inputs, got"):
        sparse_multilinear([x, x, x], tab, 1, use_kernel=use_kernel)
    with pytest.raises(
        ValueError, match=r"expected every input to be 2-D \(rows, 5\) of dtype torch.float64, got"
    ):
        sparse_multilinear([x, torch.randn(2, 4, dtype=DT)], tab, 1, use_kernel=use_kernel)
    with pytest.raises(ValueError, match=r"got input 1: torch.float32"):
        sparse_multilinear([x, x.float()], tab, 1, use_kernel=use_kernel)
    with pytest.raises(ValueError, match="expected at least one input, got none"):
        sparse_multilinear([], tab, 1, use_kernel=use_kernel)


@needs_kernel
def test_operator_refuses_out_of_range_rows() -> None:
    """The C++ operator checks every row of the table before it reads or writes."""
    x = torch.randn(2, 5, dtype=DT)
    op = torch.ops.e3torch_multilinear.forward
    with pytest.raises(RuntimeError, match="table row 0 reads row 2 of input 1, expected 0 <= row < 2"):
        op([x, x], sparse_multilinear_table([(0, (0, 2), 1.0)], 2), 1, [])
    with pytest.raises(RuntimeError, match="table row 0 writes output row 3, expected 0 <= row < 1"):
        op([x, x], sparse_multilinear_table([(3, (0, 1), 1.0)], 2), 1, [])
    with pytest.raises(RuntimeError, match="expected 1 to 8 inputs, got 9"):
        op([x] * 9, torch.zeros(0, 11, dtype=torch.int64), 1, [])
