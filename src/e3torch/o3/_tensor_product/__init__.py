"""Tensor products of irreps: instructions, the plan, the executors and the ``TensorProduct`` modules."""

from e3torch.o3._tensor_product._instruction import CONNECTION_MODES, Instruction
from e3torch.o3._tensor_product._plan import Block, Path, TensorProductPlan, build_plan
from e3torch.o3._tensor_product._sub import (
    ElementwiseTensorProduct,
    FullTensorProduct,
    FullyConnectedTensorProduct,
    TensorSquare,
)
from e3torch.o3._tensor_product._tensor_product import TensorProduct

__all__ = [
    "CONNECTION_MODES",
    "Block",
    "ElementwiseTensorProduct",
    "FullTensorProduct",
    "FullyConnectedTensorProduct",
    "Instruction",
    "Path",
    "TensorProduct",
    "TensorProductPlan",
    "TensorSquare",
    "build_plan",
]
