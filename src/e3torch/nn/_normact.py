"""Norm-based activation: :class:`NormActivation`.

Every irrep copy ``x`` is scaled by ``f(|x| + b) / |x|`` (``normalize=True``, the norm clamped below by
``epsilon``) or by ``f(|x| + b)``: the direction is kept, the norm goes through a scalar function. Parameters,
buffers (the state of e3nn's inner weightless tensor products) and repr are those of e3nn 0.6.0.

Execution plan: squared norms with one sum per block of equal ``l``, the scalar function once on all copies,
and one broadcast multiply per block, concatenated once.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from e3torch.o3._irreps import Irreps
from e3torch.o3._norm import Norm, _groups, _TensorProductState, safe_sqrt, squared_norms

__all__ = ["NormActivation"]


class NormActivation(torch.nn.Module):
    r"""Scale each irrep copy by a scalar function of its norm.

    Parameters
    ----------
    irreps_in : Irreps or str
        Input (and output) representation.
    scalar_nonlinearity : callable
        ``torch.Tensor -> torch.Tensor``, applied to the norms (not normalized).
    normalize : bool
        Divide by the norm: the output norm is then ``f(|x| + b)``.
    epsilon : float, optional
        Lower bound of the norm when ``normalize`` (default ``1e-8``); must be ``None`` when
        ``normalize=False``.
    bias : bool
        Learn a bias ``b`` per irrep copy (``biases``, initialized to zero), added to the norm.

    Examples
    --------
    >>> act = NormActivation("2x0e + 1o", torch.sigmoid)
    >>> act(torch.tensor([3.0, -4.0, 0.0, 0.0, 2.0])).round(decimals=4)
    tensor([ 0.9526, -0.9820,  0.0000,  0.0000,  0.8808])
    >>> sorted(NormActivation("0e + 1o", torch.tanh, bias=True).state_dict())
    ['biases', 'norm.tp.output_mask', 'norm.tp.weight', 'scalar_multiplier.output_mask',
     'scalar_multiplier.weight']
    """

    def __init__(
        self,
        irreps_in: Irreps | str,
        scalar_nonlinearity: Callable[[torch.Tensor], torch.Tensor],
        normalize: bool = True,
        epsilon: float | None = None,
        bias: bool = False,
    ) -> None:
        super().__init__()
        if not callable(scalar_nonlinearity):
            raise TypeError(
                f"expected scalar_nonlinearity to be callable, got {type(scalar_nonlinearity).__name__}"
            )
        if epsilon is not None and not normalize:
            raise ValueError(
                f"expected epsilon=None with normalize=False (no division), got epsilon={epsilon}"
            )
        if normalize and epsilon is None:
            epsilon = 1e-8
        if epsilon is not None:
            if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)):
                raise TypeError(
                    f"expected epsilon to be a float, got {epsilon!r} (type {type(epsilon).__name__})"
                )
            if epsilon <= 0:
                raise ValueError(f"expected epsilon > 0, got {epsilon}")
        self.irreps_in = Irreps(irreps_in)
        self.irreps_out = Irreps(irreps_in)
        self.norm = Norm(self.irreps_in, squared=False)
        self.scalar_nonlinearity = scalar_nonlinearity
        self.normalize, self.epsilon = normalize, epsilon
        self._eps_squared = None if epsilon is None else epsilon * epsilon
        n, inner = self.irreps_in.num_irreps, self.norm.irreps_in
        text = (
            f"{n}x0e x {inner} -> {inner} | {n} paths | 0 weights"
            if n > 0
            else " x  ->  | 0 paths | 0 weights"
        )
        self.scalar_multiplier = _TensorProductState("ElementwiseTensorProduct", text, self.irreps_in.dim)
        if bias:
            self.biases = torch.nn.Parameter(torch.zeros(n))
        else:
            self.register_parameter("biases", None)
        self._groups = _groups(self.irreps_in)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Apply the activation.

        Parameters
        ----------
        features : torch.Tensor
            ``(..., irreps_in.dim)``.

        Returns
        -------
        torch.Tensor
            ``(..., irreps_in.dim)``.

        Examples
        --------
        >>> NormActivation("3x1o", torch.relu)(torch.randn(4, 9)).shape
        torch.Size([4, 9])
        """
        if not isinstance(features, torch.Tensor):
            raise TypeError(f"expected features to be a torch.Tensor, got {type(features).__name__}")
        if features.dim() == 0 or features.shape[-1] != self.irreps_in.dim:
            raise ValueError(
                f"expected input with last dimension {self.irreps_in.dim} (irreps {self.irreps_in}), "
                f"got shape {tuple(features.shape)}"
            )
        if not self._groups:
            return features.new_zeros(features.shape)
        sq = squared_norms(self._groups, features)
        if self._eps_squared is not None:
            norms = sq.clamp(min=self._eps_squared).sqrt()
        else:
            norms = safe_sqrt(sq)
        scalars = self.scalar_nonlinearity(norms if self.biases is None else norms + self.biases)
        if self.normalize:
            scalars = scalars / norms
        sizes = [g.stop - g.start for g in self._groups]
        pieces = torch.split(features, sizes, dim=-1) if len(sizes) > 1 else (features,)
        factors = (
            torch.split(scalars, [g.o1 - g.o0 for g in self._groups], dim=-1)
            if len(sizes) > 1
            else (scalars,)
        )
        outs = []
        for g, x, s in zip(self._groups, pieces, factors):
            outs.append(x * s if g.d == 1 else (x.unflatten(-1, (-1, g.d)) * s.unsqueeze(-1)).flatten(-2))
        return torch.cat(outs, dim=-1) if len(outs) > 1 else outs[0]
