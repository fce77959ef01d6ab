"""Tensor products of irreps: instructions, the plan, the executors and the ``TensorProduct`` modules."""

from e3torch.o3._tensor_product._instruction import CONNECTION_MODES, Instruction
from e3torch.o3._tensor_product._plan import Block, Path, TensorProductPlan, build_plan

__all__ = ["CONNECTION_MODES", "Instruction", "Block", "Path", "TensorProductPlan", "build_plan"]
