"""Second-moment normalization of activation functions.

The moments are Monte Carlo estimates over a fixed sample: one million standard normal numbers drawn in float64
from a CPU ``torch.Generator`` seeded with 0. The sample is deterministic, so the constants are reproducible
(and equal to e3nn's).
"""

from __future__ import annotations

from typing import Callable, Optional

import torch

__all__ = ["moment", "normalize2mom"]

_NUM_SAMPLES = 1_000_000
_SEED = 0
# an activation whose normalization constant is this close to 1 is used as is
_IDENTITY_TOLERANCE = 1e-4


def _normal_sample(dtype: Optional[torch.dtype] = None, device: Optional[torch.device] = None) -> torch.Tensor:
    generator = torch.Generator(device="cpu").manual_seed(_SEED)
    z = torch.randn(_NUM_SAMPLES, generator=generator, dtype=torch.float64)
    return z.to(dtype=dtype if dtype is not None else torch.get_default_dtype(), device=device)


def moment(
    f: Callable[[torch.Tensor], torch.Tensor],
    n: int,
    dtype: Optional[torch.dtype] = None,
    device: Optional[torch.device] = None,
) -> torch.Tensor:
    r"""Compute the :math:`n`-th moment :math:`\langle f(z)^n \rangle` for :math:`z \sim \mathcal{N}(0, 1)`.

    The expectation is estimated on a fixed sample of :math:`10^6` normal numbers (drawn in float64 with a CPU
    generator seeded with 0, then converted to ``dtype``), so the result is deterministic.

    Parameters
    ----------
    f : callable
        elementwise function ``torch.Tensor -> torch.Tensor``
    n : int
        order of the moment
    dtype : `torch.dtype`, optional
        dtype of the computation (default: torch's default dtype)
    device : `torch.device`, optional
        device of the computation (default: cpu)

    Returns
    -------
    `torch.Tensor`
        scalar tensor

    Examples
    --------
    >>> import torch
    >>> from e3torch.math import moment
    >>> round(moment(lambda z: z, 2, dtype=torch.float64).item(), 2)
    1.0
    >>> round(moment(torch.tanh, 2, dtype=torch.float64).item(), 4)
    0.3937
    """
    if not callable(f):
        raise TypeError(f"moment expected a callable f, got {type(f).__name__}")
    z = _normal_sample(dtype, device)
    return f(z).pow(n).mean()


class normalize2mom(torch.nn.Module):
    r"""Wrap an activation so that its second moment is one: :math:`\langle (c f(z))^2 \rangle = 1`.

    The constant :math:`c = \langle f(z)^2 \rangle^{-1/2}` is computed once, in float64 on the CPU, by
    :func:`moment` (whatever ``dtype`` and ``device`` are). When :math:`|c - 1| < 10^{-4}` the activation is
    considered already normalized and ``forward`` returns ``f(x)`` unscaled.

    Parameters
    ----------
    f : callable
        elementwise activation ``torch.Tensor -> torch.Tensor``
    dtype : `torch.dtype`, optional
        accepted for compatibility; the constant is always estimated in float64
    device : `torch.device`, optional
        accepted for compatibility; the constant is always estimated on the CPU

    Attributes
    ----------
    f : callable
        the wrapped activation
    cst : float
        the normalization constant :math:`c`

    Examples
    --------
    >>> import torch
    >>> from e3torch.math import normalize2mom
    >>> act = normalize2mom(torch.tanh)
    >>> round(act.cst, 4)
    1.5937
    >>> act(torch.zeros(2))
    tensor([0., 0.])
    """

    cst: float
    _is_id: bool

    def __init__(
        self,
        f: Callable[[torch.Tensor], torch.Tensor],
        dtype: Optional[torch.dtype] = None,
        device: Optional[torch.device] = None,
    ) -> None:
        super().__init__()
        if not callable(f):
            raise TypeError(f"normalize2mom expected a callable activation, got {type(f).__name__}")
        with torch.no_grad():
            cst = moment(f, 2, dtype=torch.float64, device=torch.device("cpu")).pow(-0.5).item()
        self._is_id = abs(cst - 1) < _IDENTITY_TOLERANCE
        self.f = f
        self.cst = cst

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the normalized activation.

        Parameters
        ----------
        x : `torch.Tensor`
            input of any shape

        Returns
        -------
        `torch.Tensor`
            ``cst * f(x)`` (or ``f(x)`` when ``f`` is already normalized)

        Examples
        --------
        >>> import torch
        >>> from e3torch.math import normalize2mom
        >>> normalize2mom(torch.relu)(torch.tensor([-1.0, 1.0])).round(decimals=4)
        tensor([0.0000, 1.4163])
        """
        if self._is_id:
            return self.f(x)
        return self.f(x).mul(self.cst)

    def extra_repr(self) -> str:
        return f"cst={self.cst:.6f}"
