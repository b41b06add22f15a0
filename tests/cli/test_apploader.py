"""load_app(): every --app form, and a clear message for every way it can go wrong."""

from __future__ import annotations

import itertools
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from devserve.cli.apploader import AppLoadError, load_app, parse_app_spec

_names = itertools.count()

APP_SOURCE = """
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"from app"]

def create_app(greeting="hi", *, loud=False):
    def made(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        text = greeting.upper() if loud else greeting
        return [text.encode()]
    return made

def needs_args(a, b, c):
    return a

def factory_without_parens():
    return app

not_callable = "just a string"
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: Any) -> Path:
    """A fresh directory as the cwd, with sys.path and sys.modules restored afterwards."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setattr(sys, "modules", dict(sys.modules))
    return tmp_path


def module(project: Path, source: str = APP_SOURCE, *, package: str | None = None) -> str:
    """Write a uniquely named module and return its name."""
    name = "devserve_loader_test_%d" % next(_names)
    directory = project
    if package:
        directory = project / package
        directory.mkdir(exist_ok=True)
        (directory / "__init__.py").write_text("")
    (directory / (name + ".py")).write_text(textwrap.dedent(source))
    return "%s.%s" % (package, name) if package else name


def call(app: Any) -> bytes:
    started = []
    body = b"".join(app({}, lambda status, headers, exc_info=None: started.append(status)))
    assert started == ["200 OK"]
    return body


@pytest.mark.parametrize(
    ("suffix", "body"),
    [
        (":app", b"from app"),
        ("", b"from app"),
        (":create_app()", b"hi"),
        (":create_app('hello', loud=True)", b"HELLO"),
        (":create_app( 'x' )", b"x"),
    ],
    ids=["name", "default", "factory", "factory-args", "spaces"],
)
def test_module_forms(project: Path, suffix: str, body: bytes) -> None:
    assert call(load_app(module(project) + suffix)) == body


def test_module_in_a_package(project: Path) -> None:
    assert call(load_app(module(project, package="pkg") + ":app")) == b"from app"


def test_file_path_form_with_sibling_imports(project: Path) -> None:
    (project / "src").mkdir()
    (project / "src" / "helper_mod_for_loader.py").write_text("GREETING = b'sibling'\n")
    (project / "src" / "main_for_loader.py").write_text(
        "from helper_mod_for_loader import GREETING\n"
        "def application(environ, start_response):\n"
        "    start_response('200 OK', [])\n"
        "    return [GREETING]\n"
    )
    assert call(load_app("src/main_for_loader.py")) == b"sibling"
    assert call(load_app(str(project / "src" / "main_for_loader.py") + ":application")) == (
        b"sibling"
    )


def test_file_inside_a_package_is_imported_as_part_of_it(project: Path) -> None:
    name = module(project, package="pkgfile").rpartition(".")[2]
    (project / "pkgfile" / "rel_for_loader.py").write_text("from .%s import app\n" % name)
    assert call(load_app("pkgfile/rel_for_loader.py:app")) == b"from app"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("no_such_module_for_devserve:app", "no module named 'no_such_module_for_devserve'"),
        ("missing.py:app", "no such file"),
        ("{mod}:nope", "has no attribute 'nope'"),
        ("{mod}:not_callable", "is a str, not a WSGI application"),
        ("{mod}:needs_args", "cannot be called as app(environ, start_response)"),
        ("{mod}:create_app(1, 2, 3)", "cannot call"),
        ("{mod}:create_app(open('x'))", "must be Python literals"),
        ("{mod}:not_callable()", "not a factory to call"),
        ("{mod}:a b", "is not a Python name"),
        ("{mod}:", "is not MODULE:NAME"),
    ],
    ids=["no-module", "no-file", "no-attr", "not-callable", "wrong-signature",
         "bad-args", "not-literal", "call-non-callable", "bad-name", "empty-name"],
)  # fmt: skip
def test_clear_errors(project: Path, spec: str, message: str) -> None:
    with pytest.raises(AppLoadError) as caught:
        load_app(spec.format(mod=module(project)))
    assert message in str(caught.value)


def test_error_inside_the_module_keeps_its_traceback(project: Path) -> None:
    name = module(project, "import json\nraise RuntimeError('broken at import')\n")
    with pytest.raises(AppLoadError) as caught:
        load_app(name + ":app")
    assert "error while importing" in str(caught.value)
    assert "RuntimeError: broken at import" in str(caught.value)


def test_missing_dependency_is_not_reported_as_a_missing_app_module(project: Path) -> None:
    name = module(project, "import a_dependency_that_is_not_installed\n")
    with pytest.raises(AppLoadError) as caught:
        load_app(name)
    assert "error while importing" in str(caught.value)
    assert "a_dependency_that_is_not_installed" in str(caught.value)


def test_factory_that_raises(project: Path) -> None:
    name = module(project, "def create_app():\n    raise KeyError('config')\n")
    with pytest.raises(AppLoadError, match="error while calling"):
        load_app(name + ":create_app()")


def test_no_default_application(project: Path) -> None:
    with pytest.raises(AppLoadError, match="found no application"):
        load_app(module(project, "x = 1\n"))


def test_parse_app_spec() -> None:
    assert parse_app_spec("a.b:c") == ("a.b", "c", None, {})
    assert parse_app_spec("a:f('x', n=2)") == ("a", "f", ("x",), {"n": 2})
    assert parse_app_spec("C:\\\\dir\\\\app.py:app")[1] == "app"


def test_a_factory_named_without_parentheses_is_called_as_flask_does(project: Path) -> None:
    assert call(load_app(module(project) + ":factory_without_parens")) == b"from app"
    assert call(load_app(module(project) + ":create_app")) == b"hi"
