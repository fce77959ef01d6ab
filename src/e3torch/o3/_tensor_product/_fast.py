"""The fast executor of a :class:`~e3torch.o3._tensor_product._plan.TensorProductPlan`.

Two backends compute the same numbers:

- ``"cpp"``: fused C++ kernels (:mod:`e3torch._kernels`), compiled on first use and cached, for float32 and
  float64 tensors on the CPU. They process a tile of samples at a time with the samples as the vectorised
  dimension, read each input once, write each output once, skip the zeros of the Clebsch-Gordan blocks, run the
  weight contractions of the ``uvw``-like paths as register-blocked matrix products (weights first when an input
  is a scalar, e.g. one-hot species) and compute all the gradients of a backward pass in one sweep. The product is
  multilinear, so the backward and the double backward are the same operator with other operands; it is a custom
  operator with a fake implementation, and works under ``torch.compile(fullgraph=True)`` and ``torch.export``.
- ``"torch"``: plain PyTorch per path (the dense, coefficient-scaled CG block folded into one input, batched
  matmuls; one outer product shared by the channel-paired paths of a pair of blocks); any device and dtype, with
  PyTorch's own autograd. Used when the kernels are unavailable, and for other devices and dtypes.

``backend="auto"`` takes ``"cpp"`` when the kernels build (or are cached) and falls back to ``"torch"`` otherwise;
the choice is per call: CPU float32/float64 inputs go to the kernels, anything else to ``"torch"``.

Large outputs (a convolution over many edges writes hundreds of MB) cost more in first-touch page faults than in
arithmetic. The kernels ask for transparent huge pages on their own large outputs; for the rest of a model,
``THP_MEM_ALLOC_ENABLE=1`` (PyTorch's CPU allocator then does the same) or a caching allocator such as jemalloc or
tcmalloc (``LD_PRELOAD``) removes most of that cost.
"""

from __future__ import annotations

import torch

from e3torch import _kernels
from e3torch._kernels import _tp_ops
from e3torch.o3._tensor_product._plan import TensorProductPlan

__all__ = ["FastExecutor", "BACKENDS"]

BACKENDS: tuple[str, ...] = ("auto", "cpp", "torch")

_KERNEL_DTYPES = (torch.float32, torch.float64)


_PAIRED = ("uuw", "uuu", "uvu<v", "u<vw")  # modes that pair the channels of the two inputs


def _paired_weights(mode: str, t: torch.Tensor, w: torch.Tensor | None, per_sample: bool) -> torch.Tensor:
    """Weights of a channel-paired path applied to its CG product ``t (Z, channels, d_out)``."""
    if mode in ("uuu", "uvu<v"):
        return t if w is None else t * w.unsqueeze(-1)
    if w is None:
        return t.sum(1, keepdim=True)
    return torch.einsum("zck,zcw->zwk" if per_sample else "zck,cw->zwk", t, w)


def _path_torch(
    mode: str, a: torch.Tensor, b: torch.Tensor, cg: torch.Tensor, w: torch.Tensor | None, per_sample: bool
) -> torch.Tensor:
    """One path in plain PyTorch: ``(Z, mul_out, d_out)`` from the blocks ``a (Z, m1, d1)`` and ``b (Z, m2, d2)``.

    ``cg`` is the dense ``(d1, d2, d_out)`` block times the coefficient; ``w`` the path's weights shaped like
    ``path_shape``, with a leading ``Z`` when ``per_sample``, or None. For the ``u < v`` modes ``a`` and ``b``
    are already gathered on the pairs. Channel-paired modes take the outer product of the components and one matmul
    with the CG block; the others fold ``b`` into the CG block first and contract ``a`` with it by batched matmul.
    """
    z, d1, d2 = a.shape[0], a.shape[-1], b.shape[-1]
    if mode in _PAIRED:
        t = (a.unsqueeze(-1) * b.unsqueeze(-2)).reshape(z, a.shape[1], d1 * d2) @ cg.reshape(d1 * d2, -1)
        return _paired_weights(mode, t, w, per_sample)
    per = "z" if per_sample else ""
    if mode == "uvu" and b.shape[1] == 1:  # one channel of b (e.g. spherical harmonics): scale a, one bmm
        m = (b[:, 0] @ cg.transpose(0, 1).reshape(d2, -1)).reshape(z, d1, -1)
        return torch.bmm(a if w is None else a * w[..., 0].unsqueeze(-1), m)
    m = torch.einsum("zvj,ijk->zvik", b, cg)
    t = torch.einsum("zui,zvik->zuvk", a, m)
    if mode == "uvw":
        return torch.einsum(f"zuvk,{per}uvw->zwk", t, w)
    if w is not None:
        t = t * w.unsqueeze(-1)
    if mode == "uvu":
        return t.sum(2)
    if mode == "uvv":
        return t.sum(1)
    return t.reshape(z, -1, t.shape[-1])  # uvuv


class FastExecutor(torch.nn.Module):
    """Runs a tensor-product plan with fused C++ kernels (CPU) or a pure-PyTorch fallback.

    Parameters
    ----------
    plan : TensorProductPlan
        The plan to execute.
    dtype, device : optional
        Of the constant buffers (default: torch's defaults). The buffers are not persistent, so the state dict of
        the module that owns the executor is unchanged, and ``.to()`` moves them.
    backend : {"auto", "cpp", "torch"}
        ``"cpp"`` requires the compiled kernels (``RuntimeError`` if they cannot be built), ``"torch"`` never
        uses them, ``"auto"`` uses them when available.

    Examples
    --------
    >>> from e3torch.o3._tensor_product._plan import Block, Path, TensorProductPlan
    >>> cg = tuple((i, i, 0, 3 ** -0.5) for i in range(3))  # wigner_3j(1, 1, 0)
    >>> plan = TensorProductPlan((Block(2, 1, -1, 0),), (Block(1, 1, -1, 0),), (Block(2, 0, 1, 0),),
    ...                          (Path(0, 0, 0, "uvu", True, 0, (2, 1), 1.0, cg),), 2)
    >>> ex = FastExecutor(plan, dtype=torch.float64, backend="torch")
    >>> x1 = torch.tensor([[1.0, 0.0, 0.0, 0.0, 2.0, 0.0]], dtype=torch.float64)
    >>> x2 = torch.tensor([[3.0, 0.0, 0.0]], dtype=torch.float64)
    >>> (ex(x1, x2, torch.tensor([1.0, 1.0], dtype=torch.float64)) * 3 ** 0.5).round(decimals=6)
    tensor([[3., 0.]], dtype=torch.float64)
    """

    def __init__(
        self,
        plan: TensorProductPlan,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        *,
        backend: str = "auto",
    ) -> None:
        super().__init__()
        if not isinstance(plan, TensorProductPlan):
            raise TypeError(f"plan must be a TensorProductPlan, got {type(plan).__name__}")
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        dtype = torch.get_default_dtype() if dtype is None else dtype
        self.plan = plan
        self.requested_backend = backend
        for n, path in enumerate(plan.paths):
            cg = plan.dense_cg(path) * path.coefficient
            self.register_buffer(f"_cg{n}", cg.to(dtype=dtype, device=device), persistent=False)
        # Channel-paired paths on the same pair of input blocks share one outer product and one CG matmul.
        groups: dict[tuple[int, int, bool], list[int]] = {}
        for n, path in enumerate(plan.paths):
            if path.mode in _PAIRED:
                groups.setdefault((path.i_in1, path.i_in2, path.mode in ("uvu<v", "u<vw")), []).append(n)
        self._paired_groups = [(key, members) for key, members in groups.items()]
        for g, (_, members) in enumerate(self._paired_groups):
            blocks = [plan.dense_cg(plan.paths[n]) * plan.paths[n].coefficient for n in members]
            cat = torch.cat([c.reshape(c.shape[0] * c.shape[1], c.shape[2]) for c in blocks], dim=1)
            self.register_buffer(f"_cgcat{g}", cat.to(dtype=dtype, device=device), persistent=False)
        pairs = {}
        for path in plan.paths:
            if path.mode in ("uvu<v", "u<vw"):
                mul = plan.in1[path.i_in1].mul
                pairs[mul] = torch.triu_indices(mul, mul, 1, device=device)
        for mul, index in pairs.items():
            self.register_buffer(f"_pairs{mul}", index, persistent=False)
        self._dims = (plan.dim_in1, plan.dim_in2, plan.dim_out, plan.weight_numel)
        self._use_kernels = False
        if backend != "torch":
            if _kernels.tensor_product_ops_available():
                tables = _tp_ops.encode_plan(plan)
                # Integer tables (the CG values as float64 bit patterns): .to(dtype) leaves them exact.
                self.register_buffer("_tab_i", tables[0].to(device=device), persistent=False)
                self.register_buffer("_tab_f", tables[1].view(torch.int64).to(device=device), persistent=False)
                self._use_kernels = True
            elif backend == "cpp":
                raise RuntimeError(
                    "backend='cpp' needs the compiled tensor-product kernels, which are unavailable: "
                    f"{_kernels.kernel_build_error()}"
                )

    def __setstate__(self, state: dict) -> None:
        # An executor unpickled in another process loads (or, without a compiler, gives up) the kernels there.
        super().__setstate__(state)
        if "_dims" not in self.__dict__:  # pickled before the sizes were cached
            plan = self.plan
            self._dims = (plan.dim_in1, plan.dim_in2, plan.dim_out, plan.weight_numel)
        if self._use_kernels and not _kernels.tensor_product_ops_available():
            self._use_kernels = False

    @property
    def backend(self) -> str:
        """The backend used for CPU float32/float64 inputs: ``"cpp"`` or ``"torch"``.

        Examples
        --------
        >>> from e3torch.o3._tensor_product._plan import TensorProductPlan
        >>> FastExecutor(TensorProductPlan((), (), (), (), 0), backend="torch").backend
        'torch'
        """
        return "cpp" if self._use_kernels else "torch"

    def extra_repr(self) -> str:
        return f"{self.plan!r}, backend={self.backend!r}"

    def forward(self, x1: torch.Tensor, x2: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
        """Apply the plan.

        Parameters
        ----------
        x1 : torch.Tensor
            ``(Z, plan.dim_in1)``.
        x2 : torch.Tensor
            ``(Z, plan.dim_in2)``.
        weight : torch.Tensor, optional
            ``(plan.weight_numel,)`` (shared) or ``(Z, plan.weight_numel)`` (one set per sample); may be omitted
            when the plan has no weights.

        Returns
        -------
        torch.Tensor
            ``(Z, plan.dim_out)``; output blocks that no path reaches are zero.
        """
        if weight is None:
            weight = x1.new_zeros(0)
        if (
            self._use_kernels
            and x1.device.type == "cpu"
            and x1.dtype in _KERNEL_DTYPES
            and x2.dtype == x1.dtype
            and weight.dtype == x1.dtype
        ):
            return _tp_ops.tensor_product(x1, x2, weight, self._tab_i, self._tab_f, self._dims)
        return self._forward_torch(x1, x2, weight)

    def _forward_torch(self, x1: torch.Tensor, x2: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        plan = self.plan
        z = x1.shape[0]
        per_sample = weight.dim() == 2
        results: list[torch.Tensor | None] = [None] * len(plan.out)
        paired: dict[int, torch.Tensor] = {}
        for g, ((i1, i2, triu), members) in enumerate(self._paired_groups):
            b1, b2 = plan.in1[i1], plan.in2[i2]
            a = x1.narrow(1, b1.offset, b1.size).reshape(z, b1.mul, b1.dim)
            b = x2.narrow(1, b2.offset, b2.size).reshape(z, b2.mul, b2.dim)
            if triu:
                index = getattr(self, f"_pairs{b1.mul}")
                a, b = a[:, index[0]], b[:, index[1]]
            outer = (a.unsqueeze(-1) * b.unsqueeze(-2)).reshape(z, a.shape[1], b1.dim * b2.dim)
            t = outer @ getattr(self, f"_cgcat{g}")
            sizes = [plan.out[plan.paths[n].i_out].dim for n in members]
            paired.update(zip(members, t.split(sizes, dim=-1)))
        for n, path in enumerate(plan.paths):
            b1, b2, bo = plan.in1[path.i_in1], plan.in2[path.i_in2], plan.out[path.i_out]
            w = None
            if path.has_weight:
                w = weight.narrow(-1, path.weight_offset, path.weight_numel)
                w = w.reshape((z,) * per_sample + path.weight_shape)
            if n in paired:
                y = _paired_weights(path.mode, paired[n], w, per_sample).reshape(z, bo.size)
            else:
                a = x1.narrow(1, b1.offset, b1.size).reshape(z, b1.mul, b1.dim)
                b = x2.narrow(1, b2.offset, b2.size).reshape(z, b2.mul, b2.dim)
                y = _path_torch(path.mode, a, b, getattr(self, f"_cg{n}"), w, per_sample).reshape(z, bo.size)
            results[path.i_out] = y if results[path.i_out] is None else results[path.i_out] + y
        blocks = [x1.new_zeros(z, bo.size) if r is None else r for r, bo in zip(results, plan.out)]
        if not blocks:
            return x1.new_zeros(z, 0)
        return blocks[0] if len(blocks) == 1 else torch.cat(blocks, dim=1)
