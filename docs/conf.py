"""Sphinx configuration for devserve's documentation."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

project = "devserve"
author = "devserve developers"
copyright = "2026, devserve developers"
release = "0.1.0"

extensions = ["sphinx.ext.autodoc", "sphinx.ext.extlinks", "sphinx.ext.intersphinx"]
# No network here or in CI: the stdlib's inventory is a small file kept in the repo
# (_inventories/make_python_inv.py writes it); RFCs and PEPs are extlinks.
intersphinx_mapping = {"python": ("https://docs.python.org/3", "_inventories/python.inv")}
# Third-party names with no offline inventory; each is named in the text around it.
nitpick_ignore = [
    ("py:class", "werkzeug.debug.DebuggedApplication"),
    ("py:mod", "watchfiles"),
    ("py:mod", "cryptography"),
    # A private alias in devserve.dev.hostcheck's signatures (Callable[..., Iterable[bytes]]).
    ("py:class", "_App"),
    # Type variables in signatures (devserve.cli.profile.Handler, devserve.cli.listen.Server,
    # devserve.net.pool.Job): typing.TypeVar objects, not documented names.
    ("py:class", "devserve.cli.profile.Handler"),
    ("py:class", "devserve.cli.listen.Server"),
    ("py:class", "devserve.net.pool.Job"),
    ("py:class", "Job"),
    # http-support.rst (the hardening engineer's page) writes the short form; the
    # target is documented as devserve.http11.ChunkedReader.trailers in api.rst.
    ("py:attr", "ChunkedReader.trailers"),
]
extlinks = {
    "pydoc": ("https://docs.python.org/3/library/%s", "%s"),
    "rfc9112": ("https://www.rfc-editor.org/rfc/rfc9112#%s", "RFC 9112 %s"),
    "rfc9110": ("https://www.rfc-editor.org/rfc/rfc9110#%s", "RFC 9110 %s"),
    "gh": ("https://github.com/python/cpython/issues/%s", "gh-%s"),
}
# devserve.testing.pytest_plugin imports pytest, which the docs extra does not install.
autodoc_mock_imports = ["pytest"]
autodoc_member_order = "bysource"
autodoc_typehints = "description"
nitpicky = False
html_theme = "alabaster"
exclude_patterns = ["_build"]
