"""Pickle translators for e3nn 0.6's experimental products (``o3.experimental.FullTensorProductv2``, ...).

e3nn pickles them as ``e3nn.o3.experimental._full_tp.FullTensorProduct`` and
``e3nn.o3.experimental._elementwise_tp.ElementwiseTensorProduct`` with their inputs already regrouped (aligned), a
``paths`` dictionary keyed by ``(l1, p1, l2, p2, l_out, p_out)``, the sorting permutation ``inv`` and the scaled
Clebsch-Gordan buffers ``cg_*``. The output irreps kept are those of the paths, and the normalization is read off
the buffers: a Wigner 3j block has unit norm, so a buffer's norm is ``sqrt(2l_out + 1)`` for "component" and
``sqrt((2l1 + 1)(2l2 + 1))`` for "norm".

Examples
--------
>>> from e3torch.compat._pickle import registered
>>> "e3torch.o3.experimental:FullTensorProductv2" in registered()
True
"""

from __future__ import annotations

from typing import Any

import torch

from e3torch.compat._pickle import Translator, attrs, rebuild, register
from e3torch.o3._irrep import Irrep

__all__: list[str] = []

_ATTRS = attrs("irreps_in1 irreps_in2 irreps_out paths inv")
_MARKER = attrs("paths inv")


def _normalization(state: dict[str, Any]) -> str:
    """'component' or 'norm', from the norms of the pickled ``cg_{l1}_{l2}_{l3}`` buffers."""
    for key, tensor in state.get("_buffers", {}).items():
        if not key.startswith("cg_") or tensor is None:
            continue
        l1, l2, l3 = (int(v) for v in key[3:].split("_"))
        size = float(torch.linalg.vector_norm(tensor.double()))
        component, norm = (2 * l3 + 1) ** 0.5, ((2 * l1 + 1) * (2 * l2 + 1)) ** 0.5
        if abs(component - norm) > 1e-6:
            return "norm" if abs(size - norm) < abs(size - component) else "component"
    return "component"  # every block has equal factors: both give the same numbers


def _outputs(state: dict[str, Any]) -> list[Irrep]:
    return sorted({Irrep(key[4], key[5]) for key in state["paths"]})


def _full_build(state: dict[str, Any], cls: type) -> torch.nn.Module:
    module = cls(
        state["irreps_in1"],
        state["irreps_in2"],
        filter_ir_out=_outputs(state),
        irrep_normalization=_normalization(state),
        regroup_output=False,  # e3nn pickles the regrouped inputs
    )
    return rebuild(module, state, "FullTensorProductv2")


def _elementwise_build(state: dict[str, Any], cls: type) -> torch.nn.Module:
    module = cls(
        state["irreps_in1"],
        state["irreps_in2"],
        filter_ir_out=_outputs(state),
        irrep_normalization=_normalization(state),
    )
    return rebuild(module, state, "ElementwiseTensorProductv2")


register(
    Translator(
        "e3torch.o3.experimental:FullTensorProductv2",
        _ATTRS,
        _MARKER,
        _full_build,
        lambda cls: cls("2x0e+1x1o", "1x1o"),
    )
)
register(
    Translator(
        "e3torch.o3.experimental:ElementwiseTensorProductv2",
        _ATTRS,
        _MARKER,
        _elementwise_build,
        lambda cls: cls("2x1o", "1x0e+1x1o"),
    )
)
