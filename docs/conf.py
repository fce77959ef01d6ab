"""Sphinx configuration of the e3torch documentation.

Build (offline, warnings are errors)::

    pip install -e ".[docs]" && sphinx-build -W -b html docs docs/_build/html

The API reference is generated at configuration time by :mod:`_api` (``docs/_ext/_api.py``): one page per public
module (``e3torch.o3``, ``e3torch.nn``, ...) listing every public name, grouped by the private module that
defines it, and autosummary writes one stub page per name. Nothing generated is committed
(``docs/api/generated/`` is ignored by git).

The guide pages are MyST Markdown. Their ``pycon`` blocks are doctests, run by ``tests/docs/test_docs_pages.py``;
their figures are drawn at build time by matplotlib's ``plot`` directive.
"""

from __future__ import annotations

import importlib.util
import os
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))
sys.path.insert(0, str(HERE.parent / "src"))

import _api

import e3torch

project = "e3torch"
author = "the e3torch developers"
copyright = "the e3torch developers"
release = e3torch.__version__
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "matplotlib.sphinxext.plot_directive",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "_ext", "_templates", "Thumbs.db", ".DS_Store", "performance_table.md"]
templates_path = ["_templates"]

# --- MyST ---
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

# --- API reference ---
_api.write_api_pages(HERE / "api" / "generated")
autosummary_generate = True
autosummary_imported_members = False
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_description_target = "documented_params"
autodoc_preserve_defaults = True
autodoc_default_options = {"show-inheritance": True}
napoleon_numpy_docstring = True
napoleon_google_docstring = False
napoleon_use_rtype = False
napoleon_use_ivar = True
add_module_names = False

# --- figures (matplotlib plot directive, executed at build time) ---
os.environ.setdefault("MPLBACKEND", "Agg")
plot_include_source = False
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 110)]
plot_rcparams = {"figure.dpi": 110, "savefig.bbox": "tight"}


# --- math: MathJax served from the site itself when available, so that the pages render offline ---
def _local_mathjax() -> pathlib.Path | None:
    """MathJax 3's self-contained SVG build, shipped by the ``sphinx-mathjax-offline`` package (docs extra)."""
    spec = importlib.util.find_spec("sphinx-mathjax-offline")
    if spec is None or spec.origin is None:
        return None
    path = pathlib.Path(spec.origin).parent / "static" / "mathjax" / "tex-svg.js"
    return path if path.is_file() else None


_MATHJAX = _local_mathjax()
if _MATHJAX is not None:  # else Sphinx's default: MathJax from a CDN (renders only online)
    mathjax_path = _MATHJAX.name

# --- HTML ---
html_theme = "furo"
html_title = f"e3torch {release}"
html_static_path: list[str] = [] if _MATHJAX is None else [str(_MATHJAX)]
html_show_sourcelink = False


def _drop_type_docstring_of_data(app, what, name, obj, options, lines):
    """A module-level constant without its own ``#:`` comment would show its type's docstring (``dict``'s)."""
    if what in ("data", "attribute") and not isinstance(obj, type):
        type_doc = type(obj).__doc__
        type_doc = type_doc.strip().splitlines() if isinstance(type_doc, str) else []
        if type_doc and [ln.strip() for ln in lines[: len(type_doc)]] == [ln.strip() for ln in type_doc]:
            lines[:] = []


def setup(app):
    app.connect("autodoc-process-docstring", _drop_type_docstring_of_data)
