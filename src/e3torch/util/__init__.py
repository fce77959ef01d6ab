"""e3torch.util."""

# --- exports ---
