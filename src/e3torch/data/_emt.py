"""The embedded default dataset: fcc metals and alloys labelled with ASE's EMT calculator.

Every structure is generated deterministically from :class:`EMTDatasetSpec` (fixed seeds), written once as
extxyz files in the user's cache directory and read back from there afterwards. The train / validation / test
split is fixed by the spec too (stratified per system).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from ase import Atoms

__all__ = ["EMTDatasetSpec", "generate_emt_structures", "load_emt_dataset", "default_cache_dir", "SPLITS"]

SPLITS = ("train", "validation", "test")
_VERSION = 1
_EMT_ELEMENTS = ("Al", "Ni", "Cu", "Pd", "Ag", "Pt", "Au")


@dataclasses.dataclass(frozen=True)
class EMTDatasetSpec:
    """Everything that determines the generated dataset (and so its cache key).

    Parameters
    ----------
    systems : tuple of str
        Compositions on an fcc lattice: an element (``"Cu"``) or a formula (``"Cu3Au"``, ``"AgPd"``) whose
        atoms are placed at random lattice sites with those proportions.
    supercell : int
        Repeats of the 4-atom conventional cubic cell along each axis (``4 * supercell**3`` sites).
    n_rattled : int
        Strained, rattled structures per system (a third with one vacancy, a sixth with two).
    md_temperatures : tuple of float
        Langevin MD temperatures in K; the second one runs with a vacancy.
    md_snapshots : int
        Snapshots kept per MD run.
    md_interval : int
        MD steps between kept snapshots.
    md_equilibration : int
        MD steps discarded before the first snapshot.
    timestep_fs : float
        MD time step in fs.
    seed : int
        Base random seed.
    fractions : tuple of float
        Train / validation / test fractions (per system).

    Examples
    --------
    >>> spec = EMTDatasetSpec(systems=("Cu",), n_rattled=2, md_temperatures=())
    >>> spec.structures_per_system, spec.key()[:4]
    (2, 'emt-')
    """

    systems: tuple[str, ...] = ("Al", "Ni", "Cu", "Pd", "Ag", "Pt", "Au", "Cu3Au", "AgPd", "Ni3Al", "PtNi")
    supercell: int = 2
    n_rattled: int = 40
    md_temperatures: tuple[float, ...] = (300.0, 600.0, 900.0)
    md_snapshots: int = 20
    md_interval: int = 10
    md_equilibration: int = 50
    timestep_fs: float = 2.0
    seed: int = 0
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)

    def __post_init__(self) -> None:
        for system in self.systems:
            _composition(system)
        if self.supercell < 1:
            raise ValueError(f"expected supercell >= 1, got {self.supercell}")
        if self.n_rattled < 0 or self.md_snapshots < 0 or self.md_interval < 1 or self.md_equilibration < 0:
            raise ValueError(
                "expected n_rattled >= 0, md_snapshots >= 0, md_interval >= 1, md_equilibration >= 0"
            )
        if (
            len(self.fractions) != 3
            or any(f < 0 for f in self.fractions)
            or abs(sum(self.fractions) - 1) > 1e-9
        ):
            raise ValueError(
                f"expected three non-negative split fractions summing to 1, got {self.fractions}"
            )

    @property
    def structures_per_system(self) -> int:
        """How many structures each system contributes."""
        return self.n_rattled + len(self.md_temperatures) * self.md_snapshots

    def key(self) -> str:
        """A short stable name for the cache folder (changes whenever the spec or the generator changes)."""
        payload = json.dumps({"version": _VERSION, **dataclasses.asdict(self)}, sort_keys=True)
        return "emt-" + hashlib.sha256(payload.encode()).hexdigest()[:12]


def _composition(system: str) -> dict[str, float]:
    parts = re.findall(r"([A-Z][a-z]?)(\d*)", system)
    if not parts or "".join(e + n for e, n in parts) != system:
        raise ValueError(f"cannot parse the system {system!r}: expected an element or a formula like 'Cu3Au'")
    counts: dict[str, float] = {}
    for element, n in parts:
        if element not in _EMT_ELEMENTS:
            raise ValueError(
                f"system {system!r}: EMT has no fcc parameters for {element!r}; use {_EMT_ELEMENTS}"
            )
        counts[element] = counts.get(element, 0.0) + float(n or 1)
    total = sum(counts.values())
    return {e: c / total for e, c in counts.items()}


def _lattice(system: str, supercell: int, rng: np.random.Generator) -> Atoms:
    """A random substitutional fcc supercell at the Vegard-law lattice constant of the reference metals."""
    from ase.build import bulk
    from ase.data import atomic_numbers, reference_states

    comp = _composition(system)
    a = sum(frac * reference_states[atomic_numbers[e]]["a"] for e, frac in comp.items())
    atoms = bulk("Cu", "fcc", a=a, cubic=True).repeat(supercell)
    n = len(atoms)
    counts = {e: int(round(frac * n)) for e, frac in comp.items()}
    first = next(iter(counts))
    counts[first] += n - sum(counts.values())
    symbols = [e for e, c in counts.items() for _ in range(c)]
    atoms.set_chemical_symbols([symbols[k] for k in rng.permutation(n)])
    return atoms


def _remove_random(atoms: Atoms, count: int, rng: np.random.Generator) -> Atoms:
    for _ in range(count):
        del atoms[int(rng.integers(len(atoms)))]
    return atoms


def _labelled(atoms: Atoms, kind: str) -> Atoms:
    from ase.calculators.singlepoint import SinglePointCalculator

    energy = atoms.get_potential_energy()
    forces = atoms.get_forces()
    stress = atoms.get_stress(voigt=True)
    out = atoms.copy()
    out.info["config_type"] = kind
    out.calc = SinglePointCalculator(out, energy=energy, forces=forces, stress=stress)
    return out


def _system_structures(spec: EMTDatasetSpec, index: int) -> list[Atoms]:
    from ase import units
    from ase.calculators.emt import EMT
    from ase.md.langevin import Langevin
    from ase.md import velocitydistribution as vd

    system = spec.systems[index]
    rng = np.random.default_rng([spec.seed, index, _VERSION])
    out: list[Atoms] = []
    for _ in range(spec.n_rattled):
        atoms = _lattice(system, spec.supercell, rng)
        eps = np.eye(3) * rng.uniform(-0.03, 0.03) + rng.normal(0.0, 0.01, (3, 3))
        eps = 0.5 * (eps + eps.T)
        atoms.set_cell(atoms.cell.array @ (np.eye(3) + eps), scale_atoms=True)
        u = rng.random()
        _remove_random(atoms, 2 if u < 1 / 6 else (1 if u < 1 / 2 else 0), rng)
        atoms.positions += rng.normal(0.0, rng.uniform(0.01, 0.12), atoms.positions.shape)
        atoms.calc = EMT()
        out.append(_labelled(atoms, f"{system}-rattled"))
    for k, temperature in enumerate(spec.md_temperatures):
        atoms = _lattice(system, spec.supercell, rng)
        if k == 1:
            _remove_random(atoms, 1, rng)
        atoms.calc = EMT()
        thermalize = getattr(vd, "thermalize_momenta", None) or vd.MaxwellBoltzmannDistribution
        thermalize(atoms, temperature_K=2 * temperature, rng=rng)
        vd.Stationary(atoms)
        dyn = Langevin(
            atoms,
            spec.timestep_fs * units.fs,
            temperature_K=temperature,
            friction=0.02 / units.fs,
            fixcm=False,
            rng=rng,
        )
        dyn.run(spec.md_equilibration)
        for _ in range(spec.md_snapshots):
            dyn.run(spec.md_interval)
            out.append(_labelled(atoms, f"{system}-md{temperature:g}K"))
    return out


def generate_emt_structures(spec: EMTDatasetSpec | None = None) -> dict[str, list[Atoms]]:
    """Generate the EMT dataset in memory and split it (no caching).

    Parameters
    ----------
    spec : EMTDatasetSpec, optional
        Defaults to ``EMTDatasetSpec()``.

    Returns
    -------
    dict
        ``{"train": [...], "validation": [...], "test": [...]}`` lists of labelled ``ase.Atoms``.

    Examples
    --------
    >>> spec = EMTDatasetSpec(systems=("Cu",), supercell=1, n_rattled=10, md_temperatures=())
    >>> {name: len(frames) for name, frames in generate_emt_structures(spec).items()}
    {'train': 8, 'validation': 1, 'test': 1}
    """
    spec = EMTDatasetSpec() if spec is None else spec
    splits: dict[str, list[Atoms]] = {name: [] for name in SPLITS}
    for index in range(len(spec.systems)):
        frames = _system_structures(spec, index)
        order = np.random.default_rng([spec.seed, index, 7919]).permutation(len(frames))
        n_train = int(round(spec.fractions[0] * len(frames)))
        n_val = int(round(spec.fractions[1] * len(frames)))
        bounds = {
            "train": (0, n_train),
            "validation": (n_train, n_train + n_val),
            "test": (n_train + n_val, None),
        }
        for name, (lo, hi) in bounds.items():
            splits[name].extend(frames[int(k)] for k in order[lo:hi])
    return splits


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/e3torch`` if set, else ``~/.cache/e3torch``.

    Examples
    --------
    >>> default_cache_dir().name
    'e3torch'
    """
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "e3torch"


def load_emt_dataset(
    cache_dir: str | os.PathLike[str] | None = None,
    spec: EMTDatasetSpec | None = None,
    *,
    regenerate: bool = False,
) -> dict[str, Path]:
    """Make sure the EMT dataset exists in the cache and return the paths of its split files.

    The first call generates the structures (about half a minute for the default spec) and writes
    ``<cache_dir>/<spec.key()>/{train,validation,test}.extxyz``; later calls only check the files exist.
    Files are written atomically, so concurrent processes (e.g. ``torchrun`` ranks) are safe.

    Parameters
    ----------
    cache_dir : path-like, optional
        Where to keep the files; default :func:`default_cache_dir`.
    spec : EMTDatasetSpec, optional
        Which dataset; default ``EMTDatasetSpec()``.
    regenerate : bool
        Rebuild even if the files exist.

    Returns
    -------
    dict
        ``{"train": Path, "validation": Path, "test": Path}``.

    Examples
    --------
    >>> import tempfile
    >>> spec = EMTDatasetSpec(systems=("Cu",), supercell=1, n_rattled=10, md_temperatures=())
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     paths = load_emt_dataset(tmp, spec)
    ...     sorted(paths), paths["train"].suffix
    (['test', 'train', 'validation'], '.extxyz')
    """
    import ase.io

    spec = EMTDatasetSpec() if spec is None else spec
    folder = Path(default_cache_dir() if cache_dir is None else cache_dir) / spec.key()
    paths = {name: folder / f"{name}.extxyz" for name in SPLITS}
    if not regenerate and all(p.exists() for p in paths.values()):
        return paths
    folder.mkdir(parents=True, exist_ok=True)
    splits = generate_emt_structures(spec)
    for name, frames in splits.items():
        tmp = folder / f".{name}.{os.getpid()}.tmp"
        ase.io.write(tmp, frames, format="extxyz")
        os.replace(tmp, paths[name])
    (folder / "spec.json").write_text(json.dumps(dataclasses.asdict(spec), indent=2) + "\n")
    return paths
