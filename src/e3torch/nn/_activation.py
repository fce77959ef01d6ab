"""Scalar activations on a direct sum of irreps: :class:`Activation`.

Each term of ``irreps_in`` gets an activation or ``None`` (identity, allowed for any irrep). Activations apply
to scalars only and are normalized to unit second moment (:class:`e3torch.math.normalize2mom`, e3nn's
constants). Parity: an even scalar stays even; an odd scalar stays odd under an odd function, becomes even
under an even one, and any other function breaks the symmetry (an error).

Execution plan: consecutive terms sharing the same function form one group, so ``forward`` makes one call per
group (one for the whole input in the usual case) and one concatenation.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import torch

from e3torch.math import normalize2mom
from e3torch.o3._irreps import Irrep, Irreps

__all__ = ["Activation", "activation_parity", "split_scale"]

_PARITY_TOLERANCE = 1e-5


def _name(f: object) -> str:
    return getattr(f, "__name__", type(f).__name__)


def activation_parity(act: Callable[[torch.Tensor], torch.Tensor]) -> int:
    """Parity of a scalar function: ``1`` if even, ``-1`` if odd, ``0`` if neither (checked on ``[0, 10]``).

    Parameters
    ----------
    act : callable
        Elementwise function ``torch.Tensor -> torch.Tensor``.

    Returns
    -------
    int
        ``1``, ``-1`` or ``0``.

    Examples
    --------
    >>> activation_parity(torch.tanh), activation_parity(torch.abs), activation_parity(torch.sigmoid)
    (-1, 1, 0)
    """
    with torch.no_grad():
        x = torch.linspace(0.0, 10.0, 256)
        a, b = act(x), act(-x)
        if (a - b).abs().max().item() < _PARITY_TOLERANCE:
            return 1
        if (a + b).abs().max().item() < _PARITY_TOLERANCE:
            return -1
    return 0


def split_scale(act: torch.nn.Module) -> tuple[Callable[[torch.Tensor], torch.Tensor], float | None]:
    """``(f, c)`` such that ``act(x) == f(x) * c`` (``c is None``: no scaling), to fuse the scaling elsewhere.

    Examples
    --------
    >>> f, c = split_scale(normalize2mom(torch.tanh))
    >>> f is torch.tanh, round(c, 4)
    (True, 1.5937)
    """
    f, cst = getattr(act, "f", None), getattr(act, "cst", None)
    if f is None or cst is None:
        return act, None
    return f, None if getattr(act, "_is_id", False) else float(cst)


@dataclasses.dataclass(frozen=True)
class _Group:
    start: int
    stop: int
    act: int  # index into Activation.acts of the first term of the group; -1: identity


def _plan(irreps: Irreps, acts: Sequence[object]) -> tuple[_Group, ...]:
    """Group consecutive non-empty terms that share the same (user-given) function, or are all identities."""

    def same(a: int, b: int) -> bool:
        return (a < 0 and b < 0) or (a >= 0 and b >= 0 and acts[a] is acts[b])

    groups: list[_Group] = []
    start = 0
    for i, ((mul, ir), act) in enumerate(zip(irreps, acts)):
        stop = start + mul * ir.dim
        key = -1 if act is None else i
        if mul > 0 and groups and groups[-1].stop == start and same(groups[-1].act, key):
            groups[-1] = _Group(groups[-1].start, stop, groups[-1].act)
        elif mul > 0:
            groups.append(_Group(start, stop, key))
        start = stop
    return tuple(groups)


class Activation(torch.nn.Module):
    r"""Scalar activation functions, one per term of ``irreps_in``, normalized to unit second moment.

    Parameters
    ----------
    irreps_in : Irreps or str
        Input representation.
    acts : list of callable or None
        One per term of ``irreps_in``; ``None`` leaves the term unchanged (the only choice for ``l > 0``).

    Attributes
    ----------
    irreps_out : Irreps
        Output representation (odd scalars through even functions become even).
    acts : torch.nn.ModuleList
        The normalized activations (:class:`e3torch.math.normalize2mom`) or ``None``.

    Examples
    --------
    >>> act = Activation("2x0e + 3x0o + 1o", [torch.tanh, torch.abs, None])
    >>> act
    Activation [xx ] (2x0e+3x0o+1x1o -> 2x0e+3x0e+1x1o)
    >>> act(torch.randn(4, 8)).shape
    torch.Size([4, 8])
    """

    def __init__(
        self, irreps_in: Irreps | str, acts: Sequence[Callable[[torch.Tensor], torch.Tensor] | None]
    ) -> None:
        super().__init__()
        irreps_in = Irreps(irreps_in)
        if isinstance(acts, (str, bytes)) or not isinstance(acts, Sequence):
            raise TypeError(f"expected acts to be a list of callables or None, got {type(acts).__name__}")
        if len(acts) != len(irreps_in):
            raise ValueError(
                f"expected one activation per term of irreps_in {irreps_in} ({len(irreps_in)}), "
                f"got {len(acts)}"
            )
        for i, act in enumerate(acts):
            if act is not None and not callable(act):
                raise TypeError(f"expected acts[{i}] to be callable or None, got {type(act).__name__}")
        normalized = [None if act is None else normalize2mom(act) for act in acts]

        out = []
        for i, ((mul, ir), act) in enumerate(zip(irreps_in, normalized)):
            if act is None:
                out.append((mul, ir))
                continue
            if ir.l != 0:
                raise ValueError(
                    f"expected scalar (l=0) inputs for activations, got the activation {_name(acts[i])} "
                    f"on {mul}x{ir} (term {i} of {irreps_in})"
                )
            p_out = ir.p
            if ir.p == -1:
                p_out = activation_parity(act)
                if p_out == 0:
                    raise ValueError(
                        f"parity violated: the input scalar {mul}x{ir} (term {i}) is odd, "
                        "expected an even or odd "
                        f"activation, got {_name(acts[i])} which is neither"
                    )
            out.append((mul, Irrep(0, p_out)))

        self.irreps_in, self.irreps_out = irreps_in, Irreps(out)
        self.acts = torch.nn.ModuleList(normalized)
        self.paths = [(mul, (ir.l, ir.p), act) for (mul, ir), act in zip(irreps_in, self.acts)]
        self._groups = _plan(irreps_in, acts)

    def __repr__(self) -> str:
        marks = "".join(" " if act is None else "x" for act in self.acts)
        return f"{type(self).__name__} [{marks}] ({self.irreps_in} -> {self.irreps_out})"

    def _pieces(self, features: torch.Tensor) -> list[torch.Tensor]:
        """The output as a list of consecutive pieces (one per group), for layers that concatenate further."""
        pieces = []
        for g in self._groups:
            x = features[..., g.start : g.stop]
            pieces.append(x if g.act < 0 else self.acts[g.act](x))
        return pieces

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Apply the activations.

        Parameters
        ----------
        features : torch.Tensor
            ``(..., irreps_in.dim)``.

        Returns
        -------
        torch.Tensor
            ``(..., irreps_out.dim)``.

        Examples
        --------
        >>> Activation("2x0e", [torch.relu])(torch.tensor([-1.0, 2.0])).round(decimals=4)
        tensor([0.0000, 2.8327])
        """
        if not isinstance(features, torch.Tensor):
            raise TypeError(f"expected features to be a torch.Tensor, got {type(features).__name__}")
        if features.dim() == 0 or features.shape[-1] != self.irreps_in.dim:
            raise ValueError(
                f"expected input with last dimension {self.irreps_in.dim} (irreps {self.irreps_in}), "
                f"got shape {tuple(features.shape)}"
            )
        pieces = self._pieces(features)
        if not pieces:
            return features.new_zeros(features.shape[:-1] + (0,))
        return torch.cat(pieces, dim=-1) if len(pieces) > 1 else pieces[0]
