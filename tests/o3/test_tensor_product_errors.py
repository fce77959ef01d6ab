"""Every error message of the tensor products: bad instructions, options, inputs and weights."""

from __future__ import annotations

import pytest
import torch

from e3torch import o3
from e3torch.o3._tensor_product._instruction import num_elements, path_shape

FC = ("2x0e+1x1o", "1x0e+1x1o", "2x0e+1x1o")  # dims 5, 4, 5; 9 weights


def tp(instructions, irreps=("2x1o", "3x1o", "2x0e"), **kwargs):
    return o3.TensorProduct(*irreps, instructions, executor="naive", **kwargs)


@pytest.mark.parametrize(
    "instructions, irreps, match",
    [
        ([(0, 0, 0, "uvx", True)], None, r"unknown connection mode: expected one of uvw, .*, got 'uvx'"),
        ([(0, 0, 0, "uvw", True)], ("1x1o", "1x1o", "1x1o"), r"parity violation, expected output parity 1"),
        ([(0, 0, 0, "uvw", True)], ("1x1o", "1x1o", "1x3e"), r"triangle violation, expected 0 <= l_out <= 2"),
        ([(0, 0, 0, "uvu", True)], ("2x1o", "3x1o", "3x0e"), r"'uvu' needs output multiplicity 2, got 3"),
        ([(0, 0, 0, "uvv", True)], ("2x1o", "3x1o", "2x0e"), r"'uvv' needs output multiplicity 3, got 2"),
        (
            [(0, 0, 0, "uuu", True)],
            ("2x1o", "3x1o", "2x0e"),
            r"'uuu' needs equal input multiplicities, got 2 and 3",
        ),
        ([(0, 0, 0, "uuw", False)], ("2x1o", "2x1o", "2x0e"), r"'uuw' needs output multiplicity 1, got 2"),
        ([(0, 0, 0, "uvuv", False)], ("2x1o", "3x1o", "5x0e"), r"'uvuv' needs output multiplicity 6, got 5"),
        (
            [(0, 0, 0, "uvu<v", False)],
            ("3x1o", "3x1o", "2x0e"),
            r"'uvu<v' needs output multiplicity 3, got 2",
        ),
        ([(0, 0, 0, "u<vw", True)], ("3x1o", "2x1o", "2x0e"), r"'u<vw' needs equal input multiplicities"),
        ([(0, 0, 0, "uvw", False)], None, r"mode 'uvw' needs weights, expected has_weight=True, got False"),
        ([(0, 0, 0, "u<vw", False)], ("2x1o", "2x1o", "2x0e"), r"mode 'u<vw' needs weights"),
        (
            [(0, 0, 1, "uvw", True)],
            None,
            r"instruction 0: i_out out of range, expected an index in \[0, 1\), got 1",
        ),
        ([(0, 0, 0, "uvw", True), (2, 0, 0, "uvw", True)], None, r"instruction 1: i_in1 out of range"),
        ([(0, -2, 0, "uvw", True)], None, r"i_in2 out of range, expected an index in \[0, 1\), got -2"),
        (
            [(0, 0, 0, "uvw")],
            None,
            r"expected a tuple \(i_in1, i_in2, i_out, mode, has_weight\[, path_weight\]\)",
        ),
        ([(0, 0, 0, "uvw", True, -1.0)], None, r"path_weight must be >= 0, got -1.0"),
    ],
)
def test_bad_instructions(instructions, irreps, match):
    with pytest.raises(ValueError, match=match):
        tp(instructions, irreps or ("2x1o", "3x1o", "2x0e"))


def test_bad_instruction_types():
    with pytest.raises(TypeError, match="i_in1 must be an int, got float"):
        tp([(0.0, 0, 0, "uvw", True)])
    with pytest.raises(ValueError, match="unknown connection mode"):
        path_shape("abc", 1, 1, 1)
    with pytest.raises(ValueError, match="unknown connection mode"):
        num_elements(None, 1, 1)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (
            {"irrep_normalization": "foo"},
            r"irrep_normalization must be one of \('component', 'norm', 'none'\), got 'foo'",
        ),
        (
            {"path_normalization": "bar"},
            r"path_normalization must be one of \('element', 'path', 'none'\), got 'bar'",
        ),
        ({"in1_var": [1.0, 2.0]}, r"in1_var must have one variance per irrep: expected length 1, got 2"),
        ({"out_var": []}, r"out_var must have one variance per irrep: expected length 1, got 0"),
        ({"internal_weights": True, "shared_weights": False}, r"internal_weights=True needs shared weights"),
        ({"executor": "quick"}, r"executor must be one of \('fast', 'naive'\), got 'quick'"),
    ],
)
def test_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        o3.TensorProduct("2x1o", "3x1o", "2x0e", [(0, 0, 0, "uvw", True)], **kwargs)


def test_bad_inputs():
    m = o3.FullyConnectedTensorProduct(*FC, executor="naive")
    with pytest.raises(
        ValueError,
        match=r"expected x \(input 1\) with last dimension 5 \(irreps 2x0e\+1x1o\), got shape \(3, 6\)",
    ):
        m(torch.randn(3, 6), torch.randn(3, 4))
    with pytest.raises(
        ValueError,
        match=r"expected y \(input 2\) with last dimension 4 \(irreps 1x0e\+1x1o\), got shape \(3, 5\)",
    ):
        m(torch.randn(3, 5), torch.randn(3, 5))
    with pytest.raises(ValueError, match=r"expected y \(input 2\) with last dimension 4 .*got shape \(\)"):
        m.right(torch.tensor(1.0))
    with pytest.raises(ValueError, match=r"batch shapes do not broadcast: got x \(2,\), y \(3,\)"):
        m(torch.randn(2, 5), torch.randn(3, 4))
    with pytest.raises(TypeError, match="expected x \\(input 1\\) to be a torch.Tensor, got list"):
        m([0.0] * 5, torch.randn(4))


def test_bad_weights():
    shared = o3.FullyConnectedTensorProduct(*FC, internal_weights=False, executor="naive")
    x, y = torch.randn(3, 5), torch.randn(3, 4)
    with pytest.raises(
        ValueError, match=r"weights must be provided .* expected a weight of shape \(9,\), got None"
    ):
        shared(x, y)
    with pytest.raises(ValueError, match=r"expected a shared weight of shape \(9,\), got shape \(10,\)"):
        shared(x, y, torch.randn(10))
    with pytest.raises(ValueError, match=r"expected a shared weight of shape \(9,\), got shape \(3, 9\)"):
        shared(x, y, torch.randn(3, 9))
    internal = o3.FullyConnectedTensorProduct(*FC, executor="naive")
    with pytest.raises(ValueError, match=r"expected a shared weight of shape \(9,\), got shape \(8,\)"):
        internal(x, y, torch.randn(8))
    unshared = o3.FullyConnectedTensorProduct(*FC, shared_weights=False, executor="naive")
    with pytest.raises(
        ValueError, match=r"weights must be provided .* expected a weight of shape \(\.\.\., 9\)"
    ):
        unshared(x, y)
    with pytest.raises(
        ValueError,
        match=r"expected unshared weights of shape \(\.\.\., 9\) with a batch dimension, got shape \(9,\)",
    ):
        unshared(x, y, torch.randn(9))
    with pytest.raises(
        ValueError, match=r"expected unshared weights of shape \(\.\.\., 9\) .*got shape \(3, 8\)"
    ):
        unshared(x, y, torch.randn(3, 8))
    with pytest.raises(
        ValueError, match=r"batch shapes do not broadcast: got x \(3,\), y \(3,\), weight \(2,\)"
    ):
        unshared(x, y, torch.randn(2, 9))
    with pytest.raises(ValueError, match=r"expected a list of 4 weight tensors, got 1"):
        shared(x, y, [torch.randn(9)])
    with pytest.raises(
        ValueError, match=r"expected weight 0 of shape \(\.\.\.,\) \+ \(2, 1, 2\), got \(2, 2\)"
    ):
        shared(x, y, [torch.randn(2, 2)] * 4)
    with pytest.raises(TypeError, match="weight must be a torch.Tensor or a list of tensors, got str"):
        shared(x, y, "w")


def test_bad_weight_views():
    m = o3.TensorProduct("2x1o", "3x1o", "2x0e+2x0e", [(0, 0, 0, "uvu", True), (0, 0, 1, "uvu", False)])
    with pytest.raises(ValueError, match="Instruction 1 has no weights."):
        m.weight_view_for_instruction(1)
    with pytest.raises(ValueError, match=r"instruction index out of range: expected 0 <= index < 2, got 2"):
        m.weight_view_for_instruction(2)
    with pytest.raises(ValueError, match=r"expected a shared weight of shape \(6,\), got shape \(5,\)"):
        list(m.weight_views(torch.randn(5)))


def test_bad_subclass_arguments():
    with pytest.raises(
        ValueError, match=r"same number of irreps, got 2x0e \(2 irreps\) and 1x1o \(1 irreps\)"
    ):
        o3.ElementwiseTensorProduct("2x0e", "1x1o")
    with pytest.raises(ValueError, match="TensorSquare takes irreps_out or filter_ir_out, not both"):
        o3.TensorSquare("2x1o", "1x0e", filter_ir_out=["0e"])
    with pytest.raises(ValueError, match=r"irrep_normalization must be one of .*, got 'unit'"):
        o3.TensorSquare("2x1o", irrep_normalization="unit")
    with pytest.raises(TypeError, match=r"filter_ir_out must be an iterable of irreps .*, got str '0e'"):
        o3.FullTensorProduct("1x1o", "1x1o", filter_ir_out="0e")
    with pytest.raises(ValueError, match=r"path_normalization must be one of"):
        o3.FullyConnectedTensorProduct(*FC, path_normalization="paths")


def test_visualize_without_matplotlib(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError("no matplotlib")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match="TensorProduct.visualize needs matplotlib"):
        o3.FullyConnectedTensorProduct(*FC).visualize()
