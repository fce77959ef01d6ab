"""MACE (mace-torch) energy+forces and training steps, on the real e3nn and on e3torch, in one process.

MACE imports ``e3nn`` when its modules are imported, so a model built from one copy of ``mace`` is bound to one
e3nn for good. :func:`mace_twins` therefore imports mace twice in this process: first against the real e3nn, then,
with those modules moved out of ``sys.modules``, under e3torch's import hook (``e3nn`` -> ``e3torch.compat``), and
keeps the two sets of module objects apart (the hook is removed and the real e3nn put back afterwards). mace does
not import e3nn lazily inside functions, so each copy stays bound to its own e3nn. Both models are built from the
same seed, the e3torch one gets the e3nn one's state dict, and both are checked to give the same energies before
timing; the two are then timed interleaved by :mod:`benchmarks.harness`.

Cases (``python -m benchmarks.run -k mace``), in float32 as the harness runs:

- ``mace/small``: the client-test model (16x0e+16x1o, max_ell 2, correlation 3, 2 interactions) on 18 atoms;
- ``mace/medium``: 64x0e+64x1o, max_ell 3, correlation 3, on a periodic box of 64 water molecules (192 atoms,
  r_max 5, about 54 neighbours per atom: 10418 edges);

each as an energy+forces evaluation (``compute_force=True``, as MACE does for MD) and as a training step (forward
with forces, a loss on energy and forces, its backward: a double backward through the model); and each again with
the e3torch model's symmetric contractions fused by :func:`e3torch.integrations.mace.accelerate` (``, fused``), the
one opt-in line that takes mace's own einsums off the critical path. When mace-torch is
not installed the module has no cases and says so.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import sys
import types
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from benchmarks.harness import Case, Workload

__all__ = ["CASES", "build_batch", "build_model", "mace_twins"]

_PREFIXES = ("mace", "e3nn")
_MACE_MODULES = ("mace.modules", "mace.data", "mace.tools", "mace.tools.torch_geometric")


def _take(prefixes: tuple[str, ...]) -> dict[str, types.ModuleType]:
    """Remove and return every ``sys.modules`` entry under one of ``prefixes``."""
    out = {}
    for key in list(sys.modules):
        if any(key == p or key.startswith(p + ".") for p in prefixes):
            out[key] = sys.modules.pop(key)
    return out


@functools.lru_cache(maxsize=1)
def mace_twins() -> tuple[dict[str, types.ModuleType], dict[str, types.ModuleType]]:
    """Two copies of mace's modules: ``(on_e3nn, on_e3torch)``, each a ``{module name: module}`` dict.

    The real e3nn (and its mace) stays in ``sys.modules`` afterwards; the e3torch copy lives only in the returned
    dict (its ``e3nn.*`` entries are the ``e3torch.compat`` modules).

    Raises
    ------
    RuntimeError
        When e3nn was already imported under e3torch's hook in this process (the twins need the real one first).
    """
    from e3torch.compat import _hook

    if _hook.is_installed():
        raise RuntimeError("expected the real e3nn in this process, got e3torch's import hook installed")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import e3nn  # noqa: F401  (the real one)

        for name in _MACE_MODULES:
            importlib.import_module(name)
        real = _take(_PREFIXES)
        try:
            _hook.install()
            for name in _MACE_MODULES:
                importlib.import_module(name)
            ours = _take(_PREFIXES)
        finally:
            _hook.uninstall()
            _take(_PREFIXES)
            sys.modules.update(real)
    if not ours["e3nn"].__name__.startswith("e3torch"):
        raise RuntimeError(
            f"expected mace's second copy on e3torch.compat, got e3nn = {ours['e3nn'].__name__}"
        )
    return real, ours


def build_model(
    mods: dict[str, types.ModuleType],
    channels: int,
    max_ell: int,
    r_max: float,
    avg_num_neighbors: float,
    seed: int = 0,
) -> torch.nn.Module:
    """A two-interaction MACE on H and O with correlation 3, from one copy of mace's modules (``mace_twins``)."""
    modules, o3 = mods["mace.modules"], mods["e3nn"].o3
    torch.manual_seed(seed)
    block = modules.interaction_classes["RealAgnosticResidualInteractionBlock"]
    return modules.MACE(
        r_max=r_max,
        num_bessel=8,
        num_polynomial_cutoff=5,
        max_ell=max_ell,
        interaction_cls=block,
        interaction_cls_first=block,
        num_interactions=2,
        num_elements=2,
        hidden_irreps=o3.Irreps(f"{channels}x0e + {channels}x1o"),
        MLP_irreps=o3.Irreps("16x0e"),
        gate=torch.nn.functional.silu,
        atomic_energies=np.array([-1.5, -4.0]),
        avg_num_neighbors=avg_num_neighbors,
        atomic_numbers=[1, 8],
        correlation=3,
        radial_type="bessel",
    )


def _water(centre: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One H2O (O first), randomly oriented, at ``centre``."""
    local = np.array([[0.0, 0.0, 0.0], [0.96, 0.0, 0.0], [-0.24, 0.93, 0.0]])
    q, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    return centre + local @ q.T


def build_batch(mods: dict[str, types.ModuleType], kind: str, r_max: float, seed: int = 0) -> dict[str, Any]:
    """MACE's batch dict: ``"clusters"`` (2 x 3 water molecules) or ``"box"`` (periodic, 4^3 water molecules)."""
    import ase

    data, tools, tg = mods["mace.data"], mods["mace.tools"], mods["mace.tools.torch_geometric"]
    rng = np.random.default_rng(seed)
    z_table = tools.AtomicNumberTable([1, 8])
    structures = []
    if kind == "clusters":
        for _ in range(2):
            pos = np.concatenate([_water(np.array([2.6 * k, 0.3 * k, 0.0]), rng) for k in range(3)])
            structures.append(ase.Atoms("OH2" * 3, positions=pos))
    elif kind == "box":
        n, side = 4, 3.1  # 64 molecules in a 12.4 A box: about 1 g/cm^3
        centres = side * (np.stack(np.meshgrid(*[np.arange(n)] * 3, indexing="ij"), -1).reshape(-1, 3) + 0.5)
        pos = np.concatenate([_water(c + 0.2 * rng.standard_normal(3), rng) for c in centres])
        structures.append(ase.Atoms("OH2" * n**3, positions=pos, cell=[n * side] * 3, pbc=True))
    else:
        raise ValueError(f"expected kind 'clusters' or 'box', got {kind!r}")
    items = [
        data.AtomicData.from_config(data.config_from_atoms(a), z_table=z_table, cutoff=r_max)
        for a in structures
    ]
    loader = tg.dataloader.DataLoader(items, batch_size=len(items), shuffle=False)
    return next(iter(loader)).to_dict()


def _cast(batch: dict[str, Any], dtype: torch.dtype) -> dict[str, Any]:
    return {k: v.to(dtype) if torch.is_tensor(v) and v.is_floating_point() else v for k, v in batch.items()}


def _evaluate(model: torch.nn.Module, batch: dict[str, Any]) -> Callable[[], Any]:
    def run() -> Any:
        out = model(dict(batch), training=False, compute_force=True)
        return out["energy"].detach(), out["forces"].detach()

    return run


def _train_step(model: torch.nn.Module, batch: dict[str, Any]) -> Callable[[], Any]:
    """Forward with forces, energy+force loss, backward (no optimizer step: both models stay identical)."""

    def run() -> None:
        model.zero_grad(set_to_none=True)
        out = model(dict(batch), training=True, compute_force=True)
        (out["energy"].pow(2).mean() + out["forces"].pow(2).mean()).backward()

    return run


def make_pair(
    size: str, dtype: torch.dtype | None = None
) -> tuple[torch.nn.Module, torch.nn.Module, dict[str, Any]]:
    """``(e3nn model, e3torch model, batch)`` for ``size`` ``"small"`` or ``"medium"``, checked to agree."""
    real, ours = mace_twins()
    dtype = dtype or torch.get_default_dtype()
    channels, max_ell, r_max, kind, neighbours = {
        "small": (16, 2, 4.0, "clusters", 6.0),
        "medium": (64, 3, 5.0, "box", 40.0),
    }[size]
    theirs = build_model(real, channels, max_ell, r_max, neighbours).to(dtype)
    mine = build_model(ours, channels, max_ell, r_max, neighbours).to(dtype)
    mine.load_state_dict(theirs.state_dict(), strict=True)
    batch = _cast(build_batch(real, kind, r_max), dtype)
    e_theirs, f_theirs = _evaluate(theirs, batch)()
    e_mine, f_mine = _evaluate(mine, batch)()
    tol = 1e-3 if dtype == torch.float32 else 1e-8
    scale = float(f_theirs.abs().max()) + 1.0
    error = max(float((e_theirs - e_mine).abs().max()), float((f_theirs - f_mine).abs().max()))
    if not error <= tol * scale:
        raise RuntimeError(
            f"expected e3torch's MACE to match e3nn's within {tol * scale:.1e}, got {error:.1e}"
        )
    return theirs, mine, batch


def _case(size: str, step: str, fused: bool = False) -> Callable[[], Workload]:
    def setup() -> Workload:
        theirs, mine, batch = make_pair(size)
        if fused:
            from e3torch.integrations.mace import accelerate

            accelerate(mine)
        fn = _evaluate if step == "forces" else _train_step
        return Workload(fn(mine, batch), fn(theirs, batch))

    return setup


if importlib.util.find_spec("mace") is None or importlib.util.find_spec("ase") is None:
    print("# bench_mace: mace-torch (and ase) not importable, MACE cases skipped", file=sys.stderr)
    CASES: list[Case] = []
else:
    CASES = []
    for _fused, _tag in ((False, ""), (True, ", fused")):
        CASES += [
            Case(f"mace/small energy+forces (18 atoms{_tag})", _case("small", "forces", _fused), repeat=30),
            Case(f"mace/small training step (18 atoms{_tag})", _case("small", "train", _fused), repeat=20),
            Case(
                f"mace/medium energy+forces (192 atoms, 64ch, L=3{_tag})",
                _case("medium", "forces", _fused),
                repeat=5,
                warmup=1,
            ),
            Case(
                f"mace/medium training step (192 atoms, 64ch, L=3{_tag})",
                _case("medium", "train", _fused),
                repeat=3,
                warmup=1,
            ),
        ]
