"""``e3nn.nn.models.gate_points_2101`` on e3torch: the gate-points network of e3torch.models, and ``scatter``.

Filled from :data:`e3torch.compat._table.TABLE`; under the import hook this module *is*
``e3nn.nn.models.gate_points_2101``.

>>> import torch
>>> from e3torch.compat.nn.models.gate_points_2101 import scatter
>>> scatter(torch.ones(4, 2), torch.tensor([0, 0, 1, 3]), 5)[:, 0].tolist()
[2.0, 1.0, 0.0, 1.0, 0.0]
"""

from e3torch.compat._export import export

__all__ = export(globals())
