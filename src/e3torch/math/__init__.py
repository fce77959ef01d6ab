"""e3torch.math."""

# --- exports ---
