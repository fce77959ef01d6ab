"""``e3nn.nn.models.v2106`` on e3torch: e3nn's June 2021 networks, from :mod:`e3torch.models._gate_points_v2106`.

Filled from :data:`e3torch.compat._table.TABLE`; under the import hook this package *is* ``e3nn.nn.models.v2106``.

>>> import e3torch.compat.nn.models.v2106 as m
>>> m.points_convolution.__name__
'e3torch.compat.nn.models.v2106.points_convolution'
"""

from e3torch.compat._export import export

__all__ = export(globals())
