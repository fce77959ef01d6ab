"""e3torch.data."""
