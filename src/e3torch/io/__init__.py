"""e3torch.io."""

# --- exports ---
