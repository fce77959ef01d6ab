"""Marks for ``torch.compile`` that cost nothing at import time.

:func:`torch.compiler.assume_constant_result` imports ``torch._dynamo`` (seconds on a loaded machine) when it is
applied, so module-level uses made ``import e3torch`` pay for the compiler even in programs that never compile.
:func:`assume_constant_result` here marks the function exactly as torch's decorator does, without that import;
``tests/test_import.py`` checks that the two marks agree and that ``import e3torch`` does not load the compiler.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

__all__ = ["assume_constant_result"]

_F = TypeVar("_F", bound=Callable[..., object])

#: The attribute through which torch's decorator marks a function and by which dynamo recognizes it (torch 2.x).
_MARK = "_dynamo_marked_constant"


def assume_constant_result(fn: _F) -> _F:
    """:func:`torch.compiler.assume_constant_result`, without importing ``torch._dynamo``.

    Under ``torch.compile``, a call to ``fn`` (with constant arguments) runs while the graph is traced and its
    result enters the graph as a constant; eager calls are plain calls. ``fn`` itself is returned, marked.

    Parameters
    ----------
    fn : callable
        A function whose result depends on its (constant) arguments only.

    Returns
    -------
    callable
        ``fn``.

    Examples
    --------
    >>> @assume_constant_result
    ... def table(n: int) -> tuple[int, ...]:
    ...     return tuple(range(n))
    >>> table(3)
    (0, 1, 2)
    """
    setattr(fn, _MARK, True)
    return fn
