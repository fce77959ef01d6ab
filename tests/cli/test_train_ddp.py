"""``train`` under torchrun: two gloo processes on this machine end with identical parameters."""

import os
import subprocess
import sys
import textwrap

import pytest
import torch

from e3torch.data import EMTDatasetSpec, load_emt_dataset

SCRIPT = textwrap.dedent(
    """
    import os, sys, torch
    from e3torch.cli._config import TrainConfig
    from e3torch.cli._training import train, build_potential

    paths, out = sys.argv[1:4], sys.argv[4]
    cfg = TrainConfig(dataset=paths[0], validation_dataset=paths[1], test_dataset=paths[2], cutoff=4.0,
                      epochs=2, batch_size=4, num_features=4, lmax=1, num_layers=1, radial_neurons=8,
                      output_dir=out, plots=False, progress=False, ema_decay=0.0)
    rank = int(os.environ["RANK"])

    def dump(epoch, row):
        import torch.distributed as dist
        assert dist.is_initialized() and dist.get_world_size() == 2
        model = [m for m in __import__("gc").get_objects() if isinstance(m,
        torch.nn.parallel.DistributedDataParallel)]
        params = {k: v.detach().clone() for k, v in model[0].module.state_dict().items()}
        torch.save({"epoch": epoch, "params": params, "row": row}, f"{out}/rank{rank}.pt")

    train(cfg, epoch_callback=dump)
    """
)


@pytest.mark.slow
def test_two_process_gloo_identical_parameters(tmp_path):
    spec = EMTDatasetSpec(systems=("Cu",), supercell=1, n_rattled=12, md_temperatures=(), seed=5)
    paths = load_emt_dataset(tmp_path / "cache", spec)
    script = tmp_path / "ddp_train.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node",
        "2",
        str(script),
        *(str(paths[k]) for k in ("train", "validation", "test")),
        str(tmp_path / "out"),
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r0 = torch.load(tmp_path / "out/rank0.pt", weights_only=False)
    r1 = torch.load(tmp_path / "out/rank1.pt", weights_only=False)
    assert r0["epoch"] == r1["epoch"] == 2
    assert r0["params"].keys() == r1["params"].keys()
    for key in r0["params"]:
        assert torch.equal(r0["params"][key], r1["params"][key]), key
    assert r0["row"]["val_forces_mae"] == r1["row"]["val_forces_mae"]
    # training moved the parameters away from the initial ones (2 epochs of 2 steps)
    saved = torch.load(tmp_path / "out/checkpoints/last.pt", weights_only=False)
    assert saved["epoch"] == 2
    assert (tmp_path / "out/model.pt").exists()
