"""Loading pickles of whole e3nn models (placeholder)."""
