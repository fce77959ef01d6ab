"""Identity between two equal (after simplification) representations: :class:`Identity`."""

from __future__ import annotations

import torch

from e3torch.o3._irreps import Irreps

__all__ = ["Identity"]


class Identity(torch.nn.Module):
    r"""Identity operation; checks that ``irreps_in`` and ``irreps_out`` agree once simplified.

    Parameters
    ----------
    irreps_in : Irreps or str
        Input representation.
    irreps_out : Irreps or str
        Output representation (equal to ``irreps_in`` after simplification).

    Examples
    --------
    >>> idt = Identity("1x0e + 1x0e + 1o", "2x0e + 1o")
    >>> idt
    Identity(2x0e+1x1o -> 2x0e+1x1o)
    >>> x = torch.randn(3, 5)
    >>> idt(x) is x
    True
    """

    def __init__(self, irreps_in: Irreps | str, irreps_out: Irreps | str) -> None:
        super().__init__()
        self.irreps_in = Irreps(irreps_in).simplify()
        self.irreps_out = Irreps(irreps_out).simplify()
        if self.irreps_in != self.irreps_out:
            raise ValueError(
                f"expected equal irreps_in and irreps_out once simplified, "
                f"got {self.irreps_in} and {self.irreps_out}"
            )
        # e3nn's Identity carries an all-ones output mask; kept so state_dicts load both ways
        self.register_buffer("output_mask", torch.ones(self.irreps_out.dim))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.irreps_in} -> {self.irreps_out})"

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Return ``features`` unchanged (the same tensor).

        Examples
        --------
        >>> Identity("0e", "0e")(torch.ones(2, 1)).shape
        torch.Size([2, 1])
        """
        return features
