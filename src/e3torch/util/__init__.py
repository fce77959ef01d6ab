"""e3torch.util."""

# --- exports ---
from e3torch.util import test  # noqa: E402,F401
