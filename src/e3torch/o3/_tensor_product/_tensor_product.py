"""``TensorProduct``: the module that validates, normalizes and runs a tensor-product plan."""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import torch

from e3torch.o3._irreps import Irreps
from e3torch.o3._tensor_product._fast import FastExecutor
from e3torch.o3._tensor_product._instruction import Instruction, normalize_instructions
from e3torch.o3._tensor_product._naive import NaiveExecutor
from e3torch.o3._tensor_product._plan import TensorProductPlan, build_plan

__all__ = ["EXECUTORS", "TensorProduct"]

EXECUTORS: tuple[str, ...] = ("fast", "naive")

# e3nn 0.6.0 keeps some constants of its generated code in its state_dict, under these submodule names.
_E3NN_CODE_MODULES: tuple[str, ...] = ("_compiled_main_left_right", "_compiled_main_right")


def _executor_class(name: str) -> type[torch.nn.Module]:
    if not isinstance(name, str) or name not in EXECUTORS:
        raise ValueError(f"executor must be one of {EXECUTORS}, got {name!r}")
    return FastExecutor if name == "fast" else NaiveExecutor


def _e3nn_constant_keys(plan: TensorProductPlan, right: bool) -> dict[str, tuple[Any, ...]]:
    """Names of the constants e3nn 0.6.0 stores for its generated ``left_right`` (or ``right``) code, and their sources.

    e3nn keeps a Wigner 3j buffer ``_w3j_{l1}_{l2}_{l3}`` for every path of nonzero size except the ones its code
    specializes (observed: paths with a scalar operand or output in some modes, and ``uuu`` 1 x 1 -> 1 in
    ``left_right``), and a ``_triu_indices_{mul}`` buffer for the ``u < v`` modes.
    """
    keys: dict[str, tuple[Any, ...]] = {}
    for path in plan.paths:
        b1, b2, bo = plan.in1[path.i_in1], plan.in2[path.i_in2], plan.out[path.i_out]
        if 0 in (b1.size, b2.size, bo.size):
            continue
        scalar = 0 in (b1.l, b2.l, bo.l)
        if right:
            special = scalar and (
                path.mode in ("uvw", "uuu") or (path.has_weight and path.mode in ("uvu", "uvv"))
            )
        else:
            special = scalar and (
                path.mode in ("uvw", "uvv") or (path.has_weight and path.mode in ("uvu", "uuw"))
            )
            special = special or (path.mode == "uuu" and (scalar or (b1.l, b2.l, bo.l) == (1, 1, 1)))
        if not special:
            keys.setdefault(f"_w3j_{b1.l}_{b2.l}_{bo.l}", ("w3j", path))
        if path.mode in ("uvu<v", "u<vw"):
            keys.setdefault(f"_triu_indices_{b1.mul}", ("triu", b1.mul))
    return keys


def _broadcast_batch(shapes: Sequence[tuple[str, torch.Size]]) -> tuple[int, ...]:
    """Broadcast the batch shapes, raising a ValueError that names the operands when they do not broadcast."""
    ndim = max(len(s) for _, s in shapes)
    result = []
    for axis in range(-ndim, 0):
        sizes = {s[axis] for _, s in shapes if len(s) >= -axis and s[axis] != 1}
        if len(sizes) > 1:
            desc = ", ".join(f"{name} {tuple(s)}" for name, s in shapes)
            raise ValueError(f"batch shapes do not broadcast: got {desc}")
        result.append(sizes.pop() if sizes else 1)
    return tuple(result)


class TensorProduct(torch.nn.Module):
    r"""Tensor product with parametrized paths, :math:`z = w\, x \otimes y`, as in e3nn 0.6.0.

    Each instruction ``(i_1, i_2, i_out, mode, has_weight[, path_weight])`` puts ``in1[i_1]`` :math:`\otimes`
    ``in2[i_2]`` into ``out[i_out]`` through the Wigner 3j symbols, with connection ``mode`` one of ``'uvw'``,
    ``'uvu'``, ``'uvv'``, ``'uuw'``, ``'uuu'``, ``'uvuv'``, ``'uvu<v'``, ``'u<vw'``. Numbers, weight layout and
    state_dict are e3nn's.

    Parameters
    ----------
    irreps_in1, irreps_in2, irreps_out : Irreps or str
        Irreps of the two inputs and of the output.
    instructions : list of tuple
        ``(i_1, i_2, i_out, mode, has_weight[, path_weight])``; ``path_weight`` defaults to 1.
    in1_var, in2_var, out_var : list of float or Tensor, optional
        Variance of each entry of the inputs and the output; default 1.
    irrep_normalization : {"component", "norm", "none"}, optional
        Normalization of the irreps; default ``"component"``.
    path_normalization : {"element", "path", "none"}, optional
        Normalization of the paths into one output; default ``"element"``.
    internal_weights : bool, optional
        Whether the module holds its weights as a parameter; default: when the weights are shared and some path has
        weights.
    shared_weights : bool, optional
        Whether one weight vector serves the whole batch; default True (False when ``internal_weights`` is False).
    compile_left_right, compile_right : bool
        Accepted for compatibility; they only decide which e3nn code constants appear in the state_dict. ``forward``
        and ``right`` always work.
    normalization : str, optional
        Deprecated alias of ``irrep_normalization``.
    _specialized_code, _optimize_einsums : optional
        Accepted and ignored.
    executor : {"fast", "naive"}, keyword-only
        The executor (an extension of e3nn): ``"fast"`` (fused kernels) or ``"naive"`` (dense einsum reference).
    wigner_3j_convention : {"e3nn", "e3nn-0.4"}, keyword-only
        Sign convention of the Wigner 3j symbols of the paths (an extension of e3nn): ``"e3nn"`` (e3nn >= 0.5, the
        default) or ``"e3nn-0.4"``, with which the module computes what e3nn 0.4.x computed for the same
        arguments and weights (0.4's symbols have the other sign for some triplets, e.g. ``(1, 2, 2)``). It is
        part of the module (kept by pickling and deepcopy, shown in the repr when not the default); the
        ``state_dict`` does not record it. e3torch's compat layer sets it when it loads e3nn 0.4.x pickles.

    Examples
    --------
    Cross product of 16 vectors with 16 vectors, :math:`z_u = x_u \wedge y_u`:

    >>> import torch
    >>> tp = TensorProduct("16x1o", "16x1o", "16x1e", [(0, 0, 0, "uuu", False)])
    >>> tp
    TensorProduct(16x1o x 16x1o -> 16x1e | 16 paths | 0 weights)
    >>> tp(torch.randn(10, 48), torch.randn(10, 48)).shape
    torch.Size([10, 48])

    A learnable fully connected product of vectors into scalars:

    >>> tp = TensorProduct("4x1o", "2x1o", "3x0e", [(0, 0, 0, "uvw", True)])
    >>> tp.weight_numel, tp.weight.shape, round(tp.instructions[0].path_weight, 4)
    (24, torch.Size([24]), 0.3536)

    With e3nn 0.4.x's Wigner 3j signs, a ``1o x 2e -> 2o`` path gives the opposite numbers:

    >>> old = TensorProduct("1x1o", "1x2e", "1x2o", [(0, 0, 0, "uuu", False)], wigner_3j_convention="e3nn-0.4")
    >>> old
    TensorProduct(1x1o x 1x2e -> 1x2o | 1 paths | 0 weights | wigner_3j_convention='e3nn-0.4')
    >>> new = TensorProduct("1x1o", "1x2e", "1x2o", [(0, 0, 0, "uuu", False)])
    >>> x, y = torch.randn(3), torch.randn(5)
    >>> torch.allclose(old(x, y), -new(x, y))
    True
    """

    def __init__(
        self,
        irreps_in1: Irreps | str,
        irreps_in2: Irreps | str,
        irreps_out: Irreps | str,
        instructions: Sequence[Sequence[Any]],
        in1_var: Sequence[float] | torch.Tensor | None = None,
        in2_var: Sequence[float] | torch.Tensor | None = None,
        out_var: Sequence[float] | torch.Tensor | None = None,
        irrep_normalization: str | None = None,
        path_normalization: str | None = None,
        internal_weights: bool | None = None,
        shared_weights: bool | None = None,
        compile_left_right: bool = True,
        compile_right: bool = False,
        normalization: str | None = None,
        _specialized_code: bool | None = None,
        _optimize_einsums: bool | None = None,
        *,
        executor: str = "fast",
        wigner_3j_convention: str = "e3nn",
    ) -> None:
        super().__init__()
        if normalization is not None:
            warnings.warn(
                "`normalization` is deprecated. Use `irrep_normalization` instead.", DeprecationWarning
            )
            irrep_normalization = normalization
        executor_class = _executor_class(executor)
        self.irreps_in1 = Irreps(irreps_in1)
        self.irreps_in2 = Irreps(irreps_in2)
        self.irreps_out = Irreps(irreps_out)
        given = normalize_instructions(self.irreps_in1, self.irreps_in2, self.irreps_out, instructions)
        plan = build_plan(
            self.irreps_in1, self.irreps_in2, self.irreps_out, given, in1_var, in2_var, out_var,
            irrep_normalization, path_normalization, wigner_3j_convention,
        )  # fmt: skip
        self.plan = plan
        self.wigner_3j_convention = plan.wigner_3j_convention
        self.instructions = [ins._replace(path_weight=p.coefficient) for ins, p in zip(given, plan.paths)]

        if shared_weights is False and internal_weights is None:
            internal_weights = False
        if shared_weights is None:
            shared_weights = True
        if internal_weights is None:
            internal_weights = shared_weights and any(ins.has_weight for ins in self.instructions)
        if internal_weights and not shared_weights:
            raise ValueError(
                "internal_weights=True needs shared weights, expected shared_weights=True, got False"
            )
        self.shared_weights = bool(shared_weights)
        self.internal_weights = bool(internal_weights)
        self.weight_numel = plan.weight_numel
        if self.internal_weights and self.weight_numel > 0:
            self.weight = torch.nn.Parameter(torch.randn(self.weight_numel))
        else:
            self.register_buffer("weight", torch.empty(0))
        reached = {ins.i_out for ins in self.instructions if math.prod(ins.path_shape) > 0}
        mask = [torch.full((b.size,), float(i in reached)) for i, b in enumerate(plan.out)]
        self.register_buffer("output_mask", torch.cat(mask) if mask else torch.ones(0))

        # plain numbers for forward: no Irreps objects at call time
        self._in1_dim, self._in2_dim, self._out_dim = plan.dim_in1, plan.dim_in2, plan.dim_out
        self._irreps_names = (str(self.irreps_in1), str(self.irreps_in2), str(self.irreps_out))
        self._weighted_shapes = tuple(tuple(ins.path_shape) for ins in self.instructions if ins.has_weight)
        self._executor = executor_class(plan)
        self._executor_name = executor_class.__name__
        self._e3nn_constants = {
            f"{module}.{key}": value
            for module, flag, right in zip(
                _E3NN_CODE_MODULES, (compile_left_right, compile_right), (False, True)
            )
            if flag
            for key, value in _e3nn_constant_keys(plan, right).items()
        }

    # ----------------------------------------------------------------------------------------------- state_dict
    def _save_to_state_dict(self, destination: dict[str, Any], prefix: str, keep_vars: bool) -> None:
        super()._save_to_state_dict(destination, prefix, keep_vars)
        like = self.output_mask
        for key, (kind, value) in self._e3nn_constants.items():
            if kind == "w3j":
                tensor = self.plan.dense_cg(value).to(dtype=like.dtype, device=like.device)
            else:
                tensor = torch.triu_indices(value, value, 1, device=like.device)
            destination[prefix + key] = tensor

    def _load_from_state_dict(
        self, state_dict: dict[str, Any], prefix: str, *args: Any, **kwargs: Any
    ) -> None:
        for key in [k for k in state_dict if k.startswith(prefix)]:
            if key[len(prefix) :].split(".", 1)[0] in _E3NN_CODE_MODULES:
                del state_dict[key]  # e3nn's code constants: ours are rebuilt from the plan
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    # -------------------------------------------------------------------------------------------------- weights
    def _get_weights(self, weight: torch.Tensor | Sequence[torch.Tensor] | None) -> torch.Tensor:
        if weight is None:
            if self.weight_numel > 0 and not self.internal_weights:
                shape = f"({self.weight_numel},)" if self.shared_weights else f"(..., {self.weight_numel})"
                raise ValueError(
                    "weights must be provided when the TensorProduct does not have internal_weights: expected a "
                    f"weight of shape {shape}, got None"
                )
            if self.weight_numel == 0:
                return self.output_mask.new_zeros(0)  # no batch dimension, even for unshared weights
            return self.weight
        if isinstance(weight, (list, tuple)):
            weight = self._concat_weights(weight)
        if not isinstance(weight, torch.Tensor):
            raise TypeError(
                f"weight must be a torch.Tensor or a list of tensors, got {type(weight).__name__}"
            )
        if self.shared_weights:
            if tuple(weight.shape) != (self.weight_numel,):
                raise ValueError(
                    f"expected a shared weight of shape ({self.weight_numel},), got shape {tuple(weight.shape)}"
                )
        elif weight.dim() < 2 or weight.shape[-1] != self.weight_numel:
            raise ValueError(
                f"expected unshared weights of shape (..., {self.weight_numel}) with a batch dimension, "
                f"got shape {tuple(weight.shape)}"
            )
        return weight

    def _concat_weights(self, weights: Sequence[torch.Tensor]) -> torch.Tensor:
        shapes = self._weighted_shapes
        if len(weights) != len(shapes):
            raise ValueError(f"expected a list of {len(shapes)} weight tensors, got {len(weights)}")
        flat = []
        for n, (w, shape) in enumerate(zip(weights, shapes)):
            if tuple(w.shape[w.dim() - len(shape) :]) != tuple(shape):
                raise ValueError(
                    f"expected weight {n} of shape (...,) + {tuple(shape)}, got {tuple(w.shape)}"
                )
            flat.append(w.reshape(w.shape[: w.dim() - len(shape)] + (-1,)))
        if not flat:
            return self.output_mask.new_zeros(0)
        batch = torch.broadcast_shapes(*(f.shape[:-1] for f in flat))
        return torch.cat([f.expand(batch + f.shape[-1:]) for f in flat], dim=-1)

    def weight_view_for_instruction(
        self, instruction: int, weight: torch.Tensor | None = None
    ) -> torch.Tensor:
        """View of the weights of one instruction.

        Parameters
        ----------
        instruction : int
            Index of an instruction with ``has_weight`` True.
        weight : torch.Tensor, optional
            Like the ``weight`` argument of :meth:`forward`; default the internal weights.

        Returns
        -------
        torch.Tensor
            A view of shape ``(...,) + path_shape``.

        Examples
        --------
        >>> tp = TensorProduct("2x1o", "3x1o", "2x0e", [(0, 0, 0, "uvu", True)])
        >>> tp.weight_view_for_instruction(0).shape
        torch.Size([2, 3])
        """
        if not -len(self.instructions) <= instruction < len(self.instructions):
            raise ValueError(
                f"instruction index out of range: expected 0 <= index < {len(self.instructions)}, got {instruction}"
            )
        ins, path = self.instructions[instruction], self.plan.paths[instruction]
        if not ins.has_weight:
            raise ValueError(f"Instruction {instruction} has no weights.")
        weight = self._get_weights(weight)
        batch = weight.shape[:-1]
        return weight.narrow(-1, path.weight_offset, path.weight_numel).view(batch + tuple(ins.path_shape))

    def weight_views(
        self, weight: torch.Tensor | None = None, yield_instruction: bool = False
    ) -> Iterator[torch.Tensor | tuple[int, Instruction, torch.Tensor]]:
        """Iterate over the weight views of the weighted instructions.

        Parameters
        ----------
        weight : torch.Tensor, optional
            Like the ``weight`` argument of :meth:`forward`; default the internal weights.
        yield_instruction : bool
            Whether to yield ``(instruction_index, instruction, view)`` instead of the view alone.

        Yields
        ------
        torch.Tensor or tuple
            Views of shape ``(...,) + path_shape``.

        Examples
        --------
        >>> tp = TensorProduct("2x0e+1x1o", "1x1o", "1x1o+2x0e", [(0, 0, 0, "uvw", True), (1, 0, 1, "uvw", True)])
        >>> [(i, tuple(w.shape)) for i, _, w in tp.weight_views(yield_instruction=True)]
        [(0, (2, 1, 1)), (1, (1, 1, 2))]
        """
        weight = self._get_weights(weight)
        batch = weight.shape[:-1]
        for i, (ins, path) in enumerate(zip(self.instructions, self.plan.paths)):
            if ins.has_weight:
                view = weight.narrow(-1, path.weight_offset, path.weight_numel).view(
                    batch + tuple(ins.path_shape)
                )
                yield (i, ins, view) if yield_instruction else view

    # ---------------------------------------------------------------------------------------------- evaluation
    def _check_last_dim(self, name: str, x: torch.Tensor, operand: int) -> None:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"expected {name} to be a torch.Tensor, got {type(x).__name__}")
        dim = (self._in1_dim, self._in2_dim)[operand]
        if x.dim() == 0 or x.shape[-1] != dim:
            raise ValueError(
                f"expected {name} with last dimension {dim} (irreps {self._irreps_names[operand]}), "
                f"got shape {tuple(x.shape)}"
            )

    def _run(
        self, x: torch.Tensor, y: torch.Tensor, weight: torch.Tensor, batch: tuple[int, ...]
    ) -> torch.Tensor:
        """Broadcast to ``batch``, flatten to 2-D, execute and restore the batch shape."""
        z = math.prod(batch)
        d_out = self._out_dim
        if z == 0 or d_out == 0:
            return x.new_zeros(batch + (d_out,)) + 0 * (x.sum() + y.sum() + weight.sum())
        x = x.expand(batch + x.shape[-1:]).reshape(z, x.shape[-1])
        y = y.expand(batch + y.shape[-1:]).reshape(z, y.shape[-1])
        if not self.shared_weights:
            if weight.dim() < 2:  # no weights needed and none given
                weight = x.new_zeros(z, 0)
            else:
                weight = weight.expand(batch + weight.shape[-1:]).reshape(z, weight.shape[-1])
        return self._executor(x, y, weight).reshape(batch + (d_out,))

    def forward(
        self, x: torch.Tensor, y: torch.Tensor, weight: torch.Tensor | Sequence[torch.Tensor] | None = None
    ) -> torch.Tensor:
        """Evaluate :math:`w\\, x \\otimes y`.

        Parameters
        ----------
        x : torch.Tensor
            ``(..., irreps_in1.dim)``
        y : torch.Tensor
            ``(..., irreps_in2.dim)``
        weight : torch.Tensor or list of torch.Tensor, optional
            ``(weight_numel,)`` if ``shared_weights`` else ``(..., weight_numel)``, or one tensor per weighted
            instruction of shape ``(...,) + path_shape``. Default: the internal weights.

        Returns
        -------
        torch.Tensor
            ``(..., irreps_out.dim)``, the batch dimensions of the inputs (and weights) broadcast.

        Examples
        --------
        >>> import torch
        >>> tp = TensorProduct("1x1o", "1x1o", "1x0e", [(0, 0, 0, "uuu", False)])
        >>> x = torch.tensor([1.0, 2.0, 3.0])
        >>> tp(x, x)  # |x|^2 / sqrt(3) with component normalization
        tensor([8.0829])
        """
        self._check_last_dim("x (input 1)", x, 0)
        self._check_last_dim("y (input 2)", y, 1)
        weight = self._get_weights(weight)
        if x.dim() == 2 and y.dim() == 2 and self._out_dim > 0:  # one flat batch (the usual call): nothing to broadcast
            z = x.shape[0]
            if z > 0 and y.shape[0] == z and (self.shared_weights or (weight.dim() == 2 and weight.shape[0] == z)):
                return self._executor(x, y, weight)
        shapes = [("x", x.shape[:-1]), ("y", y.shape[:-1])]
        if not self.shared_weights and weight.dim() >= 2:
            shapes.append(("weight", weight.shape[:-1]))
        return self._run(x, y, weight, _broadcast_batch(shapes))

    def right(
        self, y: torch.Tensor, weight: torch.Tensor | Sequence[torch.Tensor] | None = None
    ) -> torch.Tensor:
        r"""Partially evaluate :math:`w\, x \otimes y` at ``y``: the operator :math:`b` with :math:`z_k = x_i b_{ik}`.

        Apply it with ``torch.einsum("...ik,...i->...k", right, x)``.

        Parameters
        ----------
        y : torch.Tensor
            ``(..., irreps_in2.dim)``
        weight : torch.Tensor or list of torch.Tensor, optional
            As in :meth:`forward`.

        Returns
        -------
        torch.Tensor
            ``(..., irreps_in1.dim, irreps_out.dim)``

        Examples
        --------
        >>> import torch
        >>> tp = TensorProduct("2x1o", "1x0e", "2x1o", [(0, 0, 0, "uvu", False)])
        >>> tp.right(torch.ones(1)).shape
        torch.Size([6, 6])
        >>> torch.allclose(tp.right(torch.ones(1)), torch.eye(6))
        True
        """
        self._check_last_dim("y (input 2)", y, 1)
        weight = self._get_weights(weight)
        shapes = [("y", y.shape[:-1])]
        unshared = not self.shared_weights and weight.dim() >= 2
        if unshared:
            shapes.append(("weight", weight.shape[:-1]))
        batch = _broadcast_batch(shapes)
        d1 = self._in1_dim
        eye = torch.eye(d1, dtype=y.dtype, device=y.device)
        x = eye.reshape((1,) * len(batch) + (d1, d1))
        y = y.reshape(y.shape[:-1] + (1,) + y.shape[-1:])
        if unshared:
            weight = weight.reshape(weight.shape[:-1] + (1,) + weight.shape[-1:])
        return self._run(x, y, weight, batch + (d1,))

    # ---------------------------------------------------------------------------------------------- display
    def _repr_options(self) -> str:
        """`` | wigner_3j_convention='e3nn-0.4'`` when the convention is not the default, else ``''``."""
        convention = getattr(self, "wigner_3j_convention", "e3nn")  # absent in pickles of older e3torch
        return "" if convention == "e3nn" else f" | wigner_3j_convention={convention!r}"

    def __repr__(self) -> str:
        npath = sum(math.prod(ins.path_shape) for ins in self.instructions)
        return (
            f"{self.__class__.__name__}({self.irreps_in1.simplify()} x {self.irreps_in2.simplify()} -> "
            f"{self.irreps_out.simplify()} | {npath} paths | {self.weight_numel} weights{self._repr_options()})"
        )

    def visualize(
        self,
        weight: torch.Tensor | None = None,
        plot_weight: bool = True,
        aspect_ratio: float = 1,
        ax: Any = None,
    ) -> tuple[Any, Any]:
        """Draw the connectivity of the tensor product with matplotlib (imported here only).

        Parameters
        ----------
        weight : torch.Tensor, optional
            Like the ``weight`` argument of :meth:`forward`; default the internal weights.
        plot_weight : bool
            Whether to color the weighted paths by the sum of their absolute weights.
        aspect_ratio : float
            Height over width of the drawing.
        ax : matplotlib.axes.Axes, optional
            Where to draw; default a new figure.

        Returns
        -------
        (fig, ax)

        Examples
        --------
        >>> import pytest; _ = pytest.importorskip("matplotlib")
        >>> import matplotlib; matplotlib.use("Agg")
        >>> tp = TensorProduct("2x0e+1x1o", "1x1o", "1x1o+1x0e", [(0, 0, 0, "uvw", True), (1, 0, 1, "uvw", True)])
        >>> fig, ax = tp.visualize()
        """
        try:
            import matplotlib.pyplot as plt
        except ImportError as error:
            raise ImportError("TensorProduct.visualize needs matplotlib: pip install matplotlib") from error
        if ax is None:
            fig, ax = plt.subplots()
        else:
            fig = ax.get_figure()
        height = aspect_ratio * 1.0

        def place(n: int, x0: float, x1: float, y0: float, y1: float) -> list[tuple[float, float]]:
            ts = [(i + 1) / (n + 1) for i in range(n)]
            return [(x0 + t * (x1 - x0), y0 + t * (y1 - y0)) for t in ts]

        p1 = place(len(self.irreps_in1), 0.0, 0.4, height, 0.1 * height)  # left edge of the triangle
        p2 = place(len(self.irreps_in2), 1.0, 0.6, height, 0.1 * height)  # right edge
        po = place(len(self.irreps_out), 0.1, 0.9, 0.0, 0.0)  # bottom
        strengths = [1.0] * len(self.instructions)
        if plot_weight and self.weight_numel > 0 and (weight is not None or self.internal_weights):
            views = {i: w for i, _, w in self.weight_views(weight, yield_instruction=True)}
            strengths = [
                float(views[i].detach().abs().mean()) if i in views else 1.0 for i in range(len(strengths))
            ]
        top = max(strengths + [1e-12])
        for ins, strength in zip(self.instructions, strengths):
            color = plt.cm.viridis(strength / top) if plot_weight and ins.has_weight else "gray"
            (x1, y1), (x2, y2), (xo, yo) = p1[ins.i_in1], p2[ins.i_in2], po[ins.i_out]
            xm, ym = (x1 + x2) / 2, (y1 + y2) / 2 - 0.1 * height
            ax.plot([x1, xm, xo], [y1, ym, yo], color=color, alpha=0.8)
            ax.plot([x2, xm], [y2, ym], color=color, alpha=0.8)
        for points, irreps in ((p1, self.irreps_in1), (p2, self.irreps_in2), (po, self.irreps_out)):
            for (x, y), mul_ir in zip(points, irreps):
                ax.text(x, y, str(mul_ir), ha="center", va="center", bbox={"facecolor": "white"})
        ax.set_xlim(-0.1, 1.1)
        ax.set_ylim(-0.1 * height, 1.1 * height)
        ax.set_aspect("equal")
        ax.axis("off")
        return fig, ax
