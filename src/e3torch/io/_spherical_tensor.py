r"""Signals on the sphere, :math:`f(x) = \sum_{l \le l_\mathrm{max}} A^l \cdot Y^l(x)`, as irreps."""

from __future__ import annotations

import functools
import math
from typing import Dict, List, NamedTuple, Optional, Tuple, Union

import torch

from e3torch.o3._irreps import Irreps
from e3torch.o3._s2grid import _beta_weights, _grid_points
from e3torch.o3._spherical_harmonics import spherical_harmonics

__all__ = ["SphericalTensor"]

_Res = Union[int, Tuple[int, int]]


@functools.lru_cache(maxsize=None)
def _sh_irreps(lmax: int) -> Irreps:
    return Irreps.spherical_harmonics(lmax)


def grid_resolution(lmax: int, res: _Res) -> Tuple[int, int]:
    """``(res_beta, res_alpha)`` from an int (``(res, res - 1)``) or a pair, checked against ``lmax``."""
    if isinstance(res, int) and not isinstance(res, bool):
        res_beta, res_alpha = res, res - 1
    elif isinstance(res, (tuple, list)) and len(res) == 2 and all(isinstance(r, int) for r in res):
        res_beta, res_alpha = res
    else:
        raise TypeError(f"expected res to be an int or a pair of ints (res_beta, res_alpha), got {res!r}")
    if res_beta % 2 != 0 or res_beta < 2 * (lmax + 1) or res_alpha < 2 * lmax + 1:
        raise ValueError(
            f"expected an even res_beta >= 2 (lmax + 1) = {2 * (lmax + 1)} and res_alpha >= 2 lmax + 1 = "
            f"{2 * lmax + 1} for lmax={lmax}, got res_beta={res_beta} and res_alpha={res_alpha}"
        )
    return res_beta, res_alpha


def from_grid_integral(values: torch.Tensor, sh: torch.Tensor) -> torch.Tensor:
    """Coefficients (``integral`` normalization) of ``values: (..., res_beta, res_alpha)`` by quadrature."""
    res_beta, res_alpha = values.shape[-2:]
    w = _beta_weights(res_beta, dtype=values.dtype, device=values.device) * (2 * math.pi / res_alpha)
    return torch.einsum("...ba,b,bai->...i", values, w, sh.to(dtype=values.dtype))


def _shape_of(x: object) -> object:
    """For error messages: the shape of a tensor, else the name of the type."""
    return tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__


def _check_positions(positions: torch.Tensor) -> None:
    if not isinstance(positions, torch.Tensor) or positions.dim() < 2 or positions.shape[-1] != 3:
        raise ValueError(f"expected positions of shape (..., N, 3), got {_shape_of(positions)}")


class Return(NamedTuple):
    """A signal sampled on a grid: ``grid: (res_beta, res_alpha, 3)`` points, ``values: (..., res_beta, res_alpha)``."""

    grid: torch.Tensor
    values: torch.Tensor


class SphericalTensor(Irreps):
    r"""Representation of a signal on the sphere by its coefficients :math:`A^l`, :math:`l = 0 \dots l_\mathrm{max}`.

    .. math::

        f(x) = \sum_{l=0}^{l_\mathrm{max}} A^l \cdot Y^l(x)

    with the ``"integral"``-normalized spherical harmonics. Under parity :math:`(P f)(x) = p_v f(p_a x)`, i.e.
    :math:`A^l \mapsto p_v p_a^l A^l`: the irreps are :math:`l` with parity :math:`p_v p_a^l`.

    Parameters
    ----------
    lmax : int
        :math:`l_\mathrm{max}`
    p_val : {+1, -1}
        :math:`p_v`
    p_arg : {+1, -1}
        :math:`p_a`

    Examples
    --------
    >>> from e3torch.io import SphericalTensor
    >>> SphericalTensor(3, 1, 1)
    1x0e+1x1e+1x2e+1x3e
    >>> SphericalTensor(3, 1, -1)
    1x0e+1x1o+1x2e+1x3o
    """

    p_val: int
    p_arg: int

    def __new__(cls, lmax: int, p_val: int, p_arg: int) -> SphericalTensor:
        if isinstance(lmax, bool) or not isinstance(lmax, int) or lmax < 0:
            raise ValueError(f"expected lmax to be a non-negative int, got {lmax!r}")
        for name, p in (("p_val", p_val), ("p_arg", p_arg)):
            if p not in (1, -1):
                raise ValueError(f"expected {name} to be +1 or -1, got {p!r}")
        out = super().__new__(cls, [(1, (l, p_val * p_arg**l)) for l in range(lmax + 1)])
        out.p_val = p_val
        out.p_arg = p_arg
        return out

    def __getnewargs__(self) -> Tuple[int, int, int]:  # pickle and copy rebuild from the parameters
        return (self.lmax, self.p_val, self.p_arg)

    # -----------------------------------------------------------------------------------------------------------------
    # helpers

    def _sh(self, xyz: torch.Tensor) -> torch.Tensor:
        # the standard-parity irreps only label the harmonics (and hit the cached fast path)
        return spherical_harmonics(_sh_irreps(self.lmax), xyz, normalize=True, normalization="integral")

    def _check_signal(self, signal: torch.Tensor) -> None:
        if not isinstance(signal, torch.Tensor):
            raise TypeError(f"expected signal to be a torch.Tensor, got {type(signal).__name__}")
        if signal.dim() == 0 or signal.shape[-1] != self.dim:
            raise ValueError(
                f"expected signal of shape (..., {self.dim}) (irreps {Irreps(self)}), got shape {tuple(signal.shape)}"
            )

    def _grid_scale(self, normalization: str, like: torch.Tensor) -> torch.Tensor:
        """Per-coefficient factor turning integral-normalized evaluation into e3nn's grid normalizations."""
        n = self.lmax + 1
        if normalization == "integral":
            return like.new_ones(self.dim)
        if normalization == "norm":
            return like.new_full((self.dim,), math.sqrt(4 * math.pi) / math.sqrt(n))
        if normalization == "component":
            per_l = [math.sqrt(4 * math.pi) / math.sqrt(2 * l + 1) / math.sqrt(n) for l in range(n)]
            return torch.tensor([c for l, c in enumerate(per_l) for _ in range(2 * l + 1)], dtype=like.dtype,
                                device=like.device)
        raise ValueError(f'expected normalization to be "integral", "component" or "norm", got {normalization!r}')

    # -----------------------------------------------------------------------------------------------------------------
    # constructions

    def with_peaks_at(self, vectors: torch.Tensor, values: Optional[torch.Tensor] = None) -> torch.Tensor:
        r"""A signal with given values at given directions, of minimal norm.

        The signal is a combination :math:`\sum_i c_i \delta^L(\hat r_i)` whose value at every :math:`\hat r_i` is
        :math:`v_i` (default :math:`\|\vec r_i\|`, and then zero vectors are ignored; as in e3nn, a zero vector
        with an explicit value constrains the :math:`l = 0` component only).

        Parameters
        ----------
        vectors : `torch.Tensor`
            :math:`\vec r_i`, shape ``(N, 3)``
        values : `torch.Tensor`, optional
            :math:`v_i`, shape ``(N,)``

        Returns
        -------
        `torch.Tensor`
            shape ``(self.dim,)``

        Examples
        --------
        >>> import torch
        >>> from e3torch.io import SphericalTensor
        >>> s = SphericalTensor(4, 1, -1)
        >>> pos = torch.tensor([[1.0, 0.0, 0.0], [3.0, 4.0, 0.0]])
        >>> s.signal_xyz(s.with_peaks_at(pos), pos).round(decimals=4)
        tensor([1., 5.])
        >>> s.signal_xyz(s.with_peaks_at(pos, torch.tensor([-1.5, 2.0])), pos).round(decimals=4)
        tensor([-1.5000,  2.0000])
        """
        if not isinstance(vectors, torch.Tensor) or vectors.dim() != 2 or vectors.shape[1] != 3:
            raise ValueError(f"expected vectors of shape (N, 3), got {_shape_of(vectors)}")
        if values is not None and (not isinstance(values, torch.Tensor) or values.shape != vectors.shape[:1]):
            raise ValueError(f"expected values of shape ({vectors.shape[0]},), got {_shape_of(values)}")
        if values is None:
            norms = vectors.norm(dim=1)
            keep = norms > 0
            vectors, values = vectors[keep], norms[keep]
        if vectors.shape[0] == 0:
            return vectors.new_zeros(self.dim)
        y = self._sh(vectors)  # (N, dim)
        gram = y @ y.T
        solution = torch.linalg.lstsq(gram, values[:, None]).solution[:, 0]
        residual = (gram @ solution - values).abs().max()
        if residual > 1e-5 * values.abs().max().clamp(min=1e-30):
            raise ValueError(
                f"cannot put peaks with these values at these {vectors.shape[0]} directions with lmax={self.lmax} "
                f"(residual {float(residual):.2e}): directions too close or too many for lmax"
            )
        return solution @ y

    def sum_of_diracs(self, positions: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
        r"""Sum of (band-limited) Dirac deltas :math:`f = \sum_i v_i \delta^L(\hat r_i)`.

        :math:`\delta^L(\hat r) = \frac{4 \pi}{(L + 1)^2} \sum_l Y^l(\hat r) \cdot Y^l`, normalized so that its value
        at :math:`\hat r` is 1.

        Parameters
        ----------
        positions : `torch.Tensor`
            :math:`\vec r_i`, shape ``(..., N, 3)``
        values : `torch.Tensor`
            :math:`v_i`, shape ``(..., N)`` (batch dimensions broadcast with those of ``positions``)

        Returns
        -------
        `torch.Tensor`
            shape ``(..., self.dim)``

        Examples
        --------
        >>> import torch
        >>> from e3torch.io import SphericalTensor
        >>> s = SphericalTensor(7, 1, -1)
        >>> pos = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
        >>> x = s.sum_of_diracs(pos, torch.tensor([-1.0, 1.0]))
        >>> s.signal_xyz(x, torch.eye(3)).mul(10.0).round() + 0.0
        tensor([-10.,  10.,   0.])
        >>> s.sum_of_diracs(torch.randn(1, 3, 2, 3), torch.randn(2, 1, 1)).shape
        torch.Size([2, 3, 64])
        """
        _check_positions(positions)
        if not isinstance(values, torch.Tensor) or values.dim() < 1:
            raise ValueError(f"expected values of shape (..., N), got {_shape_of(values)}")
        y = self._sh(positions)  # (..., N, dim)
        return (y * values[..., None]).sum(-2) * (4 * math.pi / (self.lmax + 1) ** 2)

    def from_samples_on_s2(self, positions: torch.Tensor, values: torch.Tensor, res: int = 100) -> torch.Tensor:
        r"""Coefficients of the signal equal, at every point of an S2 grid, to the value of the nearest sample.

        Parameters
        ----------
        positions : `torch.Tensor`
            sample directions, shape ``(..., N, 3)``
        values : `torch.Tensor`
            sample values, shape ``(..., N)``
        res : int
            grid resolution (``res`` betas, ``res - 1`` alphas)

        Returns
        -------
        `torch.Tensor`
            shape ``(..., self.dim)``

        Examples
        --------
        >>> import torch
        >>> from e3torch.io import SphericalTensor
        >>> s = SphericalTensor(2, 1, 1)
        >>> pos = torch.tensor([[[0.0, 0.0, 1.0], [0.0, 0.0, -1.0]], [[0.0, 1.0, 0.0], [0.0, -1.0, 0.0]]])
        >>> val = torch.tensor([[1.0, -1.0], [1.0, -1.0]])
        >>> s.from_samples_on_s2(pos, val, res=200).long()
        tensor([[0, 0, 0, 3, 0, 0, 0, 0, 0],
                [0, 0, 3, 0, 0, 0, 0, 0, 0]])
        """
        _check_positions(positions)
        if not isinstance(values, torch.Tensor) or values.shape != positions.shape[:-1]:
            raise ValueError(f"expected values of shape {tuple(positions.shape[:-1])}, got {_shape_of(values)}")
        res_beta, res_alpha = grid_resolution(self.lmax, res)
        grid = _grid_points(res_beta, res_alpha, dtype=positions.dtype, device=positions.device)
        batch = positions.shape[:-2]
        if positions.shape[-2] == 0:
            return positions.new_zeros(batch + (self.dim,))
        directions = torch.nn.functional.normalize(positions, dim=-1)
        nearest = torch.einsum("bai,...ni->...ban", grid, directions).argmax(-1)  # (..., res_beta, res_alpha)
        sampled = torch.gather(values[..., None, None, :].expand(batch + (res_beta, res_alpha, -1)), -1,
                               nearest[..., None])[..., 0]
        return from_grid_integral(sampled, self._sh(grid))

    # -----------------------------------------------------------------------------------------------------------------
    # evaluations

    def norms(self, signal: torch.Tensor) -> torch.Tensor:
        """The norm of each :math:`l` component.

        Parameters
        ----------
        signal : `torch.Tensor`
            shape ``(..., self.dim)``

        Returns
        -------
        `torch.Tensor`
            shape ``(..., lmax + 1)``

        Examples
        --------
        >>> import torch
        >>> from e3torch.io import SphericalTensor
        >>> SphericalTensor(1, 1, -1).norms(torch.tensor([1.5, 0.0, 3.0, 4.0]))
        tensor([1.5000, 5.0000])
        """
        self._check_signal(signal)
        return torch.stack([part.norm(dim=-1) for part in signal.split([2 * l + 1 for l in range(self.lmax + 1)], -1)],
                           dim=-1)

    def signal_xyz(self, signal: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
        r"""Evaluate the signal at the directions :math:`\vec r / \|\vec r\|`.

        Parameters
        ----------
        signal : `torch.Tensor`
            shape ``(*A, self.dim)``
        r : `torch.Tensor`
            shape ``(*B, 3)``

        Returns
        -------
        `torch.Tensor`
            shape ``(*A, *B)``

        Examples
        --------
        >>> import torch
        >>> from e3torch.io import SphericalTensor
        >>> s = SphericalTensor(3, 1, -1)
        >>> s.signal_xyz(s.randn(2, 1, 3, -1), torch.randn(2, 4, 3)).shape
        torch.Size([2, 1, 3, 2, 4])
        """
        self._check_signal(signal)
        if not isinstance(r, torch.Tensor) or r.dim() == 0 or r.shape[-1] != 3:
            raise ValueError(f"expected r of shape (..., 3), got {_shape_of(r)}")
        y = self._sh(r)
        out = signal.reshape(-1, self.dim) @ y.reshape(-1, self.dim).T
        return out.reshape(signal.shape[:-1] + r.shape[:-1])

    def signal_on_grid(self, signal: torch.Tensor, res: _Res = 100, normalization: str = "integral") -> Return:
        r"""Evaluate the signal on an S2 grid.

        The grid has ``res_beta`` rings :math:`\beta_i = \pi (i + 1/2) / \mathrm{res}_\beta` and ``res_alpha``
        meridians :math:`\alpha_j = 2 \pi j / \mathrm{res}_\alpha` (an int ``res`` means ``(res, res - 1)``).
        ``normalization="integral"`` gives :math:`f` itself; ``"norm"`` and ``"component"`` rescale it as e3nn's
        ``ToS2Grid`` does (by :math:`\sqrt{4\pi / (L+1)}` and :math:`\sqrt{4\pi / ((2l+1)(L+1))}` per degree).

        Parameters
        ----------
        signal : `torch.Tensor`
            shape ``(..., self.dim)``
        res : int or tuple of int
            grid resolution
        normalization : {"integral", "component", "norm"}

        Returns
        -------
        Return
            ``grid: (res_beta, res_alpha, 3)`` and ``values: (..., res_beta, res_alpha)``

        Examples
        --------
        >>> import torch
        >>> from e3torch.io import SphericalTensor
        >>> s = SphericalTensor(2, 1, 1)
        >>> out = s.signal_on_grid(s.randn(5, -1), res=10)
        >>> out.grid.shape, out.values.shape
        (torch.Size([10, 9, 3]), torch.Size([5, 10, 9]))
        """
        self._check_signal(signal)
        scale = self._grid_scale(normalization, signal)
        res_beta, res_alpha = grid_resolution(self.lmax, res)
        grid = _grid_points(res_beta, res_alpha, dtype=signal.dtype, device=signal.device)
        y = self._sh(grid) * scale
        values = signal.reshape(-1, self.dim) @ y.reshape(-1, self.dim).T
        return Return(grid, values.reshape(signal.shape[:-1] + (res_beta, res_alpha)))

    def find_peaks(self, signal: torch.Tensor, res: int = 100) -> Tuple[torch.Tensor, torch.Tensor]:
        r"""Locate the local maxima of the signal on the sphere.

        Local maxima of the signal on an S2 grid (``signal_on_grid``, neighbours along both angles, periodic in
        alpha) are refined by a compass search on the sphere (to about ``1e-10`` rad) and merged when they coincide. Unlike e3nn (which returns
        grid points, with duplicates), the positions are accurate critical points.

        Parameters
        ----------
        signal : `torch.Tensor`
            shape ``(self.dim,)``
        res : int
            resolution of the search grid

        Returns
        -------
        positions : `torch.Tensor`
            unit vectors, shape ``(P, 3)``
        values : `torch.Tensor`
            the signal at the peaks, shape ``(P,)``

        Examples
        --------
        >>> import torch
        >>> from e3torch.io import SphericalTensor
        >>> s = SphericalTensor(4, 1, -1)
        >>> x = s.with_peaks_at(torch.tensor([[4.0, 0.0, 4.0], [0.0, 5.0, 0.0]]))
        >>> pos, val = s.find_peaks(x)
        >>> pos[val > 4.0].mul(10).round().abs()
        tensor([[ 7.,  0.,  7.],
                [ 0., 10.,  0.]])
        >>> val[val > 4.0].mul(10).round().abs()
        tensor([57., 50.])
        """
        self._check_signal(signal)
        if signal.dim() != 1:
            raise ValueError(f"expected a single signal of shape ({self.dim},), got shape {tuple(signal.shape)}")
        with torch.no_grad():
            grid, f = self.signal_on_grid(signal, res)
            padded = torch.cat([f[:, -1:], f, f[:, :1]], dim=1)
            padded = torch.cat([padded[:1].max(dim=1, keepdim=True).values.expand(1, padded.shape[1]), padded,
                                padded[-1:].max(dim=1, keepdim=True).values.expand(1, padded.shape[1])], dim=0)
            center = padded[1:-1, 1:-1]
            is_max = torch.ones_like(center, dtype=torch.bool)
            for db in (-1, 0, 1):
                for da in (-1, 0, 1):
                    if db or da:
                        neighbour = padded[1 + db : padded.shape[0] - 1 + db, 1 + da : padded.shape[1] - 1 + da]
                        is_max &= center >= neighbour
            start = grid[is_max]
        x = torch.nn.functional.normalize(start, dim=-1).detach()
        sig = signal.detach()
        values = self.signal_xyz(sig, x)
        # compass search on the sphere: try 8 directions in the tangent plane, halve the step when none is better
        helper = torch.where(x[:, :1].abs() < 0.9, x.new_tensor([1.0, 0.0, 0.0]), x.new_tensor([0.0, 1.0, 0.0]))
        angles = torch.arange(8, dtype=x.dtype, device=x.device) * (math.pi / 4)
        step = torch.full_like(values, math.pi / res)
        for _ in range(40):
            u = torch.nn.functional.normalize(torch.linalg.cross(x, helper), dim=-1)
            v = torch.linalg.cross(x, u)
            offsets = angles.cos()[None, :, None] * u[:, None] + angles.sin()[None, :, None] * v[:, None]
            trial = torch.nn.functional.normalize(x[:, None] + step[:, None, None] * offsets, dim=-1)
            trial_values = self.signal_xyz(sig, trial)  # (P, 8)
            best, which = trial_values.max(dim=1)
            better = best > values
            x = torch.where(better[:, None], trial[torch.arange(len(x)), which], x)
            values = torch.where(better, best, values)
            step = torch.where(better, step, step / 2)
        order = torch.argsort(values, descending=True)
        kept: List[int] = []
        for i in order.tolist():
            if all(float((x[i] - x[j]).norm()) > math.pi / (2 * res) for j in kept):
                kept.append(i)
        idx = torch.tensor(kept, dtype=torch.long, device=x.device)
        return x[idx], values[idx]

    # -----------------------------------------------------------------------------------------------------------------
    # plotting data (no plotting library needed)

    def plot(
        self,
        signal: torch.Tensor,
        center: Optional[torch.Tensor] = None,
        res: int = 100,
        radius: bool = True,
        relu: bool = False,
        normalization: str = "integral",
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Surface data for a plot: a closed grid (poles and alpha seam included) and the signal on it.

        The signal is evaluated with :meth:`signal_on_grid` (and clipped with ``relu``); the first and last rings are
        replaced by the poles, with the mean of the ring as value, and the first meridian is repeated at the end.

        Parameters
        ----------
        signal : `torch.Tensor`
            shape ``(self.dim,)``
        center : `torch.Tensor`, optional
            shape ``(3,)``, translation of the surface
        res : int
            grid resolution
        radius : bool
            scale the points by :math:`|f|` (a radial plot) instead of drawing the unit sphere
        relu : bool
            clip the negative values to zero
        normalization : {"integral", "component", "norm"}
            as in :meth:`signal_on_grid`

        Returns
        -------
        r : `torch.Tensor`
            points, shape ``(res, res, 3)``
        f : `torch.Tensor`
            values, shape ``(res, res)``

        Examples
        --------
        >>> import torch
        >>> from e3torch.io import SphericalTensor
        >>> s = SphericalTensor(3, 1, -1)
        >>> r, f = s.plot(s.randn(-1), res=20)
        >>> r.shape, f.shape
        (torch.Size([20, 20, 3]), torch.Size([20, 20]))
        """
        self._check_signal(signal)
        if signal.dim() != 1:
            raise ValueError(f"expected a single signal of shape ({self.dim},), got shape {tuple(signal.shape)}")
        r, f = self.signal_on_grid(signal, res, normalization)
        if relu:
            f = f.relu()
        pole = r.new_zeros(1, r.shape[1], 3)
        r = torch.cat([pole + r.new_tensor([0.0, 1.0, 0.0]), r[1:-1], pole + r.new_tensor([0.0, -1.0, 0.0])])
        f = torch.cat([f[:1].mean(1, keepdim=True).expand(1, f.shape[1]), f[1:-1],
                       f[-1:].mean(1, keepdim=True).expand(1, f.shape[1])])
        r = torch.cat([r, r[:, :1]], dim=1)
        f = torch.cat([f, f[:, :1]], dim=1)
        if radius:
            r = r * f.abs()[..., None]
        if center is not None:
            r = r + center
        return r, f

    def plotly_surface(
        self,
        signals: torch.Tensor,
        centers: Optional[torch.Tensor] = None,
        res: int = 100,
        radius: bool = True,
        relu: bool = False,
        normalization: str = "integral",
    ) -> List[Dict[str, object]]:
        """Keyword arguments for ``plotly.graph_objects.Surface``, one dict per signal (plotly is not needed here).

        Parameters
        ----------
        signals : `torch.Tensor`
            shape ``(self.dim,)`` or ``(N, self.dim)``
        centers : `torch.Tensor`, optional
            shape ``(3,)`` or ``(N, 3)``
        res, radius, relu, normalization
            as in :meth:`plot`

        Returns
        -------
        list of dict
            keys ``x``, ``y``, ``z``, ``surfacecolor`` (NumPy arrays of shape ``(res, res)``)

        Examples
        --------
        >>> from e3torch.io import SphericalTensor
        >>> x = SphericalTensor(4, +1, +1)
        >>> traces = x.plotly_surface(x.randn(-1), res=20)
        >>> len(traces), sorted(traces[0]), traces[0]["x"].shape
        (1, ['surfacecolor', 'x', 'y', 'z'], (20, 20))
        """
        self._check_signal(signals)
        signals = signals.reshape(-1, self.dim)
        if centers is None:
            centers = signals.new_zeros(signals.shape[0], 3)
        centers = centers.reshape(-1, 3).expand(signals.shape[0], 3)
        traces = []
        for signal, center in zip(signals, centers):
            r, f = self.plot(signal, center, res, radius, relu, normalization)
            r, f = r.detach().cpu(), f.detach().cpu()
            traces.append(dict(x=r[..., 0].numpy(), y=r[..., 1].numpy(), z=r[..., 2].numpy(), surfacecolor=f.numpy()))
        return traces
