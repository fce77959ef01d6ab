"""Cartesian tensors with index symmetries, seen as irreps (the change of basis of ReducedTensorProducts)."""

from __future__ import annotations

import functools
from typing import Optional, Tuple

import torch

from e3torch.math import germinate_formulas
from e3torch.o3._irreps import Irreps
from e3torch.o3._reduce import ReducedTensorProducts, _change_of_basis

__all__ = ["CartesianTensor"]


@functools.lru_cache(maxsize=128)
def _cartesian_basis(formula: str) -> Tuple[str, Irreps, torch.Tensor]:
    """Indices, irreps and the float64 change of basis (irreps dim, 3, ..., 3) of a cartesian formula."""
    f0, _ = germinate_formulas(formula)
    if len(f0) == 0:
        raise ValueError(f"expected a formula with at least one index, got {formula!r}")
    vector = Irreps("1o")
    _, _, irreps_out, q, _ = _change_of_basis(formula, tuple((c, vector) for c in sorted(f0)), None, None, 1e-9)
    return f0, irreps_out, q


class CartesianTensor(Irreps):
    r"""Representation of a cartesian tensor with index symmetries as irreps.

    Every index is a vector (``1o``); the symmetries of the formula (see
    :class:`~e3torch.o3.ReducedTensorProducts`) select the irreps. The object *is* the corresponding
    :class:`~e3torch.o3.Irreps` and converts data between both forms.

    Parameters
    ----------
    formula : str
        e.g. ``"ij=ji"`` for a symmetric matrix (``1x0e+1x2e``), ``"ij=-ji"`` for an antisymmetric one (``1x1e``)

    Attributes
    ----------
    formula : str
        the formula
    indices : str
        the indices of the tensor

    Examples
    --------
    >>> import torch
    >>> from e3torch.io import CartesianTensor
    >>> CartesianTensor("ij=-ji")
    1x1e
    >>> x = CartesianTensor("ijk=-jik=-ikj")
    >>> x.from_cartesian(torch.ones(3, 3, 3)).abs()
    tensor([0.])
    >>> x = CartesianTensor("ij=ji")
    >>> t = torch.arange(9.0).view(3, 3)
    >>> torch.allclose(x.to_cartesian(x.from_cartesian(t)), (t + t.T) / 2, atol=1e-5)
    True
    """

    formula: str
    indices: str

    def __new__(cls, formula: str) -> CartesianTensor:
        if not isinstance(formula, str):
            raise TypeError(f"expected formula to be a str, got {type(formula).__name__}")
        f0, irreps, _ = _cartesian_basis(formula)
        out = super().__new__(cls, irreps)
        out.formula = formula
        out.indices = f0
        return out

    def __getnewargs__(self) -> Tuple[str]:  # pickle and copy rebuild from the formula
        return (self.formula,)

    def _basis(self, like: Optional[torch.Tensor]) -> torch.Tensor:
        q = _cartesian_basis(self.formula)[2]
        if like is None:
            return q.to(dtype=torch.get_default_dtype())
        return q.to(dtype=like.dtype, device=like.device)

    def _check_cartesian(self, data: torch.Tensor) -> None:
        n = len(self.indices)
        if not isinstance(data, torch.Tensor):
            raise TypeError(f"expected a torch.Tensor, got {type(data).__name__}")
        if data.dim() < n or tuple(data.shape[data.dim() - n :]) != (3,) * n:
            raise ValueError(
                f"expected a cartesian tensor of shape (..., {', '.join(['3'] * n)}) for formula {self.formula!r}, "
                f"got shape {tuple(data.shape)}"
            )

    def from_cartesian(self, data: torch.Tensor, rtp: Optional[ReducedTensorProducts] = None) -> torch.Tensor:
        r"""Convert a cartesian tensor into irreps (its projection on the symmetric tensors).

        Parameters
        ----------
        data : `torch.Tensor`
            cartesian tensor of shape ``(..., 3, 3, 3, ...)``
        rtp : `e3torch.o3.ReducedTensorProducts`, optional
            take the change of basis from this module (default: the exact one, in ``data``'s dtype)

        Returns
        -------
        `torch.Tensor`
            irreps tensor of shape ``(..., self.dim)``

        Examples
        --------
        >>> import torch
        >>> from e3torch.io import CartesianTensor
        >>> CartesianTensor("ij=ji").from_cartesian(torch.eye(3)).round(decimals=4) + 0.0
        tensor([1.7321, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000])
        """
        self._check_cartesian(data)
        q = rtp.change_of_basis if rtp is not None else self._basis(data)
        n = len(self.indices)
        flat = data.reshape(data.shape[: data.dim() - n] + (3**n,))
        return flat @ q.reshape(q.shape[0], -1).T.to(dtype=data.dtype)

    def to_cartesian(self, data: torch.Tensor, rtp: Optional[ReducedTensorProducts] = None) -> torch.Tensor:
        r"""Convert an irreps tensor to a cartesian tensor: the symmetry-aware inverse of :meth:`from_cartesian`.

        Parameters
        ----------
        data : `torch.Tensor`
            irreps tensor of shape ``(..., self.dim)``
        rtp : `e3torch.o3.ReducedTensorProducts`, optional
            take the change of basis from this module

        Returns
        -------
        `torch.Tensor`
            cartesian tensor of shape ``(..., 3, 3, 3, ...)``

        Examples
        --------
        >>> import torch
        >>> from e3torch.io import CartesianTensor
        >>> CartesianTensor("ij=-ji").to_cartesian(torch.tensor([0.0, 0.0, 2**0.5])).round(decimals=4) + 0.0
        tensor([[ 0.,  1.,  0.],
                [-1.,  0.,  0.],
                [ 0.,  0.,  0.]])
        """
        if not isinstance(data, torch.Tensor):
            raise TypeError(f"expected a torch.Tensor, got {type(data).__name__}")
        if data.dim() == 0 or data.shape[-1] != self.dim:
            raise ValueError(
                f"expected an irreps tensor of shape (..., {self.dim}) (irreps {Irreps(self)}), "
                f"got shape {tuple(data.shape)}"
            )
        q = rtp.change_of_basis if rtp is not None else self._basis(data)
        n = len(self.indices)
        out = data @ q.reshape(q.shape[0], -1).to(dtype=data.dtype)
        return out.reshape(data.shape[:-1] + (3,) * n)

    def from_vectors(self, *xs: torch.Tensor, rtp: Optional[ReducedTensorProducts] = None) -> torch.Tensor:
        r"""Convert the tensor product :math:`x_1 \otimes x_2 \otimes \dots` of vectors into irreps.

        Parameters
        ----------
        *xs : `torch.Tensor`
            one vector of shape ``(..., 3)`` per index
        rtp : `e3torch.o3.ReducedTensorProducts`, optional
            use this module (default: the exact change of basis, in the vectors' dtype)

        Returns
        -------
        `torch.Tensor`
            irreps tensor of shape ``(..., self.dim)``

        Examples
        --------
        >>> import torch
        >>> from e3torch.io import CartesianTensor
        >>> x = CartesianTensor("ijk=-jik=-ikj")
        >>> x.from_vectors(torch.ones(3), torch.ones(3), torch.ones(3)).abs()
        tensor([0.])
        """
        if rtp is not None:
            return rtp(*xs)
        n = len(self.indices)
        if len(xs) != n:
            raise ValueError(f"expected {n} vectors for formula {self.formula!r}, got {len(xs)}")
        for k, x in enumerate(xs):
            if not isinstance(x, torch.Tensor) or x.dim() == 0 or x.shape[-1] != 3:
                got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
                raise ValueError(f"expected vector {k} of shape (..., 3), got {got}")
        letters = "".join(chr(ord("a") + k) for k in range(n))
        equation = f"z{letters}," + ",".join(f"...{c}" for c in letters) + "->...z"
        return torch.einsum(equation, self._basis(xs[0]), *xs)

    def reduced_tensor_products(self, data: Optional[torch.Tensor] = None) -> ReducedTensorProducts:
        """The :class:`~e3torch.o3.ReducedTensorProducts` of this formula, every index being ``1o``.

        Parameters
        ----------
        data : `torch.Tensor`, optional
            if given, the module is put on its dtype and device (with the exact change of basis)

        Returns
        -------
        `e3torch.o3.ReducedTensorProducts`

        Examples
        --------
        >>> from e3torch.io import CartesianTensor
        >>> CartesianTensor("ij=ji").reduced_tensor_products().irreps_out
        1x0e+1x2e
        """
        rtp = ReducedTensorProducts(self.formula, **{c: "1o" for c in self.indices})
        if data is not None:
            rtp.change_of_basis = self._basis(data).clone()
        return rtp
