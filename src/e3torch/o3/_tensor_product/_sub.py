"""The common tensor products: fully connected, elementwise, full, and the tensor square."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from fractions import Fraction
from typing import Any

import torch

from e3torch.o3._irreps import Irrep, Irreps
from e3torch.o3._tensor_product._plan import IRREP_NORMALIZATIONS
from e3torch.o3._tensor_product._tensor_product import TensorProduct

__all__ = ["ElementwiseTensorProduct", "FullTensorProduct", "FullyConnectedTensorProduct", "TensorSquare"]


def _filter(filter_ir_out: Iterable[Irrep | str] | None) -> list[Irrep] | None:
    if filter_ir_out is None:
        return None
    if isinstance(filter_ir_out, (str, Irrep)):
        raise TypeError(
            f"filter_ir_out must be an iterable of irreps (e.g. ['0e', '1o']), got {type(filter_ir_out).__name__} "
            f"{filter_ir_out!r}"
        )
    return [Irrep(ir) for ir in filter_ir_out]


def _check_irrep_normalization(irrep_normalization: str | None) -> str:
    if irrep_normalization is None:
        return "component"
    if irrep_normalization not in IRREP_NORMALIZATIONS:
        raise ValueError(
            f"irrep_normalization must be one of {IRREP_NORMALIZATIONS}, got {irrep_normalization!r}"
        )
    return irrep_normalization


class FullyConnectedTensorProduct(TensorProduct):
    r"""Fully connected weighted tensor product: every ``in1[i] x in2[j] -> out[k]`` allowed by selection rules.

    Every path is ``'uvw'`` with weights, :math:`z_w = \sum_{uv} w_{uvw} x_u \otimes y_v`.

    Parameters
    ----------
    irreps_in1, irreps_in2, irreps_out : Irreps or str
        Irreps of the inputs and the output.
    irrep_normalization : {"component", "norm", "none"}, optional
        See :class:`TensorProduct`.
    path_normalization : {"element", "path", "none"}, optional
        See :class:`TensorProduct`.
    **kwargs
        Passed to :class:`TensorProduct` (``internal_weights``, ``shared_weights``, ``executor``,
        ``wigner_3j_convention``, ...).

    Examples
    --------
    >>> import torch
    >>> tp = FullyConnectedTensorProduct("2x0e+1x1o", "1x0e+1x1o", "2x0e+1x1o")
    >>> tp
    FullyConnectedTensorProduct(2x0e+1x1o x 1x0e+1x1o -> 2x0e+1x1o | 9 paths | 9 weights)
    >>> tp(torch.randn(4, 5), torch.randn(4, 4)).shape
    torch.Size([4, 5])
    """

    def __init__(
        self,
        irreps_in1: Irreps | str,
        irreps_in2: Irreps | str,
        irreps_out: Irreps | str,
        irrep_normalization: str | None = None,
        path_normalization: str | None = None,
        **kwargs: Any,
    ) -> None:
        irreps_in1, irreps_in2, irreps_out = Irreps(irreps_in1), Irreps(irreps_in2), Irreps(irreps_out)
        instructions = [
            (i_1, i_2, i_out, "uvw", True, 1.0)
            for i_1, (_, ir_1) in enumerate(irreps_in1)
            for i_2, (_, ir_2) in enumerate(irreps_in2)
            for i_out, (_, ir_out) in enumerate(irreps_out)
            if ir_out in ir_1 * ir_2
        ]
        super().__init__(
            irreps_in1, irreps_in2, irreps_out, instructions, irrep_normalization=irrep_normalization,
            path_normalization=path_normalization, **kwargs,
        )  # fmt: skip


def _aligned(irreps_in1: Irreps, irreps_in2: Irreps) -> tuple[Irreps, Irreps]:
    """Split the entries of two irreps with the same number of irreps so their multiplicities match one to one."""
    a, b = list(irreps_in1), list(irreps_in2)
    out1: list[tuple[int, Irrep]] = []
    out2: list[tuple[int, Irrep]] = []
    i = j = 0
    rest1, rest2 = (a[0].mul if a else 0), (b[0].mul if b else 0)
    while i < len(a) and j < len(b):
        if rest1 == 0:
            i += 1
            rest1 = a[i].mul if i < len(a) else 0
            continue
        if rest2 == 0:
            j += 1
            rest2 = b[j].mul if j < len(b) else 0
            continue
        mul = min(rest1, rest2)
        out1.append((mul, a[i].ir))
        out2.append((mul, b[j].ir))
        rest1, rest2 = rest1 - mul, rest2 - mul
    return Irreps(out1), Irreps(out2)


class ElementwiseTensorProduct(TensorProduct):
    r"""Elementwise tensor product: the ``n``-th irrep of ``x`` times the ``n``-th irrep of ``y``, no weights.

    :math:`z_u = x_u \otimes y_u` (mode ``'uuu'``); both inputs must have the same number of irreps. The inputs are
    simplified and their entries split so the multiplicities match.

    Parameters
    ----------
    irreps_in1, irreps_in2 : Irreps or str
        Irreps of the inputs, with equal ``num_irreps``.
    filter_ir_out : iterable of Irrep or str, optional
        Keep only these output irreps.
    irrep_normalization : {"component", "norm", "none"}, optional
        See :class:`TensorProduct`.
    **kwargs
        Passed to :class:`TensorProduct`.

    Examples
    --------
    >>> tp = ElementwiseTensorProduct("2x0e+1x1o", "1x0e+2x1e")
    >>> tp.irreps_in1, tp.irreps_in2, tp.irreps_out
    (1x0e+1x0e+1x1o, 1x0e+1x1e+1x1e, 1x0e+1x1e+1x0o+1x1o+1x2o)
    """

    def __init__(
        self,
        irreps_in1: Irreps | str,
        irreps_in2: Irreps | str,
        filter_ir_out: Iterable[Irrep | str] | None = None,
        irrep_normalization: str | None = None,
        **kwargs: Any,
    ) -> None:
        irreps_in1, irreps_in2 = Irreps(irreps_in1).simplify(), Irreps(irreps_in2).simplify()
        keep = _filter(filter_ir_out)
        if irreps_in1.num_irreps != irreps_in2.num_irreps:
            raise ValueError(
                f"ElementwiseTensorProduct needs inputs with the same number of irreps, got {irreps_in1} "
                f"({irreps_in1.num_irreps} irreps) and {irreps_in2} ({irreps_in2.num_irreps} irreps)"
            )
        irreps_in1, irreps_in2 = _aligned(irreps_in1, irreps_in2)
        out, instructions = [], []
        for i, ((mul, ir_1), (_, ir_2)) in enumerate(zip(irreps_in1, irreps_in2)):
            for ir in ir_1 * ir_2:
                if keep is not None and ir not in keep:
                    continue
                instructions.append((i, i, len(out), "uuu", False))
                out.append((mul, ir))
        super().__init__(
            irreps_in1,
            irreps_in2,
            Irreps(out),
            instructions,
            irrep_normalization=irrep_normalization,
            **kwargs,
        )


class FullTensorProduct(TensorProduct):
    r"""Full tensor product: every ``in1[i] x in2[j] -> ir`` with all multiplicity pairs kept, no weights.

    :math:`z_{uv} = x_u \otimes y_v` (mode ``'uvuv'``). The inputs are simplified; the output irreps are sorted
    (not simplified).

    Parameters
    ----------
    irreps_in1, irreps_in2 : Irreps or str
        Irreps of the inputs.
    filter_ir_out : iterable of Irrep or str, optional
        Keep only these output irreps.
    irrep_normalization : {"component", "norm", "none"}, optional
        See :class:`TensorProduct`.
    **kwargs
        Passed to :class:`TensorProduct`.

    Examples
    --------
    >>> tp = FullTensorProduct("2x0e+1x1o", "1x1o")
    >>> tp.irreps_out
    1x0e+2x1o+1x1e+1x2e
    >>> tp
    FullTensorProduct(2x0e+1x1o x 1x1o -> 1x0e+2x1o+1x1e+1x2e | 5 paths | 0 weights)
    """

    def __init__(
        self,
        irreps_in1: Irreps | str,
        irreps_in2: Irreps | str,
        filter_ir_out: Iterable[Irrep | str] | None = None,
        irrep_normalization: str | None = None,
        **kwargs: Any,
    ) -> None:
        irreps_in1, irreps_in2 = Irreps(irreps_in1).simplify(), Irreps(irreps_in2).simplify()
        keep = _filter(filter_ir_out)
        out, instructions = [], []
        for i_1, (mul_1, ir_1) in enumerate(irreps_in1):
            for i_2, (mul_2, ir_2) in enumerate(irreps_in2):
                for ir in ir_1 * ir_2:
                    if keep is not None and ir not in keep:
                        continue
                    instructions.append((i_1, i_2, len(out), "uvuv", False))
                    out.append((mul_1 * mul_2, ir))
        irreps_out, p, _ = Irreps(out).sort()
        instructions = [(i_1, i_2, p[i_out], mode, w) for i_1, i_2, i_out, mode, w in instructions]
        super().__init__(
            irreps_in1,
            irreps_in2,
            irreps_out,
            instructions,
            irrep_normalization=irrep_normalization,
            **kwargs,
        )


def _square_alpha(normalization: str, d1: int, d2: int, d_out: int, l_out: int, diagonal: bool) -> Fraction:
    """Variance-preserving factor of one path of ``x x x``.

    For independent inputs (``u != v``, or different entries) the output variance is that of an ordinary tensor
    product. On the diagonal ``x_u x x_u`` the fourth moment of ``x`` enters: for Gaussian components (component
    normalization) ``E[x_i x_j x_a x_b] = d_ij d_ab + d_ia d_jb + d_ib d_ja``, and for ``x`` uniform on the unit sphere of
    ``R^d`` (norm normalization) the same divided by ``d (d + 2)``. With Wigner 3j symbols normalized to unit norm the
    output variance of ``l_out = 0`` is then ``(d + 2)`` (resp. ``1 / d``) and of ``l_out > 0`` ``2 / d_out`` (resp.
    ``2 / (d_out d (d + 2))``).
    """
    if normalization == "none":
        return Fraction(1)
    if not diagonal:
        return Fraction(d_out) if normalization == "component" else Fraction(d1 * d2)
    d = d1
    if normalization == "component":
        return Fraction(1, d + 2) if l_out == 0 else Fraction(d_out, 2)
    return Fraction(d) if l_out == 0 else Fraction(d * (d + 2), 2)


class TensorSquare(TensorProduct):
    r"""Tensor square :math:`x \otimes x`, keeping only the independent (symmetric) products.

    Pairs of different entries or copies contribute once (``u < v``); the diagonal ``x_u \otimes x_u`` contributes
    only its symmetric part (even ``l_out``, as ``l \otimes l \to l_{out}`` is antisymmetric for odd ``l_out``).
    Without ``irreps_out`` there are no weights and the output irreps are sorted; with ``irreps_out`` every output
    is a learned mix (``'uvw'``, ``'u<vw'``, ``'uuw'``).

    Parameters
    ----------
    irreps_in : Irreps or str
        Irreps of the input (simplified).
    irreps_out : Irreps or str, optional
        Irreps of the output; if given the product has weights.
    filter_ir_out : iterable of Irrep or str, optional
        Keep only these output irreps (only without ``irreps_out``).
    irrep_normalization : {"component", "norm", "none"}, optional
        Default ``"component"``.
    **kwargs
        Passed to :class:`TensorProduct` (``path_normalization``, ``shared_weights``, ``executor``,
        ``wigner_3j_convention``, ...).

    Examples
    --------
    >>> tp = TensorSquare("2x0e+1x1o")
    >>> tp
    TensorSquare(2x0e+1x1o -> 4x0e+2x1o+1x2e | 7 paths | 0 weights)
    >>> [(i.i_out, i.connection_mode) for i in tp.instructions]
    [(0, 'uvu<v'), (1, 'uuu'), (3, 'uvuv'), (2, 'uuu'), (4, 'uuu')]
    >>> TensorSquare("2x1o", "1x0e+1x1e").weight_numel  # 1 + 2 weights into 0e, 1 into 1e
    4
    """

    def __init__(
        self,
        irreps_in: Irreps | str,
        irreps_out: Irreps | str | None = None,
        filter_ir_out: Iterable[Irrep | str] | None = None,
        irrep_normalization: str | None = None,
        **kwargs: Any,
    ) -> None:
        normalization = _check_irrep_normalization(irrep_normalization)
        irreps_in = Irreps(irreps_in).simplify()
        keep = _filter(filter_ir_out)
        if irreps_out is not None and keep is not None:
            raise ValueError(
                "TensorSquare takes irreps_out or filter_ir_out, not both: expected one of them to be None, got "
                f"irreps_out={Irreps(irreps_out)} and filter_ir_out={keep}"
            )
        instructions: list[tuple[int, int, int, str, bool, float]] = []

        def add(i_1: int, i_2: int, i_out: int, mode: str, weighted: bool, l_out: int, d_out: int) -> None:
            d1, d2 = irreps_in[i_1].ir.dim, irreps_in[i_2].ir.dim
            alpha = _square_alpha(normalization, d1, d2, d_out, l_out, mode in ("uuu", "uuw"))
            instructions.append((i_1, i_2, i_out, mode, weighted, float(alpha)))

        if irreps_out is None:
            out: list[tuple[int, Irrep]] = []
            for i_1, (mul_1, ir_1) in enumerate(irreps_in):
                for i_2, (mul_2, ir_2) in enumerate(irreps_in):
                    if i_2 < i_1:
                        continue
                    for ir in ir_1 * ir_2:
                        if keep is not None and ir not in keep:
                            continue
                        if i_1 < i_2:
                            add(i_1, i_2, len(out), "uvuv", False, ir.l, ir.dim)
                            out.append((mul_1 * mul_2, ir))
                            continue
                        if mul_1 > 1:
                            add(i_1, i_1, len(out), "uvu<v", False, ir.l, ir.dim)
                            out.append((mul_1 * (mul_1 - 1) // 2, ir))
                        if ir.l % 2 == 0:
                            add(i_1, i_1, len(out), "uuu", False, ir.l, ir.dim)
                            out.append((mul_1, ir))
            irreps_out, p, _ = Irreps(out).sort()
            instructions = [(i_1, i_2, p[i_out], *rest) for i_1, i_2, i_out, *rest in instructions]
        else:
            irreps_out = Irreps(irreps_out)
            for i_1, (mul_1, ir_1) in enumerate(irreps_in):
                for i_2, (_, ir_2) in enumerate(irreps_in):
                    if i_2 < i_1:
                        continue
                    for i_out, (_, ir) in enumerate(irreps_out):
                        if ir not in ir_1 * ir_2:
                            continue
                        if i_1 < i_2:
                            add(i_1, i_2, i_out, "uvw", True, ir.l, ir.dim)
                            continue
                        if mul_1 > 1:
                            add(i_1, i_1, i_out, "u<vw", True, ir.l, ir.dim)
                        if ir.l % 2 == 0:
                            add(i_1, i_1, i_out, "uuw", True, ir.l, ir.dim)
        super().__init__(irreps_in, irreps_in, irreps_out, instructions, irrep_normalization="none", **kwargs)

    def forward(  # type: ignore[override]
        self, x: torch.Tensor, weight: torch.Tensor | Sequence[torch.Tensor] | None = None
    ) -> torch.Tensor:
        """Evaluate the tensor square of ``x``.

        Parameters
        ----------
        x : torch.Tensor
            ``(..., irreps_in.dim)``
        weight : torch.Tensor or list of torch.Tensor, optional
            As in :meth:`TensorProduct.forward`.

        Returns
        -------
        torch.Tensor
            ``(..., irreps_out.dim)``

        Examples
        --------
        >>> import torch
        >>> tp = TensorSquare("1x1o", irrep_normalization="none")
        >>> tp(torch.tensor([1.0, 2.0, 3.0]))[0]  # |x|^2 / sqrt(3), the scalar part
        tensor(8.0829)
        """
        return super().forward(x, x, weight)

    def __repr__(self) -> str:
        npath = sum(math.prod(ins.path_shape) for ins in self.instructions)
        return (
            f"{self.__class__.__name__}({self.irreps_in1.simplify()} -> {self.irreps_out.simplify()} | "
            f"{npath} paths | {self.weight_numel} weights{self._repr_options()})"
        )
