"""Sphinx configuration for devserve's documentation."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

project = "devserve"
author = "devserve developers"
copyright = "2026, devserve developers"  # noqa: A001
release = "0.1.0"

extensions = ["sphinx.ext.autodoc", "sphinx.ext.extlinks"]
# No network here or in CI: link the stdlib docs, RFCs and PEPs with extlinks rather
# than intersphinx inventories that would have to be downloaded.
extlinks = {
    "pydoc": ("https://docs.python.org/3/library/%s", "%s"),
    "rfc9112": ("https://www.rfc-editor.org/rfc/rfc9112#%s", "RFC 9112 %s"),
    "rfc9110": ("https://www.rfc-editor.org/rfc/rfc9110#%s", "RFC 9110 %s"),
    "gh": ("https://github.com/python/cpython/issues/%s", "gh-%s"),
}
autodoc_member_order = "bysource"
autodoc_typehints = "description"
nitpicky = False
html_theme = "alabaster"
exclude_patterns = ["_build"]
