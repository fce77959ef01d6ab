"""Run the code of the documentation pages, and check that the API reference covers every public name.

Every fenced ``pycon`` block of a page under ``docs/`` (MyST Markdown) is a doctest: the blocks of one page run in
order in one namespace, and what they print must match the page. A page whose first line is
``<!-- doctest: also-e3nn -->`` runs a second time with ``e3torch`` replaced by ``e3nn`` and must print the same
under e3nn 0.6.0: the guide's claims about e3nn's output are checked against e3nn itself.
"""

from __future__ import annotations

import doctest
import pathlib
import re
import sys

import pytest
import torch

DOCS = pathlib.Path(__file__).resolve().parents[2] / "docs"
ALSO_E3NN = "<!-- doctest: also-e3nn -->"
# pages written by someone else, run by their own tests
SKIP = {"migrating_from_e3nn.md"}
FENCE = re.compile(r"^(`{3,}|~{3,})\s*\{?(pycon|python)\}?\s*$")
FLAGS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS


def _pages() -> list[pathlib.Path]:
    pages = []
    for path in sorted(DOCS.rglob("*.md")):
        rel = path.relative_to(DOCS)
        if rel.parts[0] in ("_build", "api") or rel.name in SKIP:
            continue
        if ">>>" in doctest_source(path.read_text()):
            pages.append(path)
    return pages


def doctest_source(text: str) -> str:
    """The text of a page with everything outside its ``pycon``/``python`` fences blanked (line numbers kept)."""
    out = []
    fence = None
    for line in text.splitlines():
        if fence is None:
            match = FENCE.match(line)
            if match:
                fence = match.group(1)
            out.append("")
        elif line.strip() == fence:
            fence = None
            out.append("")
        else:
            out.append(line)
    if fence is not None:
        raise ValueError(f"unclosed code fence {fence!r}")
    return "\n".join(out) + "\n"


def run_page(path: pathlib.Path, *, replace_with_e3nn: bool = False) -> tuple[int, int, str]:
    """Run the doctests of one page: ``(failures, examples, report)``."""
    source = doctest_source(path.read_text())
    if replace_with_e3nn:
        source = source.replace("e3torch", "e3nn")
    name = (path.relative_to(DOCS).as_posix() if path.is_relative_to(DOCS) else path.name) + (
        " (e3nn)" if replace_with_e3nn else ""
    )
    test = doctest.DocTestParser().get_doctest(source, {"__name__": "__docs__"}, name, str(path), 0)
    report: list[str] = []
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    dtype, rng, threads = torch.get_default_dtype(), torch.random.get_rng_state(), torch.get_num_threads()
    try:
        runner.run(test, out=report.append)
    finally:
        torch.set_default_dtype(dtype)
        torch.random.set_rng_state(rng)
        torch.set_num_threads(threads)
        test.globs.clear()
    return runner.failures, runner.tries, "".join(report)


PAGES = _pages()


def test_pages_found():
    names = {p.relative_to(DOCS).as_posix() for p in PAGES}
    for expected in ["conventions.md", "index.md"] + [f"guide/0{i}_" for i in range(1, 7)]:
        expected = next((n for n in names if n.startswith(expected)), expected)
        assert expected in names, f"no doctests collected from docs/{expected}"


# pages that take more than a few seconds (training loops)
SLOW_PAGES = {"guide/06_training.md"}


def _params(paths):
    return [
        pytest.param(
            p,
            id=p.relative_to(DOCS).as_posix(),
            marks=[pytest.mark.slow] if p.relative_to(DOCS).as_posix() in SLOW_PAGES else [],
        )
        for p in paths
    ]


@pytest.mark.parametrize("path", _params(PAGES))
def test_page_runs(path):
    failures, tries, report = run_page(path)
    assert tries > 0, f"{path} has '>>>' but no example was collected (is the fence ```pycon?)"
    assert failures == 0, report


E3NN_PAGES = [p for p in PAGES if p.read_text().startswith(ALSO_E3NN)]


@pytest.mark.parametrize("path", _params(E3NN_PAGES))
def test_page_prints_the_same_under_e3nn(path):
    pytest.importorskip("e3nn")
    failures, tries, report = run_page(path, replace_with_e3nn=True)
    assert tries > 0
    assert failures == 0, report


def test_doctest_source_keeps_only_code_fences():
    text = "intro >>> not code\n```pycon\n>>> 1 + 1\n2\n```\nmore\n```bash\n>>> no\n```\n"
    assert doctest_source(text) == "\n\n>>> 1 + 1\n2\n\n\n\n\n\n"
    with pytest.raises(ValueError, match="unclosed code fence"):
        doctest_source("```pycon\n>>> 1\n")


def test_a_wrong_output_fails(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("```pycon\n>>> 1 + 1\n3\n```\n")
    failures, tries, report = run_page(page)
    assert (failures, tries) == (1, 1)
    assert "Expected:\n    3\nGot:\n    2" in report


# --- API reference coverage -------------------------------------------------------------------------------------

sys.path.insert(0, str(DOCS / "_ext"))
import _api


@pytest.mark.parametrize("module_name", list(_api.MODULES))
def test_api_page_lists_every_public_name(module_name):
    import importlib

    module = importlib.import_module(module_name)
    page = _api.module_page(module_name)
    listed = set(re.findall(r"^   (\w+)$", page, flags=re.MULTILINE))
    expected = set(getattr(module, "__all__", None) or [])
    if not expected:  # no __all__: every public class/function defined in e3torch
        expected = {
            n
            for n, obj in vars(module).items()
            if not n.startswith("_")
            and callable(obj)
            and str(getattr(obj, "__module__", "")).startswith("e3torch")
        }
    missing = expected - listed
    assert not missing, f"{module_name}: public names missing from the API reference: {sorted(missing)}"


def test_api_skips_foreign_names():
    names = _api.public_names("e3torch.o3")
    assert "Irreps" in names and "wigner_3j" in names
    assert "torch" not in names and "annotations" not in names
