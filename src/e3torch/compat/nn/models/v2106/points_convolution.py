"""``e3nn.nn.models.v2106.points_convolution`` on e3torch: the point convolution with a learned mixing scalar.

Filled from :data:`e3torch.compat._table.TABLE`.

>>> from e3torch.compat.nn.models.v2106.points_convolution import Convolution
>>> Convolution("0e", "0e", "0e+1o", "1o", [3], 1.0).tp.irreps_out
1x0e+1x1o
"""

from e3torch.compat._export import export

__all__ = export(globals())
