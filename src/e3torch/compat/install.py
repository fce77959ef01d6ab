"""``import e3torch.compat.install``: from here on, ``import e3nn`` gives e3torch (see :mod:`e3torch.compat`).

Importing this module installs the import hook (:func:`e3torch.compat._hook.install`); that is its only purpose,
so doctest collection skips it (``conftest.py``). The module object is callable, so ``e3torch.compat.install()``
keeps working after ``import e3torch.compat.install`` replaced the package's ``install`` function by this module.
"""

from __future__ import annotations

import sys
import types

from e3torch.compat._hook import install as _install
from e3torch.compat._hook import is_installed, uninstall

__all__ = ["is_installed", "uninstall"]


class _CallableModule(types.ModuleType):
    def __call__(self) -> None:
        """Install the import hook (idempotent)."""
        _install()


sys.modules[__name__].__class__ = _CallableModule
_install()
