"""Equivariant dropout: :class:`Dropout`, one Bernoulli mask entry per irrep copy.

Dropping whole irrep copies (all ``2l+1`` components together) keeps the layer equivariant. The mask is drawn
exactly as e3nn 0.6.0 draws it (one ``(batch, mul)`` Bernoulli draw per term, shared over any further
dimensions), so a seeded run drops the same copies; it is expanded to the components with one precomputed
``index_select``.
"""

from __future__ import annotations

import torch

from e3torch.o3._irreps import Irreps

__all__ = ["Dropout"]


class Dropout(torch.nn.Module):
    r"""Dropout of irrep copies; kept copies are scaled by ``1 / (1 - p)``. Identity in eval mode.

    Parameters
    ----------
    irreps : Irreps or str
        Representation of the input.
    p : float
        Probability to drop each irrep copy, in ``[0, 1]``.

    Examples
    --------
    >>> drop = Dropout("2x0e + 1o", p=0.5)
    >>> drop
    Dropout (2x0e+1x1o, p=0.5)
    >>> y = drop(torch.ones(1000, 5))
    >>> sorted(set(y.flatten().tolist())), torch.equal(y[:, 2], y[:, 4])
    ([0.0, 2.0], True)
    >>> drop.eval()(torch.ones(2, 5)).sum().item()
    10.0
    """

    def __init__(self, irreps: Irreps | str, p: float) -> None:
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, (int, float)):
            raise TypeError(f"expected p to be a float, got {p!r} (type {type(p).__name__})")
        if not 0 <= p <= 1:
            raise ValueError(f"expected p in [0, 1], got {p}")
        self.irreps = Irreps(irreps)
        self.p = p
        index: list[int] = []  # irrep copy of each component
        copy = 0
        for mul, ir in self.irreps:
            for _ in range(mul):
                index += [copy] * ir.dim
                copy += 1
        self.register_buffer("_copy_index", torch.tensor(index, dtype=torch.long), persistent=False)

    def __repr__(self) -> str:
        return f"{type(self).__name__} ({self.irreps}, p={self.p})"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the dropout.

        Parameters
        ----------
        x : torch.Tensor
            ``(batch, ..., irreps.dim)``.

        Returns
        -------
        torch.Tensor
            Same shape.

        Examples
        --------
        >>> Dropout("1o", p=0.0)(torch.ones(2, 3)).tolist()
        [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
        """
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"expected x to be a torch.Tensor, got {type(x).__name__}")
        if x.dim() == 0 or x.shape[-1] != self.irreps.dim:
            raise ValueError(
                f"expected input with last dimension {self.irreps.dim} (irreps {self.irreps}), "
                f"got shape {tuple(x.shape)}"
            )
        if not self.training or self.p == 0:
            return x
        batch = () if x.dim() == 1 else (x.shape[0],)
        if self.p == 1:
            noise = x.new_zeros(batch + (self.irreps.num_irreps,))
        else:  # one draw per term, as e3nn (same masks from the same seed)
            draws = [x.new_empty(batch + (mul,)).bernoulli_(1 - self.p) for mul, _ in self.irreps]
            noise = (torch.cat(draws, dim=-1) if len(draws) > 1 else draws[0]).div_(1 - self.p)
        noise = noise.index_select(-1, self._copy_index)
        if x.dim() > 2:
            noise = noise.reshape((x.shape[0],) + (1,) * (x.dim() - 2) + (self.irreps.dim,))
        return x * noise
