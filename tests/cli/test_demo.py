import subprocess
import sys

import pytest

from e3torch.cli.demo import run_demo
from e3torch.cli.main import build_parser, main


def test_demo_reports_equivariance(capsys):
    error = run_demo(points=5, lmax=4, seed=1)
    out = capsys.readouterr().out
    assert error < 1e-12
    assert "D(R) Y(x)" in out and "Y(R x)" in out
    assert "1x0e+1x1o+1x2e+1x3o+1x4e" in out


def test_demo_rejects_bad_arguments():
    with pytest.raises(ValueError, match="expected at least 1 point, got 0"):
        run_demo(points=0)
    with pytest.raises(ValueError, match="expected lmax >= 0, got -1"):
        run_demo(lmax=-1)


def test_main_runs_demo(capsys):
    assert main(["demo", "--points", "2", "--lmax", "1"]) == 0
    assert "max |D(R) Y(x) - Y(R x)|" in capsys.readouterr().out


def test_parser_requires_a_command():
    with pytest.raises(SystemExit):
        build_parser().parse_args([])


def test_console_entry_point_module():
    result = subprocess.run(
        [sys.executable, "-m", "e3torch.cli", "demo", "--points", "2"], capture_output=True, text=True, check=True
    )
    assert "e3torch demo" in result.stdout
