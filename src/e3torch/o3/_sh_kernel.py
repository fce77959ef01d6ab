"""The compiled CPU kernel of the spherical harmonics (``_sh_kernel.cpp``): build, tables, autograd.

The kernel evaluates the textbook recursions (azimuthal ``w^m`` and the three-term Legendre recursion in
``(y, |x|^2)``) point by point, in one pass that writes each output row once, and its backward pass differentiates
the same recursions in forward mode. It is built with :func:`torch.utils.cpp_extension.load` on first use (about
half a minute; cached by torch afterwards, under a name that fingerprints the source, the flags and the CPU). When
it cannot be built, :func:`kernel_available` is ``False`` and the callers use the pure-PyTorch executor.

Derivatives of any order: the first derivative is the compiled backward; when a graph of the backward itself is
requested (``create_graph=True``) the gradient is computed by :func:`sh_from_tables`, the same recursions in
differentiable PyTorch operations.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import math
import pathlib
import platform

import torch

from e3torch.o3._legendre import _diagonal_value, legendre_recursion_coefficients

__all__ = [
    "KernelTables",
    "kernel_available",
    "kernel_build_error",
    "kernel_tables",
    "sh_from_tables",
    "sh_kernel",
]

_HERE = pathlib.Path(__file__).parent
_SOURCE = _HERE / "_sh_kernel.cpp"
_CFLAGS = ("-O3", "-march=native", "-fopenmp", "-std=c++17")
_STATE: dict[str, object] = {"ok": None, "error": ""}


@dataclasses.dataclass(frozen=True)
class KernelTables:
    """The float64 tables of the kernel for degrees ``ls`` (immutable; tensors on the CPU).

    Attributes
    ----------
    lmax : int
    a, b : tuple of float
        Recursion coefficients at ``l (l + 1) / 2 + m`` (``m < l``).
    diag : tuple of float
        ``Pbar_m^m``.
    pos : tuple of int
        For every output column, its position ``l^2 + l + m`` in the full table of degrees ``0..lmax``.
    scale : tuple of float
        For every output column: the normalization times ``sqrt(2)`` for ``m != 0``.
    """

    lmax: int
    a: tuple[float, ...] = dataclasses.field(repr=False)
    b: tuple[float, ...] = dataclasses.field(repr=False)
    diag: tuple[float, ...] = dataclasses.field(repr=False)
    pos: tuple[int, ...] = dataclasses.field(repr=False)
    scale: tuple[float, ...] = dataclasses.field(repr=False)

    def tensors(self, device: torch.device | None = None) -> tuple[torch.Tensor, ...]:
        """``(a, b, diag, pos, scale)`` as tensors (float64, int64).

        Examples
        --------
        >>> [t.shape[0] for t in kernel_tables((0, 1), "component").tensors()]
        [3, 3, 2, 4, 4]
        """
        f64 = {"dtype": torch.float64, "device": device}
        return (
            torch.tensor(self.a, **f64),
            torch.tensor(self.b, **f64),
            torch.tensor(self.diag, **f64),
            torch.tensor(self.pos, dtype=torch.long, device=device),
            torch.tensor(self.scale, **f64),
        )


@functools.lru_cache(maxsize=256)
def kernel_tables(ls: tuple[int, ...], normalization: str) -> KernelTables:
    """The kernel's tables for degrees ``ls`` and ``normalization``.

    Examples
    --------
    >>> kernel_tables((2, 0), "norm")
    KernelTables(lmax=2)
    """
    lmax = max(ls)
    coef = legendre_recursion_coefficients(lmax)
    size = (lmax + 1) * (lmax + 2) // 2
    a, b = [0.0] * size, [0.0] * size
    for l in range(lmax + 1):
        for m in range(l):
            a[l * (l + 1) // 2 + m], b[l * (l + 1) // 2 + m] = coef[l][m]
    diag = [_diagonal_value(m) for m in range(lmax + 1)]
    pos, scale = [], []
    for l in ls:
        norm = {"component": 1.0, "norm": 1 / math.sqrt(2 * l + 1), "integral": 1 / math.sqrt(4 * math.pi)}
        for m in range(-l, l + 1):
            pos.append(l * l + l + m)
            scale.append(norm[normalization] * (math.sqrt(2.0) if m else 1.0))
    return KernelTables(lmax, tuple(a), tuple(b), tuple(diag), tuple(pos), tuple(scale))


def sh_from_tables(
    x: torch.Tensor,
    a: torch.Tensor,
    b: torch.Tensor,
    diag: torch.Tensor,
    pos: torch.Tensor,
    scale: torch.Tensor,
    lmax: int,
    normalize: bool,
) -> torch.Tensor:
    """The kernel's computation in differentiable PyTorch operations (one component at a time): ``(N, 3) -> (N, C)``.

    Examples
    --------
    >>> tabs = kernel_tables((1,), "component").tensors()
    >>> sh_from_tables(torch.tensor([[0.0, 2.0, 0.0]], dtype=torch.float64), *tabs, 1, True)
    tensor([[0.0000, 1.7321, 0.0000]], dtype=torch.float64)
    """
    if normalize:
        r2 = (x * x).sum(-1, keepdim=True)
        x = x * torch.rsqrt(torch.where(r2 > 0, r2, torch.ones_like(r2)))
    vx, vy, vz = x.unbind(-1)
    s = vx * vx + vy * vy + vz * vz
    a, b, diag = a.to(x.dtype), b.to(x.dtype), diag.to(x.dtype)
    c, sn = [torch.ones_like(vx)], [torch.zeros_like(vx)]
    for m in range(1, lmax + 1):
        c.append(vz * c[m - 1] - vx * sn[m - 1])
        sn.append(vz * sn[m - 1] + vx * c[m - 1])
    table: list[torch.Tensor | None] = [None] * (lmax + 1) ** 2
    for m in range(lmax + 1):
        p2, p1 = torch.zeros_like(vy), diag[m].expand_as(vy)
        for l in range(m, lmax + 1):
            if l > m:
                t = l * (l + 1) // 2 + m
                p1, p2 = a[t] * vy * p1 - b[t] * s * p2, p1
            centre = l * l + l
            if m == 0:
                table[centre] = p1
            else:
                table[centre + m] = p1 * c[m]
                table[centre - m] = p1 * sn[m]
    full = torch.stack(table, dim=-1)
    return full.index_select(-1, pos) * scale.to(x.dtype)


def _build() -> None:
    from torch.utils import cpp_extension

    digest = hashlib.sha256(_SOURCE.read_bytes())
    digest.update(" ".join(_CFLAGS).encode())
    try:
        cpu = next(
            (
                line
                for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("flags")
            ),
            "",
        )
    except OSError:
        cpu = ""
    digest.update((cpu + platform.machine()).encode())
    cpp_extension.load(
        name=f"e3torch_sh_{digest.hexdigest()[:12]}",
        sources=[str(_SOURCE)],
        extra_cflags=list(_CFLAGS),
        extra_ldflags=["-fopenmp"],
        is_python_module=False,
        verbose=False,
    )
    _register()


def _register() -> None:
    @torch.library.register_fake("e3torch_sh::forward")
    def _(x, a, b, diag, pos, scale, lmax, normalize):
        return x.new_empty(x.shape[0], pos.shape[0])

    @torch.library.register_fake("e3torch_sh::backward")
    def _(grad, x, a, b, diag, pos, scale, lmax, normalize):
        return x.new_empty(x.shape[0], 3)

    def setup_context(ctx, inputs, output) -> None:
        x, a, b, diag, pos, scale, lmax, normalize = inputs
        ctx.save_for_backward(x, a, b, diag, pos, scale)
        ctx.lmax, ctx.normalize = lmax, normalize

    def backward(ctx, grad):
        x, a, b, diag, pos, scale = ctx.saved_tensors
        if torch.is_grad_enabled():  # create_graph: a differentiable gradient
            with torch.enable_grad():
                xd = x if x.requires_grad else x.detach().requires_grad_()
                y = sh_from_tables(xd, a, b, diag, pos, scale, ctx.lmax, ctx.normalize)
                (gx,) = torch.autograd.grad(y, xd, grad, create_graph=True)
        else:
            gx = torch.ops.e3torch_sh.backward(grad, x, a, b, diag, pos, scale, ctx.lmax, ctx.normalize)
        return gx, None, None, None, None, None, None, None

    torch.library.register_autograd("e3torch_sh::forward", backward, setup_context=setup_context)


def kernel_available() -> bool:
    """Whether the compiled kernel is usable in this process (building it on the first call).

    Returns
    -------
    bool

    Examples
    --------
    >>> kernel_available() in (True, False)
    True
    """
    if _STATE["ok"] is None:
        if torch.compiler.is_compiling():
            return False
        try:
            _build()
            _STATE["ok"] = True
        except Exception as error:  # noqa: BLE001 - any build failure means "use the PyTorch executor"
            _STATE["ok"] = False
            _STATE["error"] = f"{type(error).__name__}: {error}"[:2000]
    return bool(_STATE["ok"])


def kernel_build_error() -> str:
    """Why the kernel is unavailable (empty when it is available or not tried yet).

    Examples
    --------
    >>> isinstance(kernel_build_error(), str)
    True
    """
    return str(_STATE["error"])


def sh_kernel(
    x: torch.Tensor,
    a: torch.Tensor,
    b: torch.Tensor,
    diag: torch.Tensor,
    pos: torch.Tensor,
    scale: torch.Tensor,
    lmax: int,
    normalize: bool,
) -> torch.Tensor:
    """The compiled forward, ``x: (N, 3)`` to ``(N, C)`` (needs :func:`kernel_available`).

    Examples
    --------
    >>> if kernel_available():
    ...     y = sh_kernel(torch.tensor([[0.0, 2.0, 0.0]]), *kernel_tables((1,), "component").tensors(), 1, True)
    ...     print(y)
    ... else:
    ...     print(torch.tensor([[0.0, 1.7321, 0.0]]))
    tensor([[0.0000, 1.7321, 0.0000]])
    """
    return torch.ops.e3torch_sh.forward(x, a, b, diag, pos, scale, lmax, normalize)
