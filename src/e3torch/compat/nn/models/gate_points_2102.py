"""``e3nn.nn.models.gate_points_2102`` on e3torch: the network of :mod:`e3torch.models._gate_points_2102`.

Filled from :data:`e3torch.compat._table.TABLE`; under the import hook this module *is*
``e3nn.nn.models.gate_points_2102``.

>>> from e3torch.compat.nn.models import gate_points_2102
>>> gate_points_2102.Network.__module__
'e3torch.models._gate_points_2102'
"""

from e3torch.compat._export import export

__all__ = export(globals())
