"""``e3nn.o3.experimental._full_tp`` on e3torch: the names of e3nn 0.6.0's module, backed by e3torch.

Filled from :data:`e3torch.compat._table.TABLE`; under the import hook this module *is* ``e3nn.o3.experimental._full_tp``
(the path that pickles of e3nn's experimental products refer to).

>>> import e3torch.compat.o3.experimental._full_tp as m
>>> m.__name__
'e3torch.compat.o3.experimental._full_tp'
"""

from e3torch.compat._export import export

__all__ = export(globals())
