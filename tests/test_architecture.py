"""The house as the file tree draws it: imports only go down, parts meet through contracts.

These read the source, not the running objects: they are the review a maintainer would
do by hand (``grep``), done on every run so the layout cannot drift.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "devserve"

#: What each package may import, besides itself and the standard library.
ALLOWED = {
    "http11": set(),
    "net": {"http11"},
    "handler": {"http11", "net"},
    "files": {"http11", "net", "handler"},
    "cgi": {"http11", "net", "handler", "files"},
    "wsgi": {"http11", "net", "handler"},
    "dev": {"http11", "net", "handler", "files", "wsgi"},
    "testing": {"http11", "net", "handler", "wsgi"},
    "proxy": {"http11", "net", "handler"},
    "mount": {"http11", "net", "handler", "files", "cgi", "wsgi", "proxy"},
    "cli": {"http11", "net", "handler", "files", "cgi", "wsgi", "dev", "mount", "proxy"},
}
# The facade (the public names, loaded on first use), the version, python -m devserve.
TOP_LEVEL = {"__init__", "__main__", "version"}


def modules() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def package_of(path: Path) -> str:
    relative = path.relative_to(SRC)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def imported_packages(path: Path) -> set[tuple[str, int]]:
    """The devserve packages *path* imports (at any depth of the code), with line numbers."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = path.relative_to(SRC).parts[:-1]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(package[: len(package) - node.level + 1])
                target = [*base, *(node.module or "").split(".")] if node.module else base
                names = [target] if node.module else [[*base, a.name] for a in node.names]
            elif (node.module or "").startswith("devserve."):
                names = [(node.module or "").split(".")[1:]]
            else:
                continue
            for name in names:
                if name and name[0]:
                    found.add((name[0], node.lineno))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("devserve."):
                    found.add((alias.name.split(".")[1], node.lineno))
    return found


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_imports_only_go_down(path: Path) -> None:
    package = package_of(path)
    if package in TOP_LEVEL:
        return
    allowed = ALLOWED[package] | {package, "version"}
    wrong = sorted((name, line) for name, line in imported_packages(path) if name not in allowed)
    assert not wrong, "%s imports %s" % (path.relative_to(SRC), wrong)


# Hidden protocols the layout replaced with named contracts; none may come back.
FORBIDDEN = [
    (
        re.compile(r"getattr\((self\.)?(server|handler|record\.handler)\b"),
        "getattr on a server/handler",
    ),
    (re.compile(r":\s*Any\s*=\s*self\s*(#.*)?$"), "an Any alias of self"),
    (re.compile(r"type\(\w*wfile\w*\) is|is SocketWriter"), "a type test of wfile"),
    (re.compile(r"\.__dict__\.update\("), "copying another object's state"),
    (re.compile(r"class \w+Mix[Ii]n\b"), "a mixin"),
]


@pytest.mark.parametrize(("pattern", "what"), FORBIDDEN, ids=[what for _pattern, what in FORBIDDEN])
def test_no_hidden_protocols(pattern: re.Pattern[str], what: str) -> None:
    hits = [
        "%s:%d: %s" % (path.relative_to(SRC), number, line.strip())
        for path in modules()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert not hits, "%s:\n%s" % (what, "\n".join(hits))


def test_classes_are_not_assembled_from_bases_at_run_time() -> None:
    # type(name, bases, namespace) with more than one base, or outside the one place
    # the command line configures a handler (cli/profile.configured).
    three_arguments = re.compile(r"\btype\(\s*[^(),]+,\s*\(")
    hits = [
        "%s:%d" % (path.relative_to(SRC), number)
        for path in modules()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if three_arguments.search(line) and path.relative_to(SRC) != Path("cli/profile.py")
    ]
    assert not hits


@pytest.mark.parametrize(
    ("code", "absent"),
    [
        ("import devserve", "devserve.handler"),
        (
            "from devserve import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, "
            "ThreadingHTTPServer",
            "devserve.wsgi",
        ),
        (
            "from devserve import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, "
            "ThreadingHTTPServer",
            "devserve.cgi",
        ),
        (
            "from devserve import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, "
            "ThreadingHTTPServer",
            "devserve.dev",
        ),
        ("from devserve import make_server", "devserve.cgi"),
        ("import devserve.cli.main", "devserve.wsgi"),
        ("import devserve.cli.main", "devserve.cgi"),
        ("import devserve.cli.main", "devserve.dev.livereload"),
    ],
    ids=[
        "import-devserve-loads-no-layer",
        "drop-in-classes-without-wsgi",
        "drop-in-classes-without-cgi",
        "drop-in-classes-without-dev",
        "wsgi-without-cgi",
        "command-line-without-wsgi",
        "command-line-without-cgi",
        "command-line-without-livereload",
    ],
)
def test_wings_load_on_first_use(code: str, absent: str) -> None:
    probe = "%s; import sys; print(sorted(m for m in sys.modules if m.startswith(%r)))" % (
        code,
        absent,
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]", result.stdout
