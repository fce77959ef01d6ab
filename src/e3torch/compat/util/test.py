"""``e3nn.util.test`` on e3torch: the equivariance and normalization test helpers, backed by e3torch.util.test.

``float_tolerance`` is e3nn's pytest fixture: session-scoped, autouse and parametrized over float32/float64, it sets
torch's default dtype for the session's tests and gives ``FLOAT_TOLERANCE`` of that dtype. It exists only where
pytest is installed (as in e3nn) and acts only in test modules that import it.

>>> import e3torch.compat.util.test as m
>>> m.__name__
'e3torch.compat.util.test'
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch

from e3torch.compat._export import export

__all__ = export(globals())

try:
    import pytest
except ImportError:  # pragma: no cover - pytest is a test dependency
    pytest = None

if pytest is not None:

    @pytest.fixture(scope="session", autouse=True, params=["float32", "float64"])
    def float_tolerance(request: Any) -> Iterator[torch.Tensor]:
        """Run the session's tests in float32 and in float64; the tolerance for the current dtype."""
        previous = torch.get_default_dtype()
        dtype = {"float32": torch.float32, "float64": torch.float64}[request.param]
        torch.set_default_dtype(dtype)
        try:
            yield FLOAT_TOLERANCE[dtype]  # noqa: F821 - exported from e3torch.util.test above
        finally:
            torch.set_default_dtype(previous)

    __all__ += ["float_tolerance"]
