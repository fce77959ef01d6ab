"""A fused executor for MACE's symmetric contraction (mace-torch's ``SymmetricContraction``), same state dict.

MACE's product basis (Batatia et al. 2022, eqs. 10-11) computes, per node ``b`` and channel ``c``,

    ``out[b, c, o] = sum over nu = 1..correlation, k, i_1..i_nu of
    U_nu[o, i_1, .., i_nu, k] * w_nu[b, k, c] * x[b, c, i_1] * ... * x[b, c, i_nu]``,   ``w_nu = y @ W_nu``,

with ``U_nu`` fixed generalized Clebsch-Gordan tensors (buffers of the mace module), ``W_nu`` the weights per
chemical element and ``y`` the one-hot elements. mace evaluates it with dense einsums; the ``U_nu`` are very
sparse (a few hundred to a few thousand nonzero entries out of up to ~10^6), and because the product of the
features is symmetric in ``i_1..i_nu``, entries that differ only by the order of the ``i`` merge into one term.
:class:`FusedSymmetricContraction` builds that list of terms once, in float64, from the module's own ``U``
buffers (so it follows whatever basis the installed mace uses), and evaluates every output, correlation order
and weight in one :func:`e3torch.math.sparse_multilinear` call. It reuses the mace module's parameters and
buffers under the same names, so state dicts load both ways and training updates the same tensors.

:func:`accelerate` swaps the symmetric contractions of a MACE model for fused ones, after checking each against
the original on probe inputs. It works with mace on e3nn or on e3torch's compat layer.
"""

from __future__ import annotations

import dataclasses

import torch

from e3torch.math._sparse_multilinear import sparse_multilinear, sparse_multilinear_table

__all__ = [
    "FusedSymmetricContraction",
    "SymmetricContractionPlan",
    "accelerate",
    "is_mace_symmetric_contraction",
]


@dataclasses.dataclass(frozen=True)
class SymmetricContractionPlan:
    """The terms of one symmetric contraction, and where its weights and outputs go.

    Attributes
    ----------
    num_features : int
        Channels ``C``.
    num_ell : int
        Components per channel ``n`` (``(L+1)^2`` for features up to ``L``); row ``n`` of the feature input is a
        row of ones, which pads the monomials of orders below the highest to a common length.
    correlation : int
        Highest correlation order over the outputs (the map has ``correlation + 1`` inputs).
    outputs : tuple of (int, int)
        ``(row offset, 2l+1)`` of each output irrep (each of the module's contractions), in order.
    weights : tuple of (int, int, int, int)
        ``(contraction, nu, K, row offset)`` of each weight block in the stacked weights.
    table : torch.Tensor
        The :func:`~e3torch.math.sparse_multilinear_table` of the terms: output row, weight row, ``correlation``
        feature rows, coefficient.

    Examples
    --------
    >>> plan = SymmetricContractionPlan.from_tensors(
    ...     [{1: torch.ones(2, 1), 2: torch.eye(2).unsqueeze(-1)}], num_features=4)
    >>> plan
    SymmetricContractionPlan(features=4x2, correlation=2, outputs=1, weights=2, terms=4)
    """

    num_features: int
    num_ell: int
    correlation: int
    outputs: tuple[tuple[int, int], ...]
    weights: tuple[tuple[int, int, int, int], ...]
    table: torch.Tensor

    @property
    def dim_out(self) -> int:
        """Rows of the map's output: the sum of the outputs' ``2l+1``."""
        return sum(d for _, d in self.outputs)

    @property
    def num_weights(self) -> int:
        """Rows of the stacked weights: the sum of the blocks' ``K``."""
        return sum(k for _, _, k, _ in self.weights)

    def __repr__(self) -> str:
        return (
            f"SymmetricContractionPlan(features={self.num_features}x{self.num_ell}, correlation={self.correlation}, "
            f"outputs={len(self.outputs)}, weights={len(self.weights)}, terms={self.table.shape[0]})"
        )

    @classmethod
    def from_tensors(
        cls, contractions: list[dict[int, torch.Tensor]], num_features: int
    ) -> SymmetricContractionPlan:
        """The plan of contractions given by their ``U`` tensors, ``{nu: U_nu}`` per contraction.

        ``U_nu`` has shape ``([2l+1,] n, .., n (nu times), K_nu)``, the leading ``2l+1`` omitted for a scalar
        output, as mace stores them.

        Raises
        ------
        ValueError
            When the tensors of the contractions disagree on ``n`` or on ``2l+1``, or have the wrong rank.

        Examples
        --------
        >>> plan = SymmetricContractionPlan.from_tensors([{1: torch.ones(3, 2)}], num_features=1)
        >>> plan.outputs, plan.weights, plan.table.shape
        (((0, 1),), ((0, 1, 2, 0),), torch.Size([6, 4]))
        """
        if not contractions or any(not u for u in contractions):
            raise ValueError("expected at least one contraction, each with at least one U tensor")
        correlation = max(max(u) for u in contractions)
        num_ell = None
        terms: list[tuple[int, tuple[int, ...], float]] = []
        outputs, weights = [], []
        row_out = row_w = 0
        for ci, tensors in enumerate(contractions):
            dim = None
            for nu in sorted(tensors):
                u = tensors[nu].detach().to("cpu", torch.float64)
                if u.dim() == nu + 1:
                    u = u.unsqueeze(0)
                if u.dim() != nu + 2:
                    raise ValueError(
                        f"expected U_{nu} of contraction {ci} to have {nu + 1} or {nu + 2} dimensions, "
                        f"got shape {tuple(tensors[nu].shape)}"
                    )
                n = u.shape[1]
                if num_ell is None:
                    num_ell = n
                if dim is None:
                    dim = u.shape[0]
                if n != num_ell or u.shape[0] != dim or any(s != n for s in u.shape[1:-1]):
                    raise ValueError(
                        f"expected U_{nu} of contraction {ci} to have shape ({dim}, {num_ell} x {nu}, K), "
                        f"got {tuple(u.shape)}"
                    )
                k = u.shape[-1]
                terms += _symmetrized_terms(u, nu, row_out, row_w, correlation, num_ell)
                weights.append((ci, nu, k, row_w))
                row_w += k
            outputs.append((row_out, int(dim)))
            row_out += int(dim)
        table = sparse_multilinear_table(terms, num_inputs=correlation + 1)
        return cls(num_features, int(num_ell), correlation, tuple(outputs), tuple(weights), table)


def _symmetrized_terms(
    u: torch.Tensor, nu: int, row_out: int, row_w: int, correlation: int, pad: int
) -> list[tuple[int, tuple[int, ...], float]]:
    """The nonzero entries of ``u`` (o, i_1..i_nu, k), merged over the order of the ``i``: one term per monomial."""
    nonzero = u.nonzero()
    if nonzero.shape[0] == 0:
        return []
    values = u[tuple(nonzero.t())]
    features = nonzero[:, 1:-1].sort(dim=1).values
    keys = torch.cat([nonzero[:, :1], nonzero[:, -1:], features], dim=1)
    unique, inverse = torch.unique(keys, dim=0, return_inverse=True)
    merged = torch.zeros(unique.shape[0], dtype=torch.float64).index_add_(0, inverse, values)
    padding = (pad,) * (correlation - nu)
    return [
        (row_out + int(key[0]), (row_w + int(key[1]),) + tuple(int(i) for i in key[2:]) + padding, float(c))
        for key, c in zip(unique.tolist(), merged.tolist())
        if c != 0.0
    ]


def is_mace_symmetric_contraction(module: torch.nn.Module) -> bool:
    """Whether ``module`` is mace-torch's ``SymmetricContraction`` (by class, with its ``contractions`` list).

    Examples
    --------
    >>> is_mace_symmetric_contraction(torch.nn.Linear(2, 2))
    False
    """
    cls = type(module)
    return (
        cls.__name__ == "SymmetricContraction"
        and cls.__module__.startswith("mace.")
        and isinstance(getattr(module, "contractions", None), torch.nn.ModuleList)
    )


def _weight_of(contraction: torch.nn.Module, nu: int) -> torch.Tensor:
    """mace's weights of order ``nu``: ``weights_max`` for the highest, ``weights[correlation - 1 - nu]`` below."""
    if nu == contraction.correlation:
        return contraction.weights_max
    return contraction.weights[contraction.correlation - 1 - nu]


class FusedSymmetricContraction(torch.nn.Module):
    """mace's ``SymmetricContraction``, evaluated as one sparse multilinear map; same parameters and state dict.

    Parameters
    ----------
    original : torch.nn.Module
        A mace-torch ``SymmetricContraction``. Its ``contractions`` (with their ``U_matrix_*`` buffers and
        weights) become this module's, so ``state_dict`` keys, shapes and the parameter objects are shared.
    use_kernel : bool
        Use the compiled CPU kernel where it applies (see :func:`~e3torch.math.sparse_multilinear`).

    Raises
    ------
    TypeError
        When ``original`` is not a mace ``SymmetricContraction``.

    Examples
    --------
    >>> import contextlib, importlib.util, io, warnings
    >>> if importlib.util.find_spec("mace") is not None:
    ...     with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):  # mace prints on import
    ...         warnings.simplefilter("ignore")
    ...         from mace.modules.symmetric_contraction import SymmetricContraction
    ...         from e3nn import o3
    ...     sc = SymmetricContraction(o3.Irreps("4x0e + 4x1o"), o3.Irreps("4x0e"), correlation=2, num_elements=2)
    ...     fused = FusedSymmetricContraction(sc)
    ...     x, y = torch.randn(3, 4, 4), torch.eye(2)[[0, 1, 1]]
    ...     print(torch.allclose(fused(x, y), sc(x, y), atol=1e-5), fused(x, y).shape)
    ... else:
    ...     print(True, torch.Size([3, 4]))
    True torch.Size([3, 4])
    """

    def __init__(self, original: torch.nn.Module, *, use_kernel: bool = True) -> None:
        super().__init__()
        if not is_mace_symmetric_contraction(original):
            raise TypeError(f"expected a mace SymmetricContraction, got {type(original).__qualname__}")
        self.contractions = original.contractions
        for name in ("irreps_in", "irreps_out", "internal_weights", "shared_weights"):
            if hasattr(original, name):
                setattr(self, name, getattr(original, name))
        tensors = [{nu: c.U_tensors(nu) for nu in range(1, c.correlation + 1)} for c in self.contractions]
        num_features = int(self.contractions[0].num_features)
        self.plan = SymmetricContractionPlan.from_tensors(tensors, num_features)
        self.register_buffer("table", self.plan.table, persistent=False)
        self.use_kernel = use_kernel
        self._slots = self.plan.correlation
        self._blocks = tuple((ci, nu) for ci, nu, _, _ in self.plan.weights)

    def extra_repr(self) -> str:
        return repr(self.plan)

    def _stacked_weights(self) -> torch.Tensor:
        blocks = [_weight_of(self.contractions[ci], nu) for ci, nu in self._blocks]
        return blocks[0] if len(blocks) == 1 else torch.cat(blocks, dim=1)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Features ``(nodes, C, n)`` and element weights ``(nodes, num_elements)`` to ``(nodes, C * dim_out)``."""
        plan = self.plan
        c, n = plan.num_features, plan.num_ell
        if x.dim() != 3 or x.shape[1] != c or x.shape[2] != n:
            raise ValueError(f"expected features of shape (nodes, {c}, {n}), got {tuple(x.shape)}")
        weights = self._stacked_weights()
        if y.dim() != 2 or y.shape[0] != x.shape[0] or y.shape[1] != weights.shape[0]:
            raise ValueError(
                f"expected element attributes of shape ({x.shape[0]}, {weights.shape[0]}), got {tuple(y.shape)}"
            )
        nodes = x.shape[0]
        columns = nodes * c
        features = torch.cat([x.reshape(columns, n).t(), x.new_ones(1, columns)])
        w = torch.einsum("be,ekc->kbc", y, weights).reshape(weights.shape[1], columns)
        out = sparse_multilinear(
            [w] + [features] * self._slots, self.table, plan.dim_out, use_kernel=self.use_kernel
        )
        out = out.view(plan.dim_out, nodes, c).permute(1, 2, 0)
        pieces = [out[:, :, row : row + d].reshape(nodes, c * d) for row, d in plan.outputs]
        return pieces[0] if len(pieces) == 1 else torch.cat(pieces, dim=-1)


def _probe_check(original: torch.nn.Module, fused: FusedSymmetricContraction) -> None:
    plan = fused.plan
    weights = fused._stacked_weights()
    dtype, device = weights.dtype, weights.device
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(5, plan.num_features, plan.num_ell, generator=gen, dtype=torch.float64).to(device, dtype)
    y = torch.eye(weights.shape[0], dtype=dtype, device=device)[torch.arange(5) % weights.shape[0]]
    with torch.no_grad():
        want, got = original(x, y), fused(x, y)
    tol = 1e-9 if dtype == torch.float64 else 1e-3
    scale = float(want.abs().max()) + 1.0
    if want.shape != got.shape or not float((want - got).abs().max()) <= tol * scale:
        raise RuntimeError(
            f"expected the fused symmetric contraction to reproduce mace's within {tol * scale:.1e}, got "
            f"{'shape ' + str(tuple(got.shape)) if want.shape != got.shape else float((want - got).abs().max())}"
            " (an unsupported mace version?)"
        )


def accelerate(model: torch.nn.Module, *, check: bool = True, use_kernel: bool = True) -> torch.nn.Module:
    """Replace every mace ``SymmetricContraction`` in ``model`` by a :class:`FusedSymmetricContraction`, in place.

    The state dict (keys, shapes, the parameter objects themselves) is unchanged, so checkpoints, optimizers and
    ``load_state_dict`` keep working; the numbers are mace's up to rounding (float64: ~1e-15).

    Parameters
    ----------
    model : torch.nn.Module
        A MACE model (``mace.modules.MACE``, ``ScaleShiftMACE``, ...), on mace with e3nn or with e3torch's compat
        layer.
    check : bool
        Compare each fused module with the original on probe inputs first, and refuse on a mismatch.
    use_kernel : bool
        Use the compiled CPU kernel where it applies.

    Returns
    -------
    torch.nn.Module
        ``model`` itself.

    Raises
    ------
    ValueError
        When ``model`` has no mace ``SymmetricContraction`` (and no fused one: a second call is a no-op), or is
        one itself.
    RuntimeError
        When ``check`` finds a fused module that differs from its original.

    Examples
    --------
    >>> accelerate(torch.nn.Linear(2, 2))
    Traceback (most recent call last):
    ...
    ValueError: expected a model with mace SymmetricContraction modules, found none in Linear
    """
    targets = [
        (name, module) for name, module in model.named_modules() if is_mace_symmetric_contraction(module)
    ]
    if not targets and any(isinstance(m, FusedSymmetricContraction) for m in model.modules()):
        return model  # accelerated already
    if not targets:
        raise ValueError(
            f"expected a model with mace SymmetricContraction modules, found none in {type(model).__qualname__}"
        )
    if targets[0][0] == "":
        raise ValueError(
            "expected a model that contains SymmetricContraction modules, got one itself: "
            "use FusedSymmetricContraction(module)"
        )
    for name, module in targets:
        fused = FusedSymmetricContraction(module, use_kernel=use_kernel)
        if check:
            _probe_check(module, fused)
        parent_name, _, attr = name.rpartition(".")
        setattr(model.get_submodule(parent_name) if parent_name else model, attr, fused)
    return model
