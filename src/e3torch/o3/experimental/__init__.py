"""e3nn 0.6's experimental tensor products, with their output order and state dicts, on e3torch's executors.

- :class:`FullTensorProductv2`: the full tensor product of the (by default regrouped) inputs, outputs sorted;
- :class:`ElementwiseTensorProductv2`: the elementwise tensor product of the aligned inputs, outputs sorted.
"""

from e3torch.o3.experimental._products import ElementwiseTensorProductv2, FullTensorProductv2

__all__ = ["ElementwiseTensorProductv2", "FullTensorProductv2"]
