"""The e3nn 0.4.x Wigner 3j sign convention: ``wigner_3j_sign``, ``wigner_3j(convention=...)`` and the
``wigner_3j_convention`` option of the tensor products.

e3nn 0.4.4 is not installed in CI; ``tests/compat/data/e3nn044/wigner_3j_signs.json`` holds its signs (relative to
e3torch's) for every triplet with ``l <= 6``, written by ``tests/compat/_make_e3nn044_signs.py`` from e3nn 0.4.4.
Where e3nn 0.4.4 is at hand (``E3NN044_PATH``, default ``/tmp/e3nn044``), tensor products are also compared with it
directly, in a subprocess.
"""

from __future__ import annotations

import copy
import io
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from e3torch import o3
from e3torch.o3._wigner_3j import WIGNER_3J_CONVENTIONS, wigner_3j_sign

TABLE = json.loads(
    (Path(__file__).parents[1] / "compat" / "data" / "e3nn044" / "wigner_3j_signs.json").read_text()
)
FLIPPED = [(1, 2, 2), (2, 1, 2), (2, 2, 1), (1, 3, 3), (3, 3, 1)]
UNFLIPPED = [(1, 1, 1), (1, 1, 2), (1, 2, 1), (2, 2, 2), (0, 2, 2)]
E3NN044 = Path(os.environ.get("E3NN044_PATH", "/tmp/e3nn044"))


@pytest.fixture(autouse=True)
def _float64() -> object:
    """Build the modules in float64, so their constants are not rounded to float32 first."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def _triplet(key: str) -> tuple[int, int, int]:
    l1, l2, l3 = (int(x) for x in key.split(","))
    return l1, l2, l3


def test_table_is_complete() -> None:
    assert TABLE["e3nn"] == "0.4.4" and TABLE["max_abs_deviation"] < 1e-12
    lmax = TABLE["lmax"]
    expected = {
        f"{a},{b},{c}"
        for a in range(lmax + 1)
        for b in range(lmax + 1)
        for c in range(abs(a - b), min(a + b, lmax) + 1)
    }
    assert set(TABLE["signs"]) == expected
    assert {k for k in ("1,2,2", "2,1,2", "2,2,1") if TABLE["signs"][k] == -1} == {"1,2,2", "2,1,2", "2,2,1"}


def test_sign_matches_e3nn044_table() -> None:
    got = {key: wigner_3j_sign(*_triplet(key)) for key in TABLE["signs"]}
    wrong = {key: (got[key], s) for key, s in TABLE["signs"].items() if got[key] != s}
    assert not wrong, f"(ours, e3nn 0.4.4) differ for {wrong}"
    assert 0 < sum(s < 0 for s in got.values()) < len(got)


@pytest.mark.parametrize("triplet", FLIPPED + UNFLIPPED)
def test_wigner_3j_convention(triplet: tuple[int, int, int]) -> None:
    s = TABLE["signs"][",".join(map(str, triplet))]
    assert (s == -1) == (triplet in FLIPPED)
    new = o3.wigner_3j(*triplet, dtype=torch.float64)
    old = o3.wigner_3j(*triplet, dtype=torch.float64, convention="e3nn-0.4")
    assert torch.equal(old, s * new)
    assert torch.equal(o3.wigner_3j(*triplet, dtype=torch.float64, convention="e3nn"), new)
    assert wigner_3j_sign(*triplet, "e3nn") == 1
    # still the invariant of unit norm
    R = o3.rand_matrix(dtype=torch.float64)
    Ds = [o3.Irrep(l, (-1) ** l).D_from_matrix(R) for l in triplet]
    rotated = torch.einsum("ijk,il,jm,kn->lmn", old, *Ds)
    torch.testing.assert_close(rotated, old, atol=1e-12, rtol=0)
    assert abs(float(old.norm()) - 1) < 1e-12


def test_bad_convention() -> None:
    with pytest.raises(
        ValueError, match=r"wigner_3j_convention must be one of \('e3nn', 'e3nn-0.4'\), got 'e3nn-0.5'"
    ):
        o3.wigner_3j(1, 1, 1, convention="e3nn-0.5")
    with pytest.raises(ValueError, match="wigner_3j_convention must be one of"):
        wigner_3j_sign(1, 2, 2, "0.4")
    with pytest.raises(ValueError, match="triangle"):
        wigner_3j_sign(1, 1, 3)
    for make in (
        lambda c: o3.TensorProduct("1x1o", "1x2e", "1x2o", [(0, 0, 0, "uuu", False)], wigner_3j_convention=c),
        lambda c: o3.FullyConnectedTensorProduct("1x1o", "1x2e", "1x2o", wigner_3j_convention=c),
        lambda c: o3.ElementwiseTensorProduct("1x1o", "1x2e", wigner_3j_convention=c),
        lambda c: o3.FullTensorProduct("1x1o", "1x2e", wigner_3j_convention=c),
        lambda c: o3.TensorSquare("1x1o+1x2e", wigner_3j_convention=c),
    ):
        for bad in ("0.4", "E3NN", None, 4):
            with pytest.raises(ValueError, match=rf"wigner_3j_convention must be one of .*got {bad!r}"):
                make(bad)
    assert WIGNER_3J_CONVENTIONS == ("e3nn", "e3nn-0.4")


def _irrep(l: int, p: int) -> str:
    return f"{l}{'e' if p == 1 else 'o'}"


def _paths_case(
    triplets: list[tuple[int, int, int]],
) -> tuple[str, str, str, list[tuple[int, int, int, str, bool]]]:
    """A TensorProduct with one ``uvw`` path per triplet (inputs ``2x l1``, ``3x l2``, output ``2x l3``)."""
    in1, in2, out, ins = [], [], [], []
    for n, (l1, l2, l3) in enumerate(triplets):
        p1, p2 = (-1) ** n, 1
        in1.append(f"2x{_irrep(l1, p1)}")
        in2.append(f"3x{_irrep(l2, p2)}")
        out.append(f"2x{_irrep(l3, p1 * p2)}")
        ins.append((n, n, n, "uvw", True))
    return "+".join(in1), "+".join(in2), "+".join(out), ins


@pytest.mark.parametrize("executor", ["fast", "naive"])
def test_module_is_signed_per_path(executor: str) -> None:
    """Each path of a module with the 0.4 convention is the default module's path times the 0.4.4 sign."""
    triplets = FLIPPED + UNFLIPPED
    in1, in2, out, ins = _paths_case(triplets)
    torch.manual_seed(0)
    old = o3.TensorProduct(in1, in2, out, ins, wigner_3j_convention="e3nn-0.4", executor=executor).double()
    new = o3.TensorProduct(in1, in2, out, ins, executor=executor).double()
    new.load_state_dict(old.state_dict())
    x, y = o3.Irreps(in1).randn(4, -1, dtype=torch.float64), o3.Irreps(in2).randn(4, -1, dtype=torch.float64)
    a, b = old(x, y), new(x, y)
    signs = torch.cat(
        [
            torch.full((mul_ir.dim,), float(TABLE["signs"][",".join(map(str, t))]))
            for mul_ir, t in zip(old.irreps_out, triplets)
        ]
    ).double()
    torch.testing.assert_close(a, b * signs, atol=1e-13, rtol=0)
    assert (signs < 0).any() and (signs > 0).any()


@pytest.mark.parametrize(
    "make",
    [
        lambda **kw: o3.FullyConnectedTensorProduct(
            "2x1o+1x2e+1x2o", "1x2e+1x1e", "2x2e+1x1o+2x2o+1x3o", **kw
        ),
        lambda **kw: o3.FullyConnectedTensorProduct(
            "2x1o+1x2e", "1x2e", "2x2o+1x1o", shared_weights=False, **kw
        ),
        lambda **kw: o3.ElementwiseTensorProduct("2x1o+1x2e", "1x2e+2x1e", **kw),
        lambda **kw: o3.FullTensorProduct("2x1o+1x2e", "1x2e+1x1e", **kw),
        lambda **kw: o3.TensorSquare("2x1o+1x2e", **kw),
        lambda **kw: o3.TensorSquare("2x1o+1x2e", "1x1o+2x2o+1x1e", **kw),
    ],
    ids=["fctp", "fctp-external", "etp", "fulltp", "square", "square-weighted"],
)
def test_fast_equals_naive_and_keeps_the_option(make) -> None:
    torch.manual_seed(0)
    fast = make(wigner_3j_convention="e3nn-0.4").double()
    torch.manual_seed(0)
    naive = make(wigner_3j_convention="e3nn-0.4", executor="naive").double()
    default = make().double()
    assert "wigner_3j_convention='e3nn-0.4'" in repr(fast) and "wigner_3j_convention" not in repr(default)
    assert fast.wigner_3j_convention == "e3nn-0.4" and default.wigner_3j_convention == "e3nn"
    assert fast.plan.wigner_3j_convention == "e3nn-0.4"
    naive.load_state_dict(fast.state_dict())
    default.load_state_dict(fast.state_dict())
    square = isinstance(fast, o3.TensorSquare)
    x = fast.irreps_in1.randn(5, -1, dtype=torch.float64)
    y = fast.irreps_in2.randn(5, -1, dtype=torch.float64)
    args = (x,) if square else (x, y)
    w = (
        ()
        if fast.internal_weights or fast.weight_numel == 0
        else (torch.randn(5, fast.weight_numel, dtype=torch.float64),)
    )
    out = fast(*args, *w)
    torch.testing.assert_close(out, naive(*args, *w), atol=1e-12, rtol=0)
    assert not torch.allclose(out, default(*args, *w), atol=1e-6), "no path of the other sign in this case"
    # the option survives deepcopy, pickling and a state_dict round trip
    for clone in (copy.deepcopy(fast), pickle.loads(pickle.dumps(fast))):
        assert clone.wigner_3j_convention == "e3nn-0.4" and repr(clone) == repr(fast)
        torch.testing.assert_close(clone(*args, *w), out, atol=0, rtol=0)
    buffer = io.BytesIO()
    torch.save(fast.state_dict(), buffer)
    buffer.seek(0)
    torch.manual_seed(1)
    fresh = make(wigner_3j_convention="e3nn-0.4").double()
    fresh.load_state_dict(torch.load(buffer))
    torch.testing.assert_close(fresh(*args, *w), out, atol=0, rtol=0)


_E3NN044_SCRIPT = """
import json, sys, torch
import e3nn
from e3nn import o3
assert e3nn.__version__.startswith("0.4"), e3nn.__version__
torch.set_default_dtype(torch.float64)
data = torch.load(sys.argv[1])
tp = o3.TensorProduct(*data["args"], shared_weights=False)
torch.save(tp(data["x"], data["y"], data["w"]), sys.argv[2])
"""


@pytest.mark.skipif(not (E3NN044 / "e3nn" / "__init__.py").exists(), reason="e3nn 0.4.4 not at E3NN044_PATH")
def test_module_matches_e3nn044(tmp_path: Path) -> None:
    """With e3nn 0.4.4 at hand: the 0.4 convention gives its numbers (external weights, flipped and unflipped)."""
    in1, in2, out, ins = _paths_case(FLIPPED + UNFLIPPED)
    tp = o3.TensorProduct(in1, in2, out, ins, shared_weights=False, wigner_3j_convention="e3nn-0.4")
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(3, tp.irreps_in1.dim, generator=gen, dtype=torch.float64)
    y = torch.randn(3, tp.irreps_in2.dim, generator=gen, dtype=torch.float64)
    w = torch.randn(3, tp.weight_numel, generator=gen, dtype=torch.float64)
    torch.save({"args": (in1, in2, out, ins), "x": x, "y": y, "w": w}, tmp_path / "in.pt")
    env = dict(os.environ, PYTHONPATH=str(E3NN044), TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD="1", OMP_NUM_THREADS="1")
    proc = subprocess.run(
        [sys.executable, "-c", _E3NN044_SCRIPT, str(tmp_path / "in.pt"), str(tmp_path / "out.pt")],
        check=False, capture_output=True, text=True, env=env, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    theirs = torch.load(tmp_path / "out.pt")
    torch.testing.assert_close(tp.double()(x, y, w), theirs, atol=1e-12, rtol=0)
    default = o3.TensorProduct(in1, in2, out, ins, shared_weights=False)
    assert not torch.allclose(default.double()(x, y, w), theirs, atol=1e-6)


def test_compile_fullgraph() -> None:
    """The sign is a constant for the compiler: ``wigner_3j(convention=...)`` and the module compile whole."""
    torch._dynamo.reset()

    def f(x: torch.Tensor) -> torch.Tensor:
        return x * o3.wigner_3j(1, 2, 2, dtype=x.dtype, convention="e3nn-0.4")[0, 2, 3]

    x = torch.randn(3)
    torch.testing.assert_close(torch.compile(f, fullgraph=True)(x), f(x), atol=0, rtol=0)
    assert float(f(torch.ones(1))) == -float(o3.wigner_3j(1, 2, 2)[0, 2, 3]) != 0
    tp = o3.FullyConnectedTensorProduct("1x1e+1x2e", "1x2e", "1x2e", wigner_3j_convention="e3nn-0.4")
    a, b = tp.irreps_in1.randn(4, -1), tp.irreps_in2.randn(4, -1)
    torch.testing.assert_close(torch.compile(tp, fullgraph=True)(a, b), tp(a, b), atol=1e-12, rtol=0)
