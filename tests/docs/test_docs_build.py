"""Build the documentation site from scratch with warnings as errors, and check what it contains.

This is the command of the README (``sphinx-build -W -b html docs <out>``), run in a subprocess into a temporary
directory. It imports every documented module, renders every docstring, and runs the figure code of the guide.
"""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys

import pytest

DOCS = pathlib.Path(__file__).resolve().parents[2] / "docs"

pytest.importorskip("sphinx")
pytest.importorskip("myst_parser")
pytest.importorskip("furo")

sys.path.insert(0, str(DOCS / "_ext"))
import _api


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> pathlib.Path:
    out = tmp_path_factory.mktemp("docs")
    env = {**os.environ, "MPLBACKEND": "Agg"}
    cmd = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html"]
    cmd += ["-d", str(out / "doctrees"), str(DOCS), str(out / "html")]
    proc = subprocess.run(cmd, check=False, env=env, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, (
        f"sphinx-build failed ({proc.returncode}):\n{proc.stdout[-5000:]}\n{proc.stderr[-10000:]}"
    )
    return out / "html"


@pytest.mark.slow
def test_site_builds_without_warnings(site):
    for page in ["index", "conventions", "performance", "migrating_from_e3nn", "api/index"]:
        assert (site / f"{page}.html").is_file(), page
    for chapter in sorted((DOCS / "guide").glob("0*.md")):
        assert (site / "guide" / f"{chapter.stem}.html").is_file(), chapter.name


@pytest.mark.slow
def test_figures_are_drawn_at_build_time(site):
    for chapter, expected in [("02_spherical_harmonics", 1), ("03_tensor_products", 1)]:
        html = (site / "guide" / f"{chapter}.html").read_text()
        images = [p for p in (site / "_images").glob(f"{chapter}-*.png") if p.stat().st_size > 10_000]
        assert len(images) >= expected, f"{chapter}: expected a drawn figure, found {images}"
        assert images[0].name in html


@pytest.mark.slow
def test_every_public_name_has_a_reference_page(site):
    missing = []
    for module_name in _api.MODULES:
        if not (site / "api" / "generated" / f"{module_name}.html").is_file():
            missing.append(module_name)
        for name in _api.public_names(module_name):
            page = site / "api" / "generated" / f"{module_name}.{name}.html"
            if not page.is_file():
                missing.append(f"{module_name}.{name}")
    assert not missing, f"no reference page for: {missing}"


@pytest.mark.slow
def test_reference_pages_render_the_docstrings(site):
    page = (site / "api" / "generated" / "e3torch.o3.Irreps.html").read_text()
    assert "slices" in page and "Examples" in page
    linear = (site / "api" / "generated" / "e3torch.o3.Linear.html").read_text()
    assert "Parameters" in linear


@pytest.mark.slow
def test_front_page_links_guide_migration_and_performance(site):
    index = (site / "index.html").read_text()
    for target in ["migrating_from_e3nn.html", "guide/index.html", "performance.html", "api/index.html"]:
        assert f'href="{target}' in index, target
    performance = (site / "performance.html").read_text()
    text = re.sub(r"<[^>]+>", "", performance)
    assert "<table" in performance and "Geometric mean ratio" in text
    assert "python -m benchmarks.run --markdown docs/performance_table.md" in text
