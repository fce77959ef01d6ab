"""The ``e3torch`` command line: ``e3torch <subcommand> [options]``."""

from __future__ import annotations

import argparse
import sys

from e3torch.cli import demo, evaluate, md, train

__all__ = ["build_parser", "main"]

_SUBCOMMANDS = [train, evaluate, md, demo]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand registered.

    Examples
    --------
    >>> parser = build_parser()
    >>> parser.parse_args(["demo", "--points", "3"]).points
    3
    """
    parser = argparse.ArgumentParser(prog="e3torch", description="E(3)-equivariant neural networks for PyTorch")
    subparsers = parser.add_subparsers(dest="command", metavar="<command>")
    subparsers.required = True
    for module in _SUBCOMMANDS:
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the process exit status."""
    args = build_parser().parse_args(argv)
    result = args.func(args)
    return result if isinstance(result, int) and not isinstance(result, bool) else 0


if __name__ == "__main__":
    sys.exit(main())
