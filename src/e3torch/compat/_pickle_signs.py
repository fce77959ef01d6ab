"""Check a tensor product rebuilt from an e3nn pickle against e3nn's own generated code, path by path.

An e3nn pickle of a tensor product carries the code e3nn generated for it (``__codegen__``: a ``torch.fx`` module in
0.5+, TorchScript in 0.4), constants included. e3nn 0.4's Wigner 3j symbols differ from 0.6's (and e3torch's) by a
sign for some ``(l1, l2, l3)`` (e.g. ``(1, 2, 2)``), so a 0.4 pickle rebuilt naively would silently compute
something else. :func:`align_with_generated` runs both on probe inputs, finds each path's relative sign and

- for a weighted path with internal weights: negates that path's weights (exact);
- otherwise (external weights, or a path without weights): raises ``ValueError`` naming the paths, since no weight
  of the module can absorb the sign.

Examples
--------
>>> from e3torch.compat._pickle_signs import align_with_generated
>>> align_with_generated.__name__
'align_with_generated'
"""

from __future__ import annotations

import math
from typing import Any

import torch

__all__ = ["align_with_generated"]


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


def _sign(a: torch.Tensor, b: torch.Tensor) -> int:
    """+1 if ``a == b``, -1 if ``a == -b`` (both non-zero), 0 if both vanish; ``ValueError`` otherwise."""
    scale = max(float(a.abs().max()) if a.numel() else 0.0, float(b.abs().max()) if b.numel() else 0.0)
    if scale == 0.0:
        return 0
    tol = 1e-6 * scale
    if float((a - b).abs().max()) <= tol:
        return 1
    if float((a + b).abs().max()) <= tol:
        return -1
    raise ValueError(f"differs by {float((a - b).abs().max()):.3g} (scale {scale:.3g}), not by a sign")


def align_with_generated(module: torch.nn.Module, state: dict[str, Any], what: str) -> torch.nn.Module:
    """Make ``module`` (rebuilt from the e3nn ``state``) compute what e3nn's pickled generated code computes.

    Parameters
    ----------
    module : torch.nn.Module
        The e3torch tensor product, weights loaded.
    state : dict
        The pickled e3nn ``__dict__`` (its ``__codegen__`` holds ``_compiled_main_left_right``).
    what : str
        The e3nn class, for messages.

    Returns
    -------
    torch.nn.Module
        ``module``, its internal weights negated on the paths where e3nn's coefficients have the other sign.

    Raises
    ------
    ValueError
        When a path differs by a sign that no internal weight can absorb, or by more than a sign.

    Examples
    --------
    A state without generated code (nothing to compare with) leaves the module as it is:

    >>> m = torch.nn.Identity()
    >>> align_with_generated(m, {}, "TensorProduct") is m
    True
    """
    from e3torch.compat.util.codegen._mixin import load_codegen_payload

    payload = (state.get("__codegen__") or {}).get("_compiled_main_left_right")
    if payload is None:
        return module
    generated = load_codegen_payload("_compiled_main_left_right", payload)
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

    def both(a: torch.Tensor, b: torch.Tensor, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.no_grad():
            return forward(module, a, b, w), generated(a, b, w)

    ours, theirs = both(x1, x2, base_w)
    try:
        if _sign(ours, theirs) in (0, 1):
            return module
    except ValueError:
        pass
    flips_weighted, flips_fixed, blocks1, blocks2 = [], [], _input_blocks(module.irreps_in1), _input_blocks(
        module.irreps_in2
    )
    try:
        for k, block in _weight_blocks(module):  # one weighted path at a time
            w = torch.zeros_like(base_w)
            w[..., block] = base_w[..., block]
            if _sign(*both(x1, x2, w)) == -1:
                flips_weighted.append(k)
        zero_w = torch.zeros_like(base_w)
        for k, ins in enumerate(module.instructions):  # unweighted paths: isolate them by their inputs
            if ins.has_weight:
                continue
            if square:
                raise ValueError("an unweighted path of a TensorSquare cannot be isolated")
            a, b = torch.zeros_like(x1), torch.zeros_like(x2)
            a[..., blocks1[ins.i_in1]] = x1[..., blocks1[ins.i_in1]]
            b[..., blocks2[ins.i_in2]] = x2[..., blocks2[ins.i_in2]]
            if _sign(*both(a, b, zero_w)) == -1:
                flips_fixed.append(k)
    except ValueError as error:
        raise ValueError(f"the pickled e3nn {what} does not compute what e3torch's rebuilt one does: {error}") from None
    if flips_fixed or (flips_weighted and not internal):
        bad = sorted(flips_fixed + (flips_weighted if not internal else []))
        raise ValueError(
            f"the pickled e3nn {what} uses Wigner 3j coefficients of the other sign (as e3nn 0.4 did) on paths "
            f"{[tuple(module.instructions[k][:3]) for k in bad]}, which e3torch cannot absorb "
            f"({'no weights' if flips_fixed else 'external weights'}); rebuild it and load its state_dict instead"
        )
    with torch.no_grad():
        for k, block in _weight_blocks(module):
            if k in flips_weighted:
                module.weight[..., block] *= -1
    with torch.no_grad():
        ours, theirs = forward(module, x1, x2, module.weight.detach()), generated(x1, x2, base_w)
    if _sign(ours, theirs) not in (0, 1):  # pragma: no cover - paths interfere: cannot happen for distinct blocks
        raise ValueError(f"the pickled e3nn {what} could not be aligned with e3torch's rebuilt one")
    return module
