"""``e3nn.util.default_type`` on e3torch: torch's default dtype and device, made explicit.

>>> import torch
>>> from e3torch.compat.util.default_type import explicit_default_types
>>> explicit_default_types(torch.float64, None)[0]
torch.float64
"""

from __future__ import annotations

import torch

from e3torch.compat._export import export

__all__ = ["explicit_default_types", "torch_get_default_device", "torch_get_default_tensor_type"]


def torch_get_default_device() -> torch.device:
    """The device on which torch creates tensors by default.

    Examples
    --------
    >>> torch_get_default_device().type in ("cpu", "cuda", "mps", "meta")
    True
    """
    return torch.empty(0).device


def torch_get_default_tensor_type() -> str:
    """The name of torch's default tensor type, e.g. ``"torch.FloatTensor"``.

    Examples
    --------
    >>> torch_get_default_tensor_type()
    'torch.FloatTensor'
    """
    return torch.empty(0).type()


def explicit_default_types(
    dtype: torch.dtype | None, device: torch.device | None
) -> tuple[torch.dtype, torch.device]:
    """Replace ``None`` by torch's default dtype and device.

    Parameters
    ----------
    dtype : torch.dtype or None
    device : torch.device or None

    Returns
    -------
    (torch.dtype, torch.device)

    Examples
    --------
    >>> explicit_default_types(None, "cpu")
    (torch.float32, device(type='cpu'))
    """
    if dtype is None:
        dtype = torch.get_default_dtype()
    return dtype, torch.device(device) if device is not None else torch_get_default_device()


__all__ += export(globals())
