"""Python side of the compiled sparse multilinear map: gradient tables, fake implementation, autograd.

The C++ operator (``multilinear.cpp``) is ``e3torch_multilinear::forward(z, tab, n_out)``: with inputs
``z = [z_1, .., z_q]`` (each ``(n_s, R)``) and a table of terms ``(o, i_1, .., i_q, c)`` it returns

    ``y[o, r] = sum over the terms of c * z_1[i_1, r] * ... * z_q[i_q, r]``.

The map is linear in each input, so the gradient of input ``s`` is again such a map: its inputs are the incoming
gradient ``g`` and the other inputs, and its table is the same terms with the output index and ``i_s`` exchanged
(:func:`gradient_table`). Slots that hold the same tensor (MACE passes its features ``correlation`` times) are
differentiated in one call, by stacking their tables. The autograd formula calls the same operator, so it is
differentiable to any order (forces, and training on forces).
"""

from __future__ import annotations

import functools

import torch

__all__ = ["gradient_table", "register"]


def gradient_table(tab: torch.Tensor, slot: int) -> torch.Tensor:
    """The table of the gradient of input ``slot``: its inputs are ``[g] + [the other inputs, in order]``.

    Parameters
    ----------
    tab : torch.Tensor
        ``(E, q + 2)`` int64 rows ``(o, i_1, .., i_q, bits of c)``.
    slot : int
        Which input, ``0 <= slot < q``.

    Returns
    -------
    torch.Tensor
        ``(E, q + 2)`` rows ``(i_slot, o, i_others.., bits of c)``.

    Examples
    --------
    >>> tab = torch.tensor([[0, 1, 2, 7]])
    >>> gradient_table(tab, 1).tolist()
    [[2, 0, 1, 7]]
    """
    q = tab.shape[1] - 2
    order = [1 + slot, 0] + [1 + t for t in range(q) if t != slot] + [q + 1]
    return tab[:, order]


def _fake_forward(z: list[torch.Tensor], tab: torch.Tensor, n_out: int) -> torch.Tensor:
    return z[0].new_empty(n_out, z[0].shape[1])


def _setup_context(ctx: object, inputs: tuple, output: torch.Tensor) -> None:
    z, tab, _ = inputs
    ctx.save_for_backward(tab, *z)
    groups: dict[int, list[int]] = {}
    for s, t in enumerate(z):
        groups.setdefault(id(t), []).append(s)
    ctx.groups = list(groups.values())
    ctx.rows = [int(t.shape[0]) for t in z]


def _backward(ctx: object, g: torch.Tensor) -> tuple[list[torch.Tensor | None], None, None]:
    tab, *z = ctx.saved_tensors
    grads: list[torch.Tensor | None] = [None] * len(z)
    needs = ctx.needs_input_grad[0]
    for group in ctx.groups:
        first = group[0]
        if not any(needs[s] for s in group):
            continue
        others = [g] + [z[t] for t in range(len(z)) if t != first]
        table = (
            torch.cat([gradient_table(tab, s) for s in group])
            if len(group) > 1
            else gradient_table(tab, first)
        )
        grads[first] = torch.ops.e3torch_multilinear.forward(others, table, ctx.rows[first])
    return grads, None, None


@functools.cache
def register() -> None:
    """Register the fake (meta) implementation and the autograd formula of the operator (once).

    Examples
    --------
    >>> from e3torch._kernels import kernels_available
    >>> kernels_available("multilinear") in (True, False)
    True
    """
    torch.library.register_fake("e3torch_multilinear::forward")(_fake_forward)
    torch.library.register_autograd("e3torch_multilinear::forward", _backward, setup_context=_setup_context)
