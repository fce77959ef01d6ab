"""The naive tensor-product executor: obviously correct, one dense Clebsch-Gordan ``einsum`` per path.

It is the oracle of every faster executor; keep it simple rather than fast.
"""

from __future__ import annotations

import torch

from e3torch.o3._tensor_product._plan import TensorProductPlan

__all__ = ["NaiveExecutor"]

# Contraction of x1 (z u i), x2 (z v j), the CG block (i j k) and, when present, the weights; the batch letter of the
# weights is added for unshared weights. ``uu`` modes use the same letter for both inputs.
_EQUATIONS: dict[str, tuple[str, str, str, str]] = {
    # mode: (x2 letters, weight letters, output letters, unweighted output letters)
    "uvw": ("zvj", "uvw", "zwk", ""),
    "uvu": ("zvj", "uv", "zuk", "zuk"),
    "uvv": ("zvj", "uv", "zvk", "zvk"),
    "uuw": ("zuj", "uw", "zwk", "zk"),
    "uuu": ("zuj", "u", "zuk", "zuk"),
    "uvuv": ("zvj", "uv", "zuvk", "zuvk"),
}


class NaiveExecutor(torch.nn.Module):
    """Run a :class:`~e3torch.o3._tensor_product._plan.TensorProductPlan` with dense ``einsum`` per path.

    Parameters
    ----------
    plan : TensorProductPlan
        The plan to execute.
    dtype, device : optional
        Of the constant buffers (the CG blocks); default torch's defaults.

    Examples
    --------
    >>> import torch
    >>> from e3torch.o3._irreps import Irreps
    >>> from e3torch.o3._tensor_product._plan import build_plan
    >>> plan = build_plan(Irreps("1o"), Irreps("1o"), Irreps("0e"), [(0, 0, 0, "uvw", True)])
    >>> ex = NaiveExecutor(plan, dtype=torch.float64)
    >>> x = torch.tensor([[1.0, 2.0, 3.0]], dtype=torch.float64)
    >>> ex(x, x, torch.ones(1, dtype=torch.float64))  # x . x / sqrt(3) (component normalization)
    tensor([[8.0829]], dtype=torch.float64)
    """

    def __init__(
        self,
        plan: TensorProductPlan,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
    ) -> None:
        super().__init__()
        self.plan = plan
        for n, path in enumerate(plan.paths):
            cg = plan.dense_cg(path) * path.coefficient
            self.register_buffer(
                f"cg_{n}", cg.to(dtype=dtype or torch.get_default_dtype(), device=device), False
            )
            if path.mode in ("uvu<v", "u<vw"):
                mul = plan.in1[path.i_in1].mul
                pairs = torch.triu_indices(mul, mul, 1, device=device)
                self.register_buffer(f"pairs_{n}", pairs, False)

    def _path(self, n: int, x1: torch.Tensor, x2: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        plan, path = self.plan, self.plan.paths[n]
        b1, b2, bo = plan.in1[path.i_in1], plan.in2[path.i_in2], plan.out[path.i_out]
        z = x1.shape[0]
        a = x1[:, b1.offset : b1.stop].reshape(z, b1.mul, b1.dim)
        b = x2[:, b2.offset : b2.stop].reshape(z, b2.mul, b2.dim)
        cg = getattr(self, f"cg_{n}")
        shared = weight.dim() == 1
        w = None
        if path.has_weight:
            w = weight[..., path.weight_offset : path.weight_offset + path.weight_numel]
            w = w.reshape(path.weight_shape if shared else (z,) + path.weight_shape)
        wz = "" if shared else "z"
        if path.mode in ("uvu<v", "u<vw"):
            pairs = getattr(self, f"pairs_{n}")
            outer = torch.einsum("zui,zvj,ijk->zuvk", a, b, cg)
            sel = outer[:, pairs[0], pairs[1], :]  # (z, pair, k)
            if path.mode == "uvu<v":
                return sel if w is None else sel * w.unsqueeze(-1)
            return torch.einsum(f"zpk,{wz}pw->zwk", sel, w)
        x2_letters, w_letters, out_letters, plain_letters = _EQUATIONS[path.mode]
        if w is None:
            out = torch.einsum(f"zui,{x2_letters},ijk->{plain_letters}", a, b, cg)
            if path.mode == "uuw":
                out = out.unsqueeze(1)
        else:
            out = torch.einsum(f"zui,{x2_letters},ijk,{wz}{w_letters}->{out_letters}", a, b, cg, w)
        return out.reshape(z, bo.mul, bo.dim)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        """Evaluate the tensor product.

        Parameters
        ----------
        x1 : torch.Tensor
            ``(Z, plan.dim_in1)``
        x2 : torch.Tensor
            ``(Z, plan.dim_in2)``
        weight : torch.Tensor
            ``(plan.weight_numel,)`` if shared, else ``(Z, plan.weight_numel)``.

        Returns
        -------
        torch.Tensor
            ``(Z, plan.dim_out)``; output blocks that no path reaches are zero.
        """
        z = x1.shape[0]
        sums: list[torch.Tensor | None] = [None] * len(self.plan.out)
        for n, path in enumerate(self.plan.paths):
            term = self._path(n, x1, x2, weight)
            prev = sums[path.i_out]
            sums[path.i_out] = term if prev is None else prev + term
        blocks = [
            (s if s is not None else x1.new_zeros(z, b.mul, b.dim)).reshape(z, b.size)
            for s, b in zip(sums, self.plan.out)
        ]
        if not blocks:
            return x1.new_zeros(z, 0)
        return torch.cat(blocks, dim=1)
