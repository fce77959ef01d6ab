"""Tensor products of irreps: instructions, the plan, the executors and the ``TensorProduct`` modules."""

from e3torch.o3._tensor_product._instruction import CONNECTION_MODES, Instruction
from e3torch.o3._tensor_product._plan import Block, Path, TensorProductPlan, build_plan
from e3torch.o3._tensor_product._tensor_product import TensorProduct
from e3torch.o3._tensor_product._sub import (
    ElementwiseTensorProduct,
    FullTensorProduct,
    FullyConnectedTensorProduct,
    TensorSquare,
)

__all__ = [
    "CONNECTION_MODES",
    "Instruction",
    "Block",
    "Path",
    "TensorProductPlan",
    "build_plan",
    "TensorProduct",
    "FullyConnectedTensorProduct",
    "ElementwiseTensorProduct",
    "FullTensorProduct",
    "TensorSquare",
]
