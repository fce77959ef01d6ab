"""Python side of the compiled sparse multilinear map: gradient column orders, fake implementation, autograd.

The C++ operator (``multilinear.cpp``) is ``e3torch_multilinear::forward(z, tab, n_out, perms)``: with inputs
``z = [z_1, .., z_q]`` (each ``(n_s, R)``) and a table of terms ``(o, i_1, .., i_q, c)`` it returns

    ``y[o, r] = sum over the terms of c * z_1[i_1, r] * ... * z_q[i_q, r]``,

reading each term's rows through the column orders ``perms`` (groups of ``q + 1`` table columns: the output's, then
each input's, summed over the groups; ``[]`` is the identity). The map is linear in each input, so the gradient of
input ``s`` is the same table read with the output column and column ``s`` exchanged, its inputs being the incoming
gradient ``g`` and the other inputs (:func:`gradient_perms`). Slots that hold the same tensor (MACE passes its
features ``correlation`` times) are differentiated in one call, by concatenating their orders. The autograd formula
calls the same operator, so it is differentiable to any order (forces, and training on forces), and no table is
copied.
"""

from __future__ import annotations

import functools

import torch

__all__ = ["gradient_perms", "register"]


def gradient_perms(perms: list[int], q: int, slots: list[int]) -> list[int]:
    """The column orders of the gradient of the inputs ``slots`` (all holding one tensor).

    Its inputs are ``[g] + [the other inputs, in order]``, for any one slot of ``slots`` left out.

    Parameters
    ----------
    perms : list of int
        The forward's column orders (``[]``: the identity ``0, 1, .., q``).
    q : int
        Number of inputs of the forward.
    slots : list of int
        The slots to differentiate.

    Returns
    -------
    list of int

    Examples
    --------
    >>> gradient_perms([], 3, [1])
    [2, 0, 1, 3]
    >>> gradient_perms([], 3, [1, 2])
    [2, 0, 1, 3, 3, 0, 1, 2]
    """
    orders = perms or list(range(q + 1))
    out: list[int] = []
    for g in range(0, len(orders), q + 1):
        col = orders[g : g + q + 1]
        for s in slots:
            out += [col[1 + s], col[0]] + [col[1 + t] for t in range(q) if t != s]
    return out


def _fake_forward(z: list[torch.Tensor], tab: torch.Tensor, n_out: int, perms: list[int]) -> torch.Tensor:
    return z[0].new_empty(n_out, z[0].shape[1])


def _setup_context(ctx: object, inputs: tuple, output: torch.Tensor) -> None:
    z, tab, _, perms = inputs
    ctx.save_for_backward(tab, *z)
    groups: dict[int, list[int]] = {}
    for s, t in enumerate(z):
        groups.setdefault(id(t), []).append(s)
    ctx.groups = list(groups.values())
    ctx.rows = [int(t.shape[0]) for t in z]
    ctx.perms = list(perms)


def _backward(ctx: object, g: torch.Tensor) -> tuple[list[torch.Tensor | None], None, None, None]:
    tab, *z = ctx.saved_tensors
    q = len(z)
    grads: list[torch.Tensor | None] = [None] * q
    needs = ctx.needs_input_grad[0]
    for group in ctx.groups:
        first = group[0]
        if not any(needs[s] for s in group):
            continue
        others = [g] + [z[t] for t in range(q) if t != first]
        perms = gradient_perms(ctx.perms, q, group)
        grads[first] = torch.ops.e3torch_multilinear.forward(others, tab, ctx.rows[first], perms)
    return grads, None, None, None


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
