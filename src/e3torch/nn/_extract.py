"""Select terms of a direct sum: :class:`Extract` (several outputs) and :class:`ExtractIr` (all copies of one
irrep).

The input is split once at the boundaries that the outputs need; each output is a concatenation of consecutive
runs of terms (a view of the input when it is a single run: no copy).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from e3torch.o3._irreps import Irrep, Irreps

__all__ = ["Extract", "ExtractIr"]


class Extract(torch.nn.Module):
    r"""Extract sub-sets of the terms of ``irreps_in``.

    Parameters
    ----------
    irreps_in : Irreps or str
        Representation of the input.
    irreps_outs : list of Irreps or str
        Representation of each output: term ``j`` of output ``k`` is term ``instructions[k][j]`` of
        ``irreps_in``.
    instructions : list of tuple of int
        For each output, the indices of the terms of ``irreps_in`` it takes, in order.
    squeeze_out : bool
        With a single output, return the tensor instead of a 1-tuple.

    Examples
    --------
    >>> c = Extract("1e + 0e + 0e", ["0e", "0e"], [(1,), (2,)])
    >>> c(torch.tensor([0.0, 1.0, 2.0, 3.0, 4.0]))
    (tensor([3.]), tensor([4.]))
    >>> Extract("1e + 0e", ["0e + 1e"], [(1, 0)], squeeze_out=True)(torch.arange(4.0))
    tensor([3., 0., 1., 2.])
    """

    def __init__(
        self,
        irreps_in: Irreps | str,
        irreps_outs: Sequence[Irreps | str],
        instructions: Sequence[Sequence[int]],
        squeeze_out: bool = False,
    ) -> None:
        super().__init__()
        self.irreps_in = Irreps(irreps_in)
        if isinstance(irreps_outs, (str, Irreps)):
            raise TypeError(f"expected irreps_outs to be a list of irreps, got {type(irreps_outs).__name__}")
        self.irreps_outs = tuple(Irreps(irreps) for irreps in irreps_outs)
        self.instructions = [tuple(ins) for ins in instructions]
        self.squeeze_out = squeeze_out
        if len(self.irreps_outs) != len(self.instructions):
            raise ValueError(
                f"expected one instruction per output ({len(self.irreps_outs)}), got {len(self.instructions)}"
            )
        starts = [s.start for s in self.irreps_in.slices()] + [self.irreps_in.dim]
        runs: list[list[tuple[int, int]]] = []
        for k, (irreps_out, ins) in enumerate(zip(self.irreps_outs, self.instructions)):
            if len(ins) != len(irreps_out):
                raise ValueError(
                    f"expected output {k} ({irreps_out}) to have one term per index of {ins}, "
                    f"got {len(irreps_out)}"
                )
            run: list[tuple[int, int]] = []
            for i, term in zip(ins, irreps_out):
                if type(i) is not int or not 0 <= i < len(self.irreps_in):
                    raise ValueError(
                        f"expected indices in [0, {len(self.irreps_in)}) for {self.irreps_in}, got {i!r}"
                    )
                if tuple(term) != tuple(self.irreps_in[i]):
                    raise ValueError(
                        f"expected term {i} of {self.irreps_in} ({self.irreps_in[i]}) in output {k}, "
                        f"got {term}"
                    )
                a, b = starts[i], starts[i + 1]
                if a == b:
                    continue
                run[-1:] = [(run[-1][0], b)] if run and run[-1][1] == a else run[-1:] + [(a, b)]
            runs.append(run)
        cuts = sorted({0, self.irreps_in.dim} | {c for run in runs for a, b in run for c in (a, b)})
        self._sizes = tuple(b - a for a, b in zip(cuts, cuts[1:]))
        position = {c: k for k, c in enumerate(cuts)}
        self._outputs = tuple(
            tuple(s for a, b in run for s in range(position[a], position[b])) for run in runs
        )
        self._dims = tuple(irreps.dim for irreps in self.irreps_outs)

    def __repr__(self) -> str:
        outs = ", ".join(str(irreps) for irreps in self.irreps_outs)
        return f"{type(self).__name__}({self.irreps_in} -> ({outs}))"

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        """Extract.

        Parameters
        ----------
        x : torch.Tensor
            ``(..., irreps_in.dim)``.

        Returns
        -------
        tuple of torch.Tensor, or torch.Tensor
            ``(..., irreps_outs[k].dim)`` for each output (just the tensor if ``squeeze_out`` with one
            output).

        Examples
        --------
        >>> Extract("2x0e + 1o", ["1o"], [(1,)])(torch.ones(3, 5))[0].shape
        torch.Size([3, 3])
        """
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"expected x to be a torch.Tensor, got {type(x).__name__}")
        if x.dim() == 0 or x.shape[-1] != self.irreps_in.dim:
            raise ValueError(
                f"expected input with last dimension {self.irreps_in.dim} (irreps {self.irreps_in}), "
                f"got shape {tuple(x.shape)}"
            )
        pieces = torch.split(x, self._sizes, dim=-1) if len(self._sizes) > 1 else (x,)
        outs = []
        for segs in self._outputs:
            if not segs:
                outs.append(x.new_zeros(x.shape[:-1] + (0,)))
            else:
                outs.append(
                    torch.cat([pieces[s] for s in segs], dim=-1) if len(segs) > 1 else pieces[segs[0]]
                )
        if self.squeeze_out and len(outs) == 1:
            return outs[0]
        return tuple(outs)


class ExtractIr(Extract):
    r"""Extract all the terms of ``irreps_in`` equal to one irrep ``ir``, as one tensor.

    Parameters
    ----------
    irreps_in : Irreps or str
        Representation of the input.
    ir : Irrep or str
        The irrep to extract.

    Examples
    --------
    >>> c = ExtractIr("1e + 0e + 0e + 2x1e", "1e")
    >>> c.irreps_out, c(torch.arange(11.0))
    (1x1e+2x1e, tensor([ 0.,  1.,  2.,  5.,  6.,  7.,  8.,  9., 10.]))
    """

    def __init__(self, irreps_in: Irreps | str, ir: Irrep | str) -> None:
        irreps_in = Irreps(irreps_in)
        ir = Irrep(ir)
        ins = tuple(i for i, (_, term) in enumerate(irreps_in) if term == ir)
        super().__init__(irreps_in, [Irreps([irreps_in[i] for i in ins])], [ins], squeeze_out=True)
        self.irreps_out = self.irreps_outs[0]
