"""The documentation builds with warnings as errors and nitpicky references, offline.

This is ``tox -e docs`` (``sphinx-build -W -n``) inside the test suite, into a
temporary directory; it is skipped where Sphinx is not installed (it comes with the
``docs`` extra, not ``test``).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def test_docs_build_with_warnings_as_errors(tmp_path: Path) -> None:
    pytest.importorskip("sphinx", reason="Sphinx is not installed (pip install -e .[docs])")
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "-n", "--keep-going", "-q", "-b", "html",
         "-d", str(tmp_path / "doctrees"), str(DOCS), str(tmp_path / "html")],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    index = (tmp_path / "html" / "index.html").read_text(encoding="utf-8")
    assert "Quickstart" in index
    api = (tmp_path / "html" / "api.html").read_text(encoding="utf-8")
    for name in ("devserve.BaseHTTPRequestHandler", "devserve.make_server",
                 "devserve.http11.ProtocolError"):  # fmt: skip
        assert 'id="%s"' % name in api, name


def _python_blocks() -> list[tuple[str, str]]:
    """Every inline Python block in the pages: ``code-block:: python`` and ``::``."""
    blocks = []
    for page in sorted(DOCS.glob("*.rst")):
        lines = page.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines):
            if not (line.strip() == ".. code-block:: python" or line.endswith("::")):
                continue
            if line.strip().startswith("..") and "python" not in line:
                continue
            body = []
            for following in lines[number + 1 :]:
                if following and not following.startswith(" "):
                    break
                body.append(following)
            blocks.append(("%s:%d" % (page.name, number + 1), "\n".join(body)))
    return blocks


def test_complete_programs_in_the_docs_are_example_files() -> None:
    # A block that starts a server is a complete program: it must be an example file
    # (included with literalinclude), so that tests/test_examples*.py runs it.
    inline = [where for where, body in _python_blocks()
              if re.search(r"serve_forever\(|handle_request\(\)|__main__", body)]  # fmt: skip
    assert inline == []


def test_every_example_is_shown_or_named_in_the_docs() -> None:
    text = "\n".join(p.read_text(encoding="utf-8") for p in DOCS.glob("*.rst"))
    examples = [*ROOT.glob("examples/*.py"), *ROOT.glob("examples/*/serve.py")]
    missing = [p.relative_to(ROOT).as_posix() for p in examples
               if p.relative_to(ROOT).as_posix() not in text]  # fmt: skip
    assert missing == []
