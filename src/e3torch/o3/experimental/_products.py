"""``FullTensorProductv2`` and ``ElementwiseTensorProductv2``: e3nn 0.6's experimental products.

Both are unweighted tensor products whose paths are the Clebsch-Gordan coupling of one pair of input irreps into
one output irrep, scaled by ``sqrt(2l_out + 1)`` ("component") or ``sqrt((2l_1 + 1)(2l_2 + 1))`` ("norm"), with no
path normalization, and whose output irreps are sorted (not simplified). They are :class:`~e3torch.o3.TensorProduct`
subclasses, so they run on its fast executors and accept its broadcasting; what differs from the stable products is

- the state dict: e3nn stores the scaled Clebsch-Gordan blocks as buffers ``cg_{l1}_{l2}_{l_out}`` (one per triple
  of ``l``, in the order of first use) and nothing else; these modules keep the same buffers, with the same values,
  so ``load_state_dict(strict=True)`` works both ways (the forward runs from the plan, built from the same symbols);
- the inputs: ``FullTensorProductv2`` regroups them (sorts and merges, ``regroup_output=True``) and reads its input
  tensors in that layout, as e3nn does; ``ElementwiseTensorProductv2`` does not simplify them before aligning;
- mixed input dtypes are promoted to a common one.

Where e3nn 0.6 fails (repeated pairs of input irreps, e.g. ``regroup_output=False`` with ``"0e + 0e"``: its path
dictionary keeps one of them and its forward raises an IndexError), these modules compute every path.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

from e3torch.o3._irrep import Irrep
from e3torch.o3._irreps import Irreps
from e3torch.o3._tensor_product._sub import _aligned, _filter
from e3torch.o3._tensor_product._tensor_product import TensorProduct
from e3torch.o3._wigner_3j import wigner_3j

__all__ = ["ElementwiseTensorProductv2", "FullTensorProductv2"]

_NORMALIZATIONS = ("component", "norm")


def _keep(filter_ir_out: Iterable[Irrep | str] | Irreps | str | None) -> list[Irrep] | None:
    """The output filter; e3nn's experimental products also take an ``Irreps`` (or its string) here."""
    if isinstance(filter_ir_out, (Irreps, str)):
        return [mul_ir.ir for mul_ir in Irreps(filter_ir_out)]
    return _filter(filter_ir_out)


def _check_normalization(irrep_normalization: str, name: str) -> None:
    if irrep_normalization not in _NORMALIZATIONS:
        raise ValueError(
            f"{name}: expected irrep_normalization 'component' or 'norm', got {irrep_normalization!r}"
        )


class _SortedProduct(TensorProduct):
    """Shared part: the sorted output, e3nn's ``cg_*`` buffers as the whole state dict, promoted dtypes."""

    def __init__(
        self,
        irreps_in1: Irreps,
        irreps_in2: Irreps,
        pairs: list[tuple[int, int, int, Irrep]],
        mode: str,
        irrep_normalization: str,
    ) -> None:
        irreps_out, perm, inv = Irreps([(mul, ir) for _, _, mul, ir in pairs]).sort()
        instructions = [(i1, i2, perm[k], mode, False) for k, (i1, i2, _, _) in enumerate(pairs)]
        super().__init__(
            irreps_in1,
            irreps_in2,
            irreps_out,
            instructions,
            irrep_normalization=irrep_normalization,
            path_normalization="none",
        )
        #: position, among the paths in construction order, of each sorted output block (e3nn's ``inv``)
        self.inv = tuple(inv)
        self._non_persistent_buffers_set.update(
            self._buffers
        )  # weight, output_mask: not in e3nn's state dict
        dtype = torch.get_default_dtype()
        for i1, i2, _, ir in pairs:
            l1, l2 = irreps_in1[i1].ir.l, irreps_in2[i2].ir.l
            name = f"cg_{l1}_{l2}_{ir.l}"
            if name not in self._buffers:
                scale = ir.dim if irrep_normalization == "component" else (2 * l1 + 1) * (2 * l2 + 1)
                cg = wigner_3j(l1, l2, ir.l, dtype=torch.float64) * scale**0.5
                self.register_buffer(name, cg.to(dtype))

    def _save_to_state_dict(self, destination: dict[str, Any], prefix: str, keep_vars: bool) -> None:
        torch.nn.Module._save_to_state_dict(self, destination, prefix, keep_vars)  # the cg_* buffers only

    def _load_from_state_dict(
        self, state_dict: dict[str, Any], prefix: str, *args: Any, **kwargs: Any
    ) -> None:
        torch.nn.Module._load_from_state_dict(self, state_dict, prefix, *args, **kwargs)

    def forward(self, x: torch.Tensor, y: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
        """``x (..., irreps_in1.dim)``, ``y (..., irreps_in2.dim)`` to ``(..., irreps_out.dim)``; dtypes promoted."""
        if x.dtype != y.dtype:
            dtype = torch.promote_types(x.dtype, y.dtype)
            x, y = x.to(dtype), y.to(dtype)
        return super().forward(x, y, weight)


class FullTensorProductv2(_SortedProduct):
    r"""e3nn 0.6's ``o3.experimental.FullTensorProductv2``: :math:`z_{uv} = x_u \otimes y_v` for every pair of irreps.

    Parameters
    ----------
    irreps_in1, irreps_in2 : Irreps or str
        Irreps of the inputs; regrouped (sorted and merged) when ``regroup_output``, and the input tensors are then
        read in the regrouped layout, as in e3nn.
    filter_ir_out : Irreps, str or iterable of Irrep, optional
        Keep only these output irreps.
    irrep_normalization : {"component", "norm"}
        Scale of the Clebsch-Gordan blocks (no path normalization).
    regroup_output : bool
        Regroup the inputs (default ``True``).

    Raises
    ------
    ValueError
        For another ``irrep_normalization``.

    Examples
    --------
    >>> tp = FullTensorProductv2("1x1o + 2x0e", "1x1o")
    >>> tp.irreps_in1, tp.irreps_out
    (2x0e+1x1o, 1x0e+2x1o+1x1e+1x2e)
    >>> sorted(tp.state_dict())
    ['cg_0_1_1', 'cg_1_1_0', 'cg_1_1_1', 'cg_1_1_2']
    """

    def __init__(
        self,
        irreps_in1: Irreps | str,
        irreps_in2: Irreps | str,
        *,
        filter_ir_out: Iterable[Irrep | str] | Irreps | str | None = None,
        irrep_normalization: str = "component",
        regroup_output: bool = True,
    ) -> None:
        _check_normalization(irrep_normalization, "FullTensorProductv2")
        irreps_in1, irreps_in2 = Irreps(irreps_in1), Irreps(irreps_in2)
        if regroup_output:
            irreps_in1, irreps_in2 = irreps_in1.regroup(), irreps_in2.regroup()
        keep = _keep(filter_ir_out)
        pairs = [
            (i1, i2, mul1 * mul2, ir)
            for i1, (mul1, ir1) in enumerate(irreps_in1)
            for i2, (mul2, ir2) in enumerate(irreps_in2)
            for ir in ir1 * ir2
            if keep is None or ir in keep
        ]
        super().__init__(irreps_in1, irreps_in2, pairs, "uvuv", irrep_normalization)


class ElementwiseTensorProductv2(_SortedProduct):
    r"""e3nn 0.6's ``o3.experimental.ElementwiseTensorProductv2``: :math:`z_u = x_u \otimes y_u`, outputs sorted.

    Parameters
    ----------
    irreps_in1, irreps_in2 : Irreps or str
        Irreps of the inputs, with the same number of irreps; their entries are split (not simplified first) so
        that the multiplicities match one to one.
    filter_ir_out : Irreps, str or iterable of Irrep, optional
        Keep only these output irreps.
    irrep_normalization : {"component", "norm"}
        Scale of the Clebsch-Gordan blocks (no path normalization).

    Raises
    ------
    ValueError
        When the inputs have different numbers of irreps, or for another ``irrep_normalization``.

    Examples
    --------
    >>> tp = ElementwiseTensorProductv2("2x1o", "1x0e + 1x1o")
    >>> tp.irreps_in1, tp.irreps_in2, tp.irreps_out
    (1x1o+1x1o, 1x0e+1x1o, 1x0e+1x1o+1x1e+1x2e)
    """

    def __init__(
        self,
        irreps_in1: Irreps | str,
        irreps_in2: Irreps | str,
        *,
        filter_ir_out: Iterable[Irrep | str] | Irreps | str | None = None,
        irrep_normalization: str = "component",
    ) -> None:
        _check_normalization(irrep_normalization, "ElementwiseTensorProductv2")
        irreps_in1, irreps_in2 = Irreps(irreps_in1), Irreps(irreps_in2)
        if irreps_in1.num_irreps != irreps_in2.num_irreps:
            raise ValueError(
                "ElementwiseTensorProductv2: expected inputs with the same number of irreps, got "
                f"{irreps_in1} ({irreps_in1.num_irreps} irreps) and {irreps_in2} ({irreps_in2.num_irreps} irreps)"
            )
        irreps_in1, irreps_in2 = _aligned(irreps_in1, irreps_in2)
        keep = _keep(filter_ir_out)
        pairs = [
            (i, i, mul, ir)
            for i, ((mul, ir1), (_, ir2)) in enumerate(zip(irreps_in1, irreps_in2))
            for ir in ir1 * ir2
            if keep is None or ir in keep
        ]
        super().__init__(irreps_in1, irreps_in2, pairs, "uuu", irrep_normalization)
