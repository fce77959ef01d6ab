"""``e3nn.nn`` on e3torch: the names of e3nn 0.6.0's package, backed by e3torch.

Filled from :data:`e3torch.compat._table.TABLE`; under the import hook this module *is* ``e3nn.nn``.

>>> import e3torch.compat.nn as m
>>> m.__name__
'e3torch.compat.nn'
"""

from e3torch.compat._export import export

__all__ = export(globals())
