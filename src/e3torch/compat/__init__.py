"""e3torch.compat."""
