"""``e3nn.o3._tensor_product`` on e3torch: the names of e3nn 0.6.0's package, backed by e3torch.

Filled from :data:`e3torch.compat._table.TABLE`; under the import hook this module *is* ``e3nn.o3._tensor_product``.

>>> import e3torch.compat.o3._tensor_product as m
>>> m.__name__
'e3torch.compat.o3._tensor_product'
"""

from e3torch.compat._export import export

__all__ = export(globals())
