"""``e3nn.util`` on e3torch: ``prod``, the default-type helpers and the ``codegen``, ``jit``, ``test`` submodules.

>>> from e3torch.compat import util
>>> util.prod([2, 3, 4])
24
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from e3torch.compat._export import export

__all__ = ["prod"]


def prod(x: Iterable[Any]) -> Any:
    """The product of the items of ``x`` (1 when empty), as ``e3nn.util.prod``.

    Parameters
    ----------
    x : iterable
        Numbers (or anything that multiplies).

    Returns
    -------
    object
        ``x[0] * x[1] * ...``.

    Examples
    --------
    >>> prod((2, 3)), prod([])
    (6, 1)
    """
    out: Any = 1
    for a in x:
        out = out * a
    return out


__all__ += export(globals())
