"""Faster executors for the building blocks of client libraries, which keep their parameters and state dicts.

- :mod:`e3torch.integrations.mace`: mace-torch's symmetric contraction (:func:`~e3torch.integrations.mace.accelerate`).
"""
