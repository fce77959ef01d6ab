"""e3torch.nn."""

# --- exports ---
