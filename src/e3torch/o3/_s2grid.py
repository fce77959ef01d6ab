"""Signals on the sphere sampled on a ``(beta, alpha)`` grid: :class:`ToS2Grid`, :class:`FromS2Grid` and helpers.

The grid (as in e3nn 0.6.0): ``beta_j = (j + 1/2) pi / res_beta`` and ``alpha_k = 2 pi k / res_alpha``; the point
of angles ``(alpha, beta)`` is ``angles_to_xyz(alpha, beta)``. A harmonic separates as ``S^l_m(alpha) P^l_m(beta)``
(:func:`~e3torch.o3.spherical_harmonics_alpha` and :class:`~e3torch.o3.Legendre`), so the transforms are a product
along ``alpha`` (a real Fourier transform) and one along ``beta`` (the Legendre functions, weighted by the
Kostelec-Rockmore quadrature for the inverse). The buffers are those of e3nn (names, shapes, order, values).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Union

import torch

from e3torch.o3._angular_spherical_harmonics import spherical_harmonics_alpha
from e3torch.o3._legendre import Legendre, _check_degree
from e3torch.o3._rotation import angles_to_xyz

__all__ = [
    "FromS2Grid",
    "ToS2Grid",
    "irfft",
    "rfft",
    "s2_grid",
    "spherical_harmonics_s2_grid",
]

Res = Union[int, Sequence[int], None]  # noqa: UP007 - a runtime alias
_NORMALIZATIONS = ("norm", "component", "integral")


def _dtype(dtype: torch.dtype | None) -> torch.dtype:
    return dtype if dtype is not None else torch.get_default_dtype()


def _check_positive(n: object, what: str) -> int:
    n = _check_degree(n, what)
    if n < 1:
        raise ValueError(f"expected {what} to be a positive int, got {n}")
    return n


def s2_grid(
    res_beta: int, res_alpha: int, dtype: torch.dtype | None = None, device: torch.device | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The grid on the sphere: ``betas: (res_beta,)`` and ``alphas: (res_alpha,)``.

    :math:`\beta_j = (j + \tfrac12) \pi / N` and :math:`\alpha_k = 2 \pi k / M`.

    Parameters
    ----------
    res_beta : int
        :math:`N`.
    res_alpha : int
        :math:`M`.
    dtype : torch.dtype, optional
    device : torch.device, optional

    Returns
    -------
    betas : torch.Tensor
        ``(res_beta,)``
    alphas : torch.Tensor
        ``(res_alpha,)``

    Examples
    --------
    >>> betas, alphas = s2_grid(2, 4)
    >>> betas / math.pi, alphas / math.pi
    (tensor([0.2500, 0.7500]), tensor([0.0000, 0.5000, 1.0000, 1.5000]))
    """
    res_beta = _check_positive(res_beta, "res_beta")
    res_alpha = _check_positive(res_alpha, "res_alpha")
    dtype = _dtype(dtype)
    i = torch.arange(res_beta, dtype=torch.float64, device=device)
    betas = ((i + 0.5) / res_beta * math.pi).to(dtype)
    k = torch.arange(res_alpha, dtype=torch.float64, device=device)
    alphas = (k / res_alpha * 2 * math.pi).to(dtype)
    return betas, alphas


def spherical_harmonics_s2_grid(
    lmax: int,
    res_beta: int,
    res_alpha: int,
    dtype: torch.dtype | None = None,
    device: torch.device | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""The two factors of the spherical harmonics on the grid, :math:`Y^l(\beta, \alpha) = S^l(\alpha) P^l(\beta)`.

    Parameters
    ----------
    lmax : int
    res_beta, res_alpha : int
    dtype : torch.dtype, optional
    device : torch.device, optional

    Returns
    -------
    betas : torch.Tensor
        ``(res_beta,)``
    alphas : torch.Tensor
        ``(res_alpha,)``
    shb : torch.Tensor
        ``(res_beta, (lmax + 1)^2)``: the integral-normalised associated Legendre functions of ``cos(beta)``.
    sha : torch.Tensor
        ``(res_alpha, 2 lmax + 1)``: :func:`~e3torch.o3.spherical_harmonics_alpha`.

    Examples
    --------
    >>> betas, alphas, shb, sha = spherical_harmonics_s2_grid(2, 6, 5)
    >>> shb.shape, sha.shape
    (torch.Size([6, 9]), torch.Size([5, 5]))
    """
    lmax = _check_degree(lmax, "lmax")
    betas, alphas = s2_grid(res_beta, res_alpha, dtype=torch.float64, device=device)
    shb = Legendre(list(range(lmax + 1))).to(device)(betas.cos(), betas.sin())
    sha = spherical_harmonics_alpha(lmax, alphas)
    dtype = _dtype(dtype)
    return betas.to(dtype), alphas.to(dtype), shb.to(dtype), sha.to(dtype)


def _beta_weights(
    res_beta: int, dtype: torch.dtype | None = None, device: torch.device | None = None
) -> torch.Tensor:
    r"""The quadrature weights ``(res_beta,)`` of :math:`\int_0^\pi g(\beta) \sin\beta \, d\beta` on the grid's betas.

    Those of Kostelec and Rockmore for ``res_beta = 2 b`` points (equal to Fejer's first rule on these midpoints):

    .. math:: w_j = \frac{2}{b} \sin\frac{\pi (2j+1)}{4b} \sum_{k=0}^{b-1} \frac{1}{2k+1}
              \sin\frac{(2j+1)(2k+1)\pi}{4b}

    exact for polynomials in :math:`\cos\beta` of degree below ``res_beta``; they sum to 2. Times the uniform
    ``2 pi / res_alpha`` in alpha, they integrate band-limited functions on the whole grid.

    Parameters
    ----------
    res_beta : int
        Even (an odd one gives e3nn's weights for a half-integer ``b``).
    dtype : torch.dtype, optional
    device : torch.device, optional

    Examples
    --------
    >>> w = _beta_weights(10, dtype=torch.float64)
    >>> betas, _ = s2_grid(10, 1, dtype=torch.float64)
    >>> w.shape, round(w.sum().item(), 12), round((w * betas.cos() ** 2).sum().item(), 12)
    (torch.Size([10]), 2.0, 0.666666666667)
    """
    b = res_beta / 2  # (e3nn's _quadrature_weights also takes half-integers b)
    j = torch.arange(2 * b, dtype=torch.float64, device=device)
    k = torch.arange(b, dtype=torch.float64, device=device)
    terms = torch.sin((2 * j[:, None] + 1) * (2 * k + 1) * math.pi / (4 * b)) / (2 * k + 1)
    w = 2 / b * torch.sin(math.pi * (2 * j + 1) / (4 * b)) * terms.sum(1)
    return w.to(_dtype(dtype))


def _quadrature_weights(
    b: float, dtype: torch.dtype | None = None, device: torch.device | None = None
) -> torch.Tensor:
    r"""The quadrature weights in ``beta`` of Kostelec and Rockmore for ``2 b`` points, divided by ``2 (2b)^2``.

    The weights are :func:`_beta_weights` (which sum to 2, the integral of ``sin(beta)``); this scaling is e3nn's.

    Examples
    --------
    >>> round((_quadrature_weights(2) * 2 * 4**2).sum().item(), 6)
    2.0
    """
    w = _beta_weights(2 * b, dtype=torch.float64, device=device)
    return (w / (2 * (2 * b) ** 2)).to(_dtype(dtype))


def _grid_points(
    res_beta: int, res_alpha: int, dtype: torch.dtype | None = None, device: torch.device | None = None
) -> torch.Tensor:
    """The points ``(res_beta, res_alpha, 3)`` of the grid :func:`s2_grid` (computed in float64).

    Examples
    --------
    >>> _grid_points(4, 5, dtype=torch.float64)[0, 0]
    tensor([0.0000, 0.9239, 0.3827], dtype=torch.float64)
    """
    betas, alphas = s2_grid(res_beta, res_alpha, dtype=torch.float64, device=device)
    return angles_to_xyz(alphas[None, :], betas[:, None]).to(_dtype(dtype))


def _complete_lmax_res(lmax: int | None, res_beta: int | None, res_alpha: int | None) -> tuple[int, int, int]:
    """Fill in the missing ones of ``(lmax, res_beta, res_alpha)`` as e3nn does.

    ``res_beta`` must be even and at least ``2 (lmax + 1)``; the defaults are ``res_beta = 2 (lmax + 1)`` and
    ``res_alpha = max(2 lmax + 1, res_beta - 1)`` (the smallest grid that resolves degree ``lmax``), and ``lmax``
    the largest degree both resolutions resolve.

    Examples
    --------
    >>> _complete_lmax_res(3, None, None), _complete_lmax_res(None, 10, 11), _complete_lmax_res(3, 10, None)
    ((3, 8, 7), (4, 10, 11), (3, 10, 9))
    """
    if lmax is None and res_beta is None and res_alpha is None:
        raise ValueError("expected at least one of lmax, res_beta, res_alpha, got all None")
    if lmax is not None:
        lmax = _check_degree(lmax, "lmax")
    if res_beta is not None:
        res_beta = _check_positive(res_beta, "res_beta")
        if res_beta % 2 == 1:
            raise ValueError(f"expected an even res_beta, got {res_beta}")
    if res_alpha is not None:
        res_alpha = _check_positive(res_alpha, "res_alpha")
    if lmax is None:
        candidates = []
        if res_beta is not None:
            candidates.append(res_beta // 2 - 1)
        if res_alpha is not None:
            candidates.append((res_alpha - 1) // 2)
        lmax = min(candidates)
        if lmax < 0:
            raise ValueError(f"res_beta = {res_beta}, res_alpha = {res_alpha} resolve no degree")
    if res_beta is None:
        res_beta = 2 * (lmax + 1)
    if res_beta < 2 * (lmax + 1):
        raise ValueError(
            f"expected res_beta >= 2 (lmax + 1) = {2 * (lmax + 1)} for lmax = {lmax}, got {res_beta}"
        )
    if res_alpha is None:
        res_alpha = max(2 * lmax + 1, res_beta - 1)
    return lmax, res_beta, res_alpha


def _expand_matrix(
    ls: Sequence[int],
    like: torch.Tensor | None = None,
    dtype: torch.dtype | None = None,
    device: torch.device | None = None,
) -> torch.Tensor:
    """The 0/1 tensor ``(len(ls), 2 lmax + 1, sum(2 l + 1))`` from flat ``(l, m)`` to a ``(l, m)`` matrix.

    ``E[i, lmax + m, offset(i) + l + m] = 1``: it maps a flat vector ``(0,0) (1,-1) (1,0) (1,1) ...`` to rows
    ``i`` and columns ``m`` (``m`` centred).

    Examples
    --------
    >>> _expand_matrix([0, 1]).shape
    torch.Size([2, 3, 4])
    """
    ls = [_check_degree(v) for v in ls]
    lmax = max(ls)
    if like is not None:
        dtype = like.dtype if dtype is None else dtype
        device = like.device if device is None else device
    m = torch.zeros(len(ls), 2 * lmax + 1, sum(2 * l + 1 for l in ls), dtype=_dtype(dtype), device=device)
    offset = 0
    for i, l in enumerate(ls):
        m[i, lmax - l : lmax + l + 1, offset : offset + 2 * l + 1] = torch.eye(2 * l + 1, dtype=m.dtype)
        offset += 2 * l + 1
    return m


def rfft(x: torch.Tensor, l: int) -> torch.Tensor:
    """Real Fourier transform: ``x: (..., res)`` to ``(..., 2 l + 1)``, equal to ``x @ sha`` (needs ``res >= 2 l``).

    Parameters
    ----------
    x : torch.Tensor
        ``(..., res)``, samples at ``alpha_k = 2 pi k / res``.
    l : int

    Returns
    -------
    torch.Tensor
        ``(..., 2 l + 1)``: ``sum_k x_k S^l_m(alpha_k)``.

    Examples
    --------
    >>> _, _, _, sha = spherical_harmonics_s2_grid(4, 10, 11, dtype=torch.float64)
    >>> x = torch.randn(11, dtype=torch.float64)
    >>> bool((rfft(x, 4) - x @ sha).abs().max() < 1e-12)
    True
    """
    l = _check_degree(l)
    res = x.shape[-1]
    if res < 2 * l:
        raise ValueError(
            f"rfft to degree l = {l} needs at least 2 l = {2 * l} samples, got shape {tuple(x.shape)}"
        )
    c = torch.fft.rfft(x, dim=-1)[..., : l + 1]
    root2 = math.sqrt(2.0)
    return torch.cat([-root2 * c[..., 1:].imag.flip(-1), c[..., :1].real, root2 * c[..., 1:].real], dim=-1)


def irfft(x: torch.Tensor, res: int) -> torch.Tensor:
    """Inverse of :func:`rfft`: ``x: (..., 2 l + 1)`` to ``(..., res)``, equal to ``x @ sha.T`` (``res`` odd).

    Parameters
    ----------
    x : torch.Tensor
        ``(..., 2 l + 1)``
    res : int
        Odd, at least ``2 l + 1``.

    Returns
    -------
    torch.Tensor
        ``(..., res)``: ``sum_m x_m S^l_m(alpha_k)``.

    Examples
    --------
    >>> _, _, _, sha = spherical_harmonics_s2_grid(4, 10, 11, dtype=torch.float64)
    >>> x = torch.randn(9, dtype=torch.float64)
    >>> bool((irfft(x, 11) - sha @ x).abs().max() < 1e-12)
    True
    """
    res = _check_positive(res, "res")
    dim = x.shape[-1]
    if dim % 2 == 0:
        raise ValueError(f"expected x with an odd last dimension 2 l + 1, got shape {tuple(x.shape)}")
    l = dim // 2
    if res % 2 == 0 or res < 2 * l + 1:
        raise ValueError(f"expected an odd res >= 2 l + 1 = {2 * l + 1}, got {res}")
    root2 = math.sqrt(2.0)
    re = torch.cat([x[..., l : l + 1], x[..., l + 1 :] / root2], dim=-1)
    im = torch.cat([torch.zeros_like(x[..., :1]), -x[..., :l].flip(-1) / root2], dim=-1)
    return torch.fft.irfft(torch.complex(re, im), n=res, dim=-1) * res


def _check_normalization(normalization: object) -> str:
    if not isinstance(normalization, str) or normalization not in _NORMALIZATIONS:
        raise ValueError(
            f"expected normalization to be one of 'norm', 'component', 'integral', got {normalization!r}"
        )
    return normalization


def _split_res(res: Res) -> tuple[int | None, int | None]:
    if res is None:
        return None, None
    if isinstance(res, int):
        return res, None
    if isinstance(res, Sequence) and len(res) == 2:
        return res[0], res[1]
    raise TypeError(f"expected res to be an int or a pair (res_beta, res_alpha), got {res!r}")


def _degree_scales(lmax: int, lmax_norm: int, normalization: str) -> torch.Tensor:
    """Per column ``(l, m)``: 1 (integral), ``sqrt(4 pi / (lmax_norm + 1))`` (norm), also ``/ sqrt(2 l + 1)``."""
    out = []
    for l in range(lmax + 1):
        if normalization == "integral":
            s = 1.0
        elif normalization == "norm":
            s = math.sqrt(4 * math.pi / (lmax_norm + 1))
        else:
            s = math.sqrt(4 * math.pi / ((lmax_norm + 1) * (2 * l + 1)))
        out += [s] * (2 * l + 1)
    return torch.tensor(out, dtype=torch.float64)


class _S2GridBase(torch.nn.Module):
    lmax: int
    res_beta: int
    res_alpha: int

    def _register(
        self,
        lmax: int,
        res_beta: int,
        res_alpha: int,
        column_scale: Callable[[torch.Tensor], torch.Tensor],
        dtype: torch.dtype | None,
        device: torch.device | None,
    ) -> None:
        """Set the attributes and the buffers (in e3nn's order); ``shb`` times ``column_scale(betas)``."""
        self.lmax, self.res_beta, self.res_alpha = lmax, res_beta, res_alpha
        betas, alphas, shb, sha = spherical_harmonics_s2_grid(
            lmax, res_beta, res_alpha, torch.float64, device
        )
        expand = _expand_matrix(range(lmax + 1), dtype=torch.float64, device=betas.device)  # (L, M, dim)
        # (M, res_beta, dim): the Legendre factor of column (l, m) in row m
        shb = torch.einsum("lmi,bi->mbi", expand, shb) * column_scale(betas)
        dtype = _dtype(dtype)
        self.register_buffer("alphas", alphas.to(dtype))
        self.register_buffer("betas", betas.to(dtype))
        self.register_buffer("sha", sha.to(dtype).contiguous())
        self.register_buffer("shb", shb.to(dtype).contiguous())

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}(lmax={self.lmax} res={self.res_beta}x{self.res_alpha} (beta x alpha))"
        )

    @property
    def grid(self) -> torch.Tensor:
        """The points of the grid, ``(res_beta, res_alpha, 3)``."""
        return angles_to_xyz(self.alphas[None, :], self.betas[:, None])


class ToS2Grid(_S2GridBase):
    r"""Spherical tensor to signal on the sphere, sampled on the grid (as e3nn 0.6.0's).

    ``out[..., j, k] = sum_lm n_l x[..., (l, m)] Y^l_m(beta_j, alpha_k)`` with the integral-normalised
    :math:`Y` and ``n_l = 1`` (``"integral"``), ``sqrt(4 pi / (lmax + 1))`` (``"norm"``), or that over
    ``sqrt(2 l + 1)`` (``"component"``). The inverse of :class:`FromS2Grid`.

    Parameters
    ----------
    lmax : int, optional
    res : int or tuple of int, optional
        ``res_beta`` or ``(res_beta, res_alpha)``; missing values are completed as in e3nn.
    normalization : {"norm", "component", "integral"}
    dtype : torch.dtype, optional
    device : torch.device, optional

    Attributes
    ----------
    grid : torch.Tensor
        ``(res_beta, res_alpha, 3)``
    alphas, betas, sha, shb : torch.Tensor
        Buffers: ``(res_alpha,)``, ``(res_beta,)``, ``(res_alpha, 2 lmax + 1)``, ``(2 lmax + 1, res_beta, dim)``.

    Examples
    --------
    >>> m = ToS2Grid(6, (100, 101))
    >>> m
    ToS2Grid(lmax=6 res=100x101 (beta x alpha))
    >>> m(torch.randn(3, 49)).shape
    torch.Size([3, 100, 101])
    >>> k = FromS2Grid((100, 101), 6)
    >>> x = torch.randn(3, 49)
    >>> bool((k(m(x)) - x).abs().max() < 1e-4)
    True
    """

    def __init__(
        self,
        lmax: int | None = None,
        res: Res = None,
        normalization: str = "component",
        dtype: torch.dtype | None = None,
        device: torch.device | None = None,
    ) -> None:
        super().__init__()
        self.normalization = _check_normalization(normalization)
        lmax, res_beta, res_alpha = _complete_lmax_res(lmax, *_split_res(res))
        scale = _degree_scales(lmax, lmax, normalization)
        self._register(lmax, res_beta, res_alpha, lambda betas: scale.to(betas.device), dtype, device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x: (..., (lmax + 1)^2)`` to ``(..., res_beta, res_alpha)``."""
        dim = (self.lmax + 1) ** 2
        if x.dim() == 0 or x.shape[-1] != dim:
            raise ValueError(
                f"expected input with last dimension {dim} (lmax = {self.lmax}), got shape {tuple(x.shape)}"
            )
        batch = x.shape[:-1]
        m2 = self.shb.shape[0]
        t = torch.mm(x.reshape(-1, dim), self.shb.reshape(-1, dim).T)  # (Z, M * res_beta)
        t = t.reshape(-1, m2, self.res_beta).transpose(1, 2)  # (Z, res_beta, M)
        return torch.matmul(t, self.sha.T).reshape(*batch, self.res_beta, self.res_alpha)


class FromS2Grid(_S2GridBase):
    r"""Signal on the sphere, sampled on the grid, to spherical tensor (as e3nn 0.6.0's).

    ``out[..., (l, m)] = (1 / n_l) sum_jk q_j x[..., j, k] Y^l_m(beta_j, alpha_k)``: the quadrature (weights
    ``q_j`` of Kostelec-Rockmore in ``beta``, uniform in ``alpha``) of the projection on the harmonics, with the
    ``n_l`` of :class:`ToS2Grid` for degree ``lmax_in``. The inverse of :class:`ToS2Grid` on band-limited signals.

    Parameters
    ----------
    res : int or tuple of int, optional
        ``res_beta`` or ``(res_beta, res_alpha)``.
    lmax : int, optional
    normalization : {"norm", "component", "integral"}
    lmax_in : int, optional
        The ``lmax`` of the normalization (default ``lmax``).
    dtype : torch.dtype, optional
    device : torch.device, optional

    Examples
    --------
    >>> m = FromS2Grid((100, 101), 6)
    >>> m(torch.randn(3, 100, 101)).shape
    torch.Size([3, 49])
    """

    def __init__(
        self,
        res: Res = None,
        lmax: int | None = None,
        normalization: str = "component",
        lmax_in: int | None = None,
        dtype: torch.dtype | None = None,
        device: torch.device | None = None,
    ) -> None:
        super().__init__()
        self.normalization = _check_normalization(normalization)
        lmax, res_beta, res_alpha = _complete_lmax_res(lmax, *_split_res(res))
        lmax_in = lmax if lmax_in is None else _check_degree(lmax_in, "lmax_in")
        scale = _degree_scales(lmax, lmax_in, normalization)

        def column_scale(betas: torch.Tensor) -> torch.Tensor:
            # quadrature: Kostelec-Rockmore in beta, uniform 2 pi / res_alpha in alpha
            qw = _quadrature_weights(res_beta // 2, dtype=torch.float64, device=betas.device)
            qw = qw * (4 * math.pi * res_beta**2 / res_alpha)
            return qw[:, None] / scale.to(betas.device)

        self._register(lmax, res_beta, res_alpha, column_scale, dtype, device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x: (..., res_beta, res_alpha)`` to ``(..., (lmax + 1)^2)``."""
        shape = (self.res_beta, self.res_alpha)
        if x.dim() < 2 or tuple(x.shape[-2:]) != shape:
            raise ValueError(
                f"expected input with last dimensions {shape} (res_beta, res_alpha), got shape {tuple(x.shape)}"
            )
        batch = x.shape[:-2]
        dim = self.shb.shape[-1]
        t = torch.matmul(x.reshape(-1, *shape), self.sha)  # (Z, res_beta, M)
        t = t.transpose(1, 2).reshape(t.shape[0], -1)  # (Z, M * res_beta)
        return torch.mm(t, self.shb.reshape(-1, dim)).reshape(*batch, dim)
