"""Fully connected network on scalars: :class:`FullyConnectedNet` (e3nn 0.6.0 init, normalization,
state_dict).

Weights are drawn ``N(0, 1)`` and scaled at run time by ``1 / sqrt(h_in * var_in)``, activations are
normalized to unit second moment, so the signal variance goes ``variance_in -> 1 -> ... -> variance_out``. The
scaling is applied to the (small) weight matrix, not to the (large) activations.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch

from e3torch.math import normalize2mom

__all__ = ["FullyConnectedNet"]


class _Layer(torch.nn.Module):
    """One layer: ``act(x @ W / sqrt(h_in * var_in)) * sqrt(var_out)`` (without ``act``: ``x @ W *
    sqrt(var_out / (h_in * var_in))``).

    Examples
    --------
    >>> layer = _Layer(4, 3, None, 1, 1)
    >>> layer, layer.weight.shape, layer(torch.randn(2, 4)).shape
    (Layer(4->3, act=None), torch.Size([4, 3]), torch.Size([2, 3]))
    """

    def __init__(
        self,
        h_in: int,
        h_out: int,
        act: Callable[[torch.Tensor], torch.Tensor] | None,
        var_in: float,
        var_out: float,
    ) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.randn(h_in, h_out))
        self.act = act
        self.h_in, self.h_out, self.var_in, self.var_out = h_in, h_out, var_in, var_out
        name = None if act is None else getattr(act, "__name__", type(act).__name__)
        self._profiling_str = f"Layer({h_in}->{h_out}, act={name})"

    def __repr__(self) -> str:
        return self._profiling_str

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(..., h_in) -> (..., h_out)``."""
        if self.act is None:
            return x @ (self.weight * math.sqrt(self.var_out / (self.h_in * self.var_in)))
        y = self.act(x @ (self.weight / math.sqrt(self.h_in * self.var_in)))
        return y if self.var_out == 1 else y * math.sqrt(self.var_out)


class FullyConnectedNet(torch.nn.Sequential):
    r"""Fully connected network with normalized activations, layers ``layer0, layer1, ...`` of weights
    ``(h_in, h_out)``.

    Parameters
    ----------
    hs : list of int
        Sizes ``[input, hidden..., output]``.
    act : callable, optional
        Activation (normalized with :class:`e3torch.math.normalize2mom`); ``None``: a linear network.
    variance_in : float
        Variance of the input.
    variance_out : float
        Variance of the output.
    out_act : bool
        Apply the activation after the last layer too.

    Examples
    --------
    >>> net = FullyConnectedNet([4, 8, 3], torch.tanh)
    >>> net, net(torch.randn(5, 4)).shape
    (FullyConnectedNet[4, 8, 3], torch.Size([5, 3]))
    >>> {k: tuple(v.shape) for k, v in net.state_dict().items()}
    {'layer0.weight': (4, 8), 'layer1.weight': (8, 3)}
    """

    def __init__(
        self,
        hs: Sequence[int],
        act: Callable[[torch.Tensor], torch.Tensor] | None = None,
        variance_in: float = 1,
        variance_out: float = 1,
        out_act: bool = False,
    ) -> None:
        super().__init__()
        if isinstance(hs, (str, bytes)) or not isinstance(hs, Sequence):
            raise TypeError(f"expected hs to be a list of ints, got {type(hs).__name__}")
        for h in hs:
            if isinstance(h, bool) or not isinstance(h, int) or h < 0:
                raise ValueError(f"expected hs to be non-negative ints, got {list(hs)}")
        if len(hs) == 0:
            raise ValueError("expected at least one size in hs (the input size), got []")
        if act is not None and not callable(act):
            raise TypeError(f"expected act to be callable or None, got {type(act).__name__}")
        self.hs = list(hs)
        if act is not None:
            act = normalize2mom(act)
        var_in = variance_in
        for i, (h1, h2) in enumerate(zip(self.hs, self.hs[1:])):
            last = i == len(self.hs) - 2
            var_out = variance_out if last else 1
            self.add_module(
                f"layer{i}", _Layer(h1, h2, act if (out_act or not last) else None, var_in, var_out)
            )
            var_in = var_out

    def __repr__(self) -> str:
        return f"{type(self).__name__}{self.hs}"

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        """``(..., hs[0]) -> (..., hs[-1])``.

        Examples
        --------
        >>> FullyConnectedNet([3, 2])(torch.ones(3)).shape
        torch.Size([2])
        """
        if not isinstance(input, torch.Tensor):
            raise TypeError(f"expected input to be a torch.Tensor, got {type(input).__name__}")
        if input.dim() == 0 or input.shape[-1] != self.hs[0]:
            raise ValueError(
                f"expected input with last dimension {self.hs[0]}, got shape {tuple(input.shape)}"
            )
        for layer in self:
            input = layer(input)
        return input
