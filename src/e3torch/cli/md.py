"""``e3torch md MODEL``: NVE molecular dynamics with a trained model; reports total-energy drift.

Starts from an fcc supercell of ``--element`` (default: copper if the model knows it, else its first species)
or from the first frame of ``--structure``; draws Maxwell-Boltzmann velocities at ``--temperature`` and runs
velocity Verlet for ``--time-ps`` with the model as ASE calculator (float64 by default).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from typing import Any

import numpy as np

__all__ = ["register", "run", "run_nve", "NVEResult"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``md`` subcommand to an argparse subparser collection.

    Examples
    --------
    >>> parser = argparse.ArgumentParser()
    >>> register(parser.add_subparsers(dest="command"))
    >>> args = parser.parse_args(["md", "model.pt", "--time-ps", "0.1"])
    >>> args.time_ps, args.timestep, args.temperature
    (0.1, 1.0, 300.0)
    """
    parser = subparsers.add_parser(
        "md",
        help="NVE molecular dynamics with a trained model; reports energy drift",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("model", help="model file written by e3torch train (e.g. runs/emt/model.pt)")
    parser.add_argument("--structure", default=None, help="start from the first frame of this file (ase.io)")
    parser.add_argument("--element", default=None, help="fcc element for the default start structure")
    parser.add_argument("--supercell", type=int, default=3, help="repeats of the cubic fcc cell (default 3)")
    parser.add_argument(
        "--temperature", type=float, default=300.0, help="initial temperature in K (default 300)"
    )
    parser.add_argument("--timestep", type=float, default=1.0, help="time step in fs (default 1)")
    parser.add_argument("--time-ps", type=float, default=1.0, help="simulated time in ps (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the initial velocities (default 0)")
    parser.add_argument("--dtype", default="float64", choices=["float32", "float64"], help="default float64")
    parser.add_argument("--device", default="cpu", help="torch device (default cpu)")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads (default 1: fastest for small systems and on a busy machine)",
    )
    parser.add_argument("--log-every", type=int, default=100, help="print every N steps (default 100)")
    parser.add_argument(
        "--trajectory", default=None, help="write an ASE trajectory (.traj) every --log-every"
    )
    parser.add_argument(
        "--max-drift",
        type=float,
        default=None,
        help="exit with status 1 if max |E_tot(t) - E_tot(0)| exceeds this (meV/atom)",
    )
    parser.set_defaults(func=run)


@dataclasses.dataclass(frozen=True)
class NVEResult:
    """Energies along an NVE run (eV) and the drift summary (meV/atom).

    Attributes
    ----------
    time_ps, potential, kinetic : numpy arrays ``(steps + 1,)``
    num_atoms : int
    max_drift_mev_per_atom : float
        ``max_t |E_tot(t) - E_tot(0)| / N``.
    drift_rate_mev_per_atom_per_ps : float
        Slope of a linear fit of ``E_tot(t) / N``.
    seconds : float
        Wall time of the integration.
    """

    time_ps: np.ndarray
    potential: np.ndarray
    kinetic: np.ndarray
    num_atoms: int
    max_drift_mev_per_atom: float
    drift_rate_mev_per_atom_per_ps: float
    seconds: float


def run_nve(
    atoms: Any,
    calculator: Any,
    *,
    steps: int,
    timestep_fs: float = 1.0,
    temperature_K: float = 300.0,
    seed: int = 0,
    log_every: int = 0,
    trajectory: str | None = None,
    stream: Any = None,
) -> NVEResult:
    """Velocity-Verlet NVE dynamics of ``atoms`` with ``calculator``; returns energies and drift.

    Parameters
    ----------
    atoms : ase.Atoms
        Start structure (modified in place).
    calculator : ase Calculator
    steps : int
        Number of time steps (>= 1).
    timestep_fs, temperature_K, seed
        Time step, initial Maxwell-Boltzmann temperature (0: keep the velocities atoms have), velocity seed.
    log_every : int
        Print a line every this many steps to ``stream`` (0: silent).
    trajectory : str, optional
        ASE trajectory file written every ``log_every`` steps (every step if ``log_every`` is 0).
    stream : file, optional
        Where log lines go (default stdout).

    Examples
    --------
    >>> from ase.build import bulk
    >>> from ase.calculators.emt import EMT
    >>> atoms = bulk("Cu", "fcc", a=3.6, cubic=True).repeat(2)
    >>> result = run_nve(atoms, EMT(), steps=20, temperature_K=300.0)
    >>> result.potential.shape, result.max_drift_mev_per_atom < 1.0
    ((21,), True)
    """
    from ase import units
    from ase.md import velocitydistribution as vd
    from ase.md.verlet import VelocityVerlet

    if steps < 1:
        raise ValueError(f"expected at least 1 MD step, got {steps}")
    if not timestep_fs > 0:
        raise ValueError(f"expected a positive time step, got {timestep_fs} fs")
    out = stream if stream is not None else sys.stdout
    atoms.calc = calculator
    if temperature_K > 0:
        thermalize = getattr(vd, "thermalize_momenta", None) or vd.MaxwellBoltzmannDistribution
        thermalize(atoms, temperature_K=temperature_K, rng=np.random.default_rng(seed))
        vd.Stationary(atoms)
    n = len(atoms)
    epot, ekin = [atoms.get_potential_energy()], [atoms.get_kinetic_energy()]
    dyn = VelocityVerlet(atoms, timestep=timestep_fs * units.fs)
    if trajectory:
        from ase.io.trajectory import Trajectory

        traj = Trajectory(trajectory, "w", atoms)
        dyn.attach(traj.write, interval=max(1, log_every))
    if log_every:
        print(
            f"{'time/ps':>9} {'Epot/N (eV)':>13} {'Ekin/N (eV)':>13} {'Etot/N (eV)':>13} {'T (K)':>8}",
            file=out,
        )
    start = time.perf_counter()
    for step in range(1, steps + 1):
        dyn.run(1)
        epot.append(atoms.get_potential_energy())
        ekin.append(atoms.get_kinetic_energy())
        if log_every and (step % log_every == 0 or step == steps):
            temp = ekin[-1] / (1.5 * units.kB * n)
            t = step * timestep_fs / 1000.0
            print(
                f"{t:9.3f} {epot[-1] / n:13.6f} {ekin[-1] / n:13.6f} {(epot[-1] + ekin[-1]) / n:13.6f} "
                f"{temp:8.1f}",
                file=out,
                flush=True,
            )
    seconds = time.perf_counter() - start
    times = np.arange(steps + 1) * timestep_fs / 1000.0
    etot = (np.array(epot) + np.array(ekin)) / n
    slope = float(np.polyfit(times, etot, 1)[0]) if steps > 1 else 0.0
    return NVEResult(
        time_ps=times,
        potential=np.array(epot),
        kinetic=np.array(ekin),
        num_atoms=n,
        max_drift_mev_per_atom=float(np.abs(etot - etot[0]).max() * 1000.0),
        drift_rate_mev_per_atom_per_ps=slope * 1000.0,
        seconds=seconds,
    )


def _start_structure(args: argparse.Namespace, species: tuple[int, ...]) -> Any:
    from ase.build import bulk
    from ase.data import atomic_numbers, chemical_symbols, reference_states

    if args.structure is not None:
        import ase.io

        try:
            return ase.io.read(args.structure, index=0)
        except FileNotFoundError:
            raise ValueError(f"structure file not found: {args.structure!r}") from None
    element = args.element or ("Cu" if 29 in species else chemical_symbols[species[0]])
    if element not in atomic_numbers:
        raise ValueError(f"unknown element {element!r}")
    ref = reference_states[atomic_numbers[element]] or {}
    if ref.get("symmetry") != "fcc":
        raise ValueError(f"--element {element}: no fcc reference lattice; give --structure instead")
    if args.supercell < 1:
        raise ValueError(f"expected --supercell >= 1, got {args.supercell}")
    return bulk(element, "fcc", a=ref["a"], cubic=True).repeat(args.supercell)


def run(args: argparse.Namespace) -> int:
    """Execute ``e3torch md``; returns 0, 1 if ``--max-drift`` was exceeded, 2 for bad input."""
    import torch

    from e3torch.models._calculator import E3TorchCalculator

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    try:
        calc = E3TorchCalculator(
            args.model,
            device=args.device,
            dtype={"float32": torch.float32, "float64": torch.float64}[args.dtype],
        )
        atoms = _start_structure(args, calc.model.species)
        steps = int(round(args.time_ps * 1000.0 / args.timestep))
        print(
            f"NVE: {len(atoms)} atoms ({atoms.get_chemical_formula()}), {steps} steps of {args.timestep} fs, "
            f"T0 = {args.temperature} K, {args.dtype}"
        )
        result = run_nve(
            atoms,
            calc,
            steps=steps,
            timestep_fs=args.timestep,
            temperature_K=args.temperature,
            seed=args.seed,
            log_every=args.log_every,
            trajectory=args.trajectory,
        )
    except ValueError as err:
        print(f"e3torch md: error: {err}", file=sys.stderr)
        return 2
    print(
        f"energy drift over {result.time_ps[-1]:.3f} ps: max |E_tot(t) - E_tot(0)| = "
        f"{result.max_drift_mev_per_atom:.4f} meV/atom, "
        f"linear drift {result.drift_rate_mev_per_atom_per_ps:.4f} "
        f"meV/atom/ps ({result.seconds:.1f} s, {len(result.time_ps) - 1} steps)"
    )
    if args.max_drift is not None and result.max_drift_mev_per_atom > args.max_drift:
        print(f"e3torch md: drift exceeds --max-drift {args.max_drift} meV/atom", file=sys.stderr)
        return 1
    return 0
