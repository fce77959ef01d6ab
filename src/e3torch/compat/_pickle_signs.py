"""Wigner 3j sign conventions of e3nn pickles, and the check of a rebuilt tensor product against e3nn's own code.

An e3nn pickle of a tensor product carries the code e3nn generated for it (``__codegen__``: a ``torch.fx`` module in
0.5+, stored as ``(kind, bytes)``; bare TorchScript bytes in 0.4), constants included. e3nn 0.4's Wigner 3j symbols
differ from 0.5+'s (and e3torch's default) by a sign for some ``(l1, l2, l3)`` (e.g. ``(1, 2, 2)``), so a 0.4
pickle is rebuilt with ``wigner_3j_convention="e3nn-0.4"`` (:func:`pickled_wigner_3j_convention`), which reproduces
its numbers with its weights unchanged, internal or external, and on paths without weights.

:func:`generated_differences` then runs the rebuilt module and the pickled code on the same probe inputs and
weights; the loader refuses (``ValueError``) a module for which they still differ, naming the paths that do.

Examples
--------
>>> pickled_wigner_3j_convention({"__codegen__": {"_compiled_main_left_right": b"TorchScript"}})
'e3nn-0.4'
>>> pickled_wigner_3j_convention({"__codegen__": {"_compiled_main_left_right": ("fx", b"pickle")}})
'e3nn'
"""

from __future__ import annotations

import math
from typing import Any

import torch

__all__ = ["generated_differences", "pickled_wigner_3j_convention"]

_CODE = "_compiled_main_left_right"


def pickled_wigner_3j_convention(state: dict[str, Any]) -> str:
    """The Wigner 3j convention of the e3nn that pickled ``state``: ``"e3nn-0.4"`` for 0.4.x, else ``"e3nn"``.

    e3nn 0.4.x stores each generated module as bare TorchScript bytes; 0.5+ as a ``(kind, bytes)`` pair.

    Parameters
    ----------
    state : dict
        The pickled e3nn ``__dict__`` of a tensor product.

    Returns
    -------
    str
        ``"e3nn-0.4"`` or ``"e3nn"``.

    Examples
    --------
    >>> pickled_wigner_3j_convention({})
    'e3nn'
    """
    payload = (state.get("__codegen__") or {}).get(_CODE)
    return "e3nn-0.4" if isinstance(payload, (bytes, bytearray)) else "e3nn"


def _weight_blocks(module: torch.nn.Module) -> list[tuple[int, slice]]:
    """``(instruction index, slice of the flat weight)`` of the weighted instructions, in weight order."""
    out, start = [], 0
    for k, ins in enumerate(module.instructions):
        if ins.has_weight:
            size = math.prod(ins.path_shape)
            out.append((k, slice(start, start + size)))
            start += size
    return out


def _input_blocks(irreps: Any) -> list[slice]:
    out, start = [], 0
    for mul, ir in irreps:
        out.append(slice(start, start + mul * ir.dim))
        start += mul * ir.dim
    return out


def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Whether ``a`` and ``b`` agree to ``1e-6`` of their scale (float32 pickles included)."""
    scale = max(float(a.abs().max()) if a.numel() else 0.0, float(b.abs().max()) if b.numel() else 0.0)
    return a.numel() == 0 or float((a - b).abs().max()) <= 1e-6 * scale


def generated_differences(module: torch.nn.Module, state: dict[str, Any]) -> list[str] | None:
    """Where ``module`` (rebuilt from the e3nn ``state``) and e3nn's pickled generated code compute differently.

    Both run on the same random inputs, with the module's internal weights or random external ones; when the outputs
    differ, each weighted path (its weights alone) and each unweighted path (its inputs alone) is compared in turn.

    Parameters
    ----------
    module : torch.nn.Module
        The e3torch tensor product, weights loaded.
    state : dict
        The pickled e3nn ``__dict__`` (its ``__codegen__`` holds ``_compiled_main_left_right``).

    Returns
    -------
    list of str or None
        ``None`` when the state has no generated code (nothing to compare with); ``[]`` when both agree; else a
        description of each differing path (``"(i_in1, i_in2, i_out) 1x1e x 1x2e -> 1x2e: opposite sign"``), or of
        the whole output when the paths cannot be isolated.

    Examples
    --------
    >>> generated_differences(torch.nn.Identity(), {}) is None
    True
    """
    from e3torch.compat.util.codegen._mixin import load_codegen_payload

    payload = (state.get("__codegen__") or {}).get(_CODE)
    if payload is None:
        return None
    generated = load_codegen_payload(_CODE, payload)
    floats = [t for t in list(module.parameters()) + list(module.buffers()) if t.is_floating_point()]
    dtype = floats[0].dtype if floats else torch.get_default_dtype()
    device = floats[0].device if floats else None
    generated = generated.to(dtype=dtype, device=device)
    gen = torch.Generator().manual_seed(0)

    def rand(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=gen, dtype=torch.float64).to(dtype=dtype, device=device)

    import e3torch.o3

    square = isinstance(module, e3torch.o3.TensorSquare)  # e3nn's code assumes x1 == x2 (upper triangle only)
    forward = e3torch.o3.TensorProduct.forward
    batch = 3
    x1 = rand(batch, module.irreps_in1.dim)
    x2 = x1 if square else rand(batch, module.irreps_in2.dim)
    numel = module.weight_numel
    w_shape = (numel,) if module.shared_weights else (batch, numel)
    internal = bool(module.internal_weights) and numel > 0
    base_w = module.weight.detach().clone() if internal else rand(*w_shape)

    def differ(a: torch.Tensor, b: torch.Tensor, w: torch.Tensor) -> str | None:
        with torch.no_grad():
            ours, theirs = forward(module, a, b, w), generated(a, b, w)
        if _same(ours, theirs):
            return None
        return (
            "opposite sign"
            if _same(ours, -theirs)
            else f"differs by {float((ours - theirs).abs().max()):.3g}"
        )

    whole = differ(x1, x2, base_w)
    if whole is None:
        return []

    def name(k: int) -> str:
        ins = module.instructions[k]
        mul_irs = [
            irreps[i] for irreps, i in zip((module.irreps_in1, module.irreps_in2), (ins.i_in1, ins.i_in2))
        ]
        out = module.irreps_out[ins.i_out]
        return f"{tuple(ins[:3])} {mul_irs[0]} x {mul_irs[1]} -> {out}"

    found = []
    for k, block in _weight_blocks(module):  # one weighted path at a time
        w = torch.zeros_like(base_w)
        w[..., block] = base_w[..., block]
        why = differ(x1, x2, w)
        if why is not None:
            found.append(f"{name(k)}: {why}")
    blocks1, blocks2 = _input_blocks(module.irreps_in1), _input_blocks(module.irreps_in2)
    zero_w = torch.zeros_like(base_w)
    for k, ins in enumerate(module.instructions):  # unweighted paths: isolate them by their inputs
        if ins.has_weight or square:
            continue
        a, b = torch.zeros_like(x1), torch.zeros_like(x2)
        a[..., blocks1[ins.i_in1]] = x1[..., blocks1[ins.i_in1]]
        b[..., blocks2[ins.i_in2]] = x2[..., blocks2[ins.i_in2]]
        why = differ(a, b, zero_w)
        if why is not None:
            found.append(f"{name(k)}: {why}")
    return found or [f"the whole output: {whole}"]
