"""``e3nn.util.datatypes`` on e3torch: the ``Chunk`` and ``Path`` records of e3nn's experimental products.

>>> from e3torch.compat.util.datatypes import Chunk, Path
>>> Chunk(4, 3)
Chunk(mul=4, dim=3, slice=None)
"""

from __future__ import annotations

from typing import NamedTuple

from e3torch.compat._export import export

__all__ = ["Chunk", "Path"]


class Chunk(NamedTuple):
    """A block of ``mul`` copies of a ``dim``-dimensional irrep, and where it sits.

    Examples
    --------
    >>> Chunk(2, 1, slice(0, 2)).slice
    slice(0, 2, None)
    """

    mul: int
    dim: int
    slice: slice | None = None


class Path(NamedTuple):
    """The two input chunks and the output chunk of one path of a tensor product.

    Examples
    --------
    >>> Path(Chunk(1, 1), Chunk(1, 3), Chunk(1, 3)).output_slice.dim
    3
    """

    input_1_slice: Chunk
    input_2_slice: Chunk
    output_slice: Chunk


__all__ += export(globals())
