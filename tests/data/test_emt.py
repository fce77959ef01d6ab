import numpy as np
import pytest

from e3torch.data import EMTDatasetSpec, generate_emt_structures, load_emt_dataset, read_extxyz

TINY = EMTDatasetSpec(
    systems=("Cu", "Cu3Au"),
    supercell=1,
    n_rattled=6,
    md_temperatures=(300.0, 600.0),
    md_snapshots=2,
    md_interval=2,
    md_equilibration=2,
)


def test_deterministic_and_split():
    a = generate_emt_structures(TINY)
    b = generate_emt_structures(TINY)
    assert {k: len(v) for k, v in a.items()} == {"train": 16, "validation": 2, "test": 2}
    for name in a:
        for x, y in zip(a[name], b[name]):
            np.testing.assert_array_equal(x.positions, y.positions)
            assert x.get_potential_energy() == y.get_potential_energy()
    symbols = {s for frames in a.values() for f in frames for s in f.get_chemical_symbols()}
    assert symbols == {"Cu", "Au"}
    assert any(len(f) < 4 for frames in a.values() for f in frames)  # vacancies


def test_cache_written_once_and_readable(tmp_path):
    paths = load_emt_dataset(tmp_path, TINY)
    assert paths["train"].parent.name == TINY.key()
    mtime = paths["train"].stat().st_mtime_ns
    assert load_emt_dataset(tmp_path, TINY)["train"].stat().st_mtime_ns == mtime
    ds = read_extxyz(paths["train"], cutoff=4.0)
    assert ds.labels() == (True, True, True)
    ref = generate_emt_structures(TINY)["train"]
    np.testing.assert_allclose(ds[0].forces.numpy(), ref[0].get_forces(), atol=1e-6)
    assert abs(ds[0].energy.item() - ref[0].get_potential_energy()) < 1e-6


def test_spec_validation():
    with pytest.raises(ValueError, match="EMT has no fcc parameters for 'Fe'"):
        EMTDatasetSpec(systems=("Fe",))
    with pytest.raises(ValueError, match="cannot parse the system 'cu'"):
        EMTDatasetSpec(systems=("cu",))
    with pytest.raises(ValueError, match="split fractions"):
        EMTDatasetSpec(fractions=(0.5, 0.5, 0.5))
    assert EMTDatasetSpec().key() != TINY.key()


def test_missing_file(tmp_path):
    with pytest.raises(ValueError, match="dataset file not found"):
        read_extxyz(tmp_path / "nope.xyz", cutoff=3.0)
