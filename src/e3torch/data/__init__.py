"""Atomistic data: the embedded EMT dataset, extxyz loading, periodic neighbour lists and batching.

>>> from e3torch import data
>>> from ase.build import bulk
>>> ds = data.AtomsDataset([bulk("Cu", "fcc", a=3.6, cubic=True)], cutoff=3.0)
>>> batch = data.collate([ds[0]])
>>> batch.num_graphs, tuple(batch.pos.shape)
(1, (4, 3))
"""

from e3torch.data._neighbors import check_structure, neighbor_list
from e3torch.data._graph import AtomicGraph, GraphBatch, build_graph, collate, edge_vectors
from e3torch.data._dataset import AtomsDataset, atoms_to_graph, batches, read_extxyz
from e3torch.data._emt import (
    SPLITS,
    EMTDatasetSpec,
    default_cache_dir,
    generate_emt_structures,
    load_emt_dataset,
)

__all__ = [
    "check_structure",
    "neighbor_list",
    "AtomicGraph",
    "GraphBatch",
    "build_graph",
    "collate",
    "edge_vectors",
    "AtomsDataset",
    "atoms_to_graph",
    "batches",
    "read_extxyz",
    "SPLITS",
    "EMTDatasetSpec",
    "default_cache_dir",
    "generate_emt_structures",
    "load_emt_dataset",
]
