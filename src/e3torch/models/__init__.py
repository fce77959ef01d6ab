"""e3torch.models."""
