"""e3nn 0.6.0's API on e3torch: the module tree, the names, the pickles, and a one-line switch.

``e3torch.compat`` mirrors ``e3nn``: ``e3torch.compat.o3._irreps`` is ``e3nn.o3._irreps`` with e3torch's classes
behind the names. Switch a whole program over, so that ``import e3nn`` gives these modules, with one line at the
top of the program (before anything imports e3nn)::

    import e3torch.compat.install  # noqa: F401  (or: e3torch.compat.install())

or without editing it: ``python -m e3torch.compat script.py [args]``. Neither needs e3nn to be installed.

- :func:`set_optimization_defaults` / :func:`get_optimization_defaults` are accepted and stored for compatibility
  only: e3torch modules never read them (they have no effect).
- ``__version__`` is e3nn's version with e3torch's as a local label (``"0.6.0+e3torch.<version>"``); it compares
  as 0.6.0 with ``packaging.version``.
- Pickles of whole e3nn models load under the hook: see :mod:`e3torch.compat._pickle`.

Examples
--------
>>> import e3torch.compat as e3nn
>>> e3nn.o3.Irreps("2x0e + 1x1o").dim
5
>>> from packaging.version import Version
>>> Version(e3nn.__version__) >= Version("0.5")
True
"""

from __future__ import annotations

import e3torch as _e3torch

__version__ = f"0.6.0+e3torch.{_e3torch.__version__}"

from e3torch.compat._export import export as _export
from e3torch.compat._options import get_optimization_defaults, set_optimization_defaults  # noqa: F401

__all__ = _export(globals()) + ["__version__", "install"]

from e3torch.compat import _pickle  # noqa: F401  (registers the e3nn-pickle translators)


def install() -> None:
    """Switch this process over: from now on ``import e3nn`` gives ``e3torch.compat`` (idempotent).

    The same as ``import e3torch.compat.install``. Call it before anything imports the real e3nn.

    Raises
    ------
    RuntimeError
        When the real e3nn was already imported.

    Examples
    --------
    In a fresh interpreter (a subprocess here, so that this process keeps its own e3nn):

    >>> import subprocess, sys
    >>> code = "import e3torch.compat; e3torch.compat.install(); import e3nn; print(e3nn is e3torch.compat)"
    >>> subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip()
    'True'
    """
    from e3torch.compat._hook import install as _install

    _install()
