"""examples/flask_app.py: through WebTest, over a real socket, and the same under wsgiref."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler as StdlibWSGIRequestHandler
from wsgiref.simple_server import make_server as stdlib_make_server

import pytest
import requests

from devserve.wsgi.handler import WSGIHandler
from devserve.wsgi.server import make_server
from support.examples import EXAMPLES
from support.processes import free_port, serving

EXAMPLE = EXAMPLES / "flask_app.py"
TIMEOUT = 10


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("flask_app_example", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextmanager
def process(*argv: str, port: int, cwd: Path | None = None) -> Iterator[str]:
    """Run *argv* until the block ends; yield the base URL once the port answers."""
    with serving(argv, port, cwd=cwd):
        yield "http://127.0.0.1:%d" % port


def exercise(base: str) -> list[tuple[Any, ...]]:
    """Drive the app through every feature; return what a client observes."""
    seen: list[tuple[Any, ...]] = []
    with requests.Session() as session:
        session.request = _with_timeout(session.request)  # type: ignore[method-assign]
        r = session.post(base + "/notes", data={"text": "buy milk"}, allow_redirects=False)
        seen.append(("form", r.status_code, r.headers["Location"]))
        r = session.get(base + "/")
        seen.append(("index", r.status_code, "buy milk" in r.text))
        r = session.post(base + "/notes", data={"text": ""})
        seen.append(("empty form", r.status_code, r.text))
        r = session.post(base + "/api/echo", json={"a": [1, 2]})
        seen.append(("json", r.status_code, r.json()))
        r = session.post(base + "/api/echo", data=b"nope")
        seen.append(("not json", r.status_code, r.json()))
        for _ in range(2):
            r = session.get(base + "/visits")
            seen.append(("cookie", r.status_code, r.text, session.cookies.get("visits")))
        r = session.get(base + "/missing")
        seen.append(("404", r.status_code, r.json(), r.headers["Content-Type"]))
        r = session.head(base + "/visits")
        seen.append(("head", r.status_code, r.content))
    return seen


def _with_timeout(request: Any) -> Any:
    def call(*args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", TIMEOUT)
        return request(*args, **kwargs)

    return call


EXPECTED = [
    ("form", 303, "/"),
    ("index", 200, True),
    ("empty form", 400, "text is required"),
    ("json", 200, {"received": {"a": [1, 2]}, "length": 13}),
    ("not json", 415, {"error": "expected a JSON body"}),
    ("cookie", 200, "visit 1", "1"),
    ("cookie", 200, "visit 2", "2"),
    ("404", 404, {"error": "not found", "path": "/missing"}, "application/json"),
    ("head", 200, b""),
]


def test_flask_example_through_webtest() -> None:
    with warnings.catch_warnings():
        # WebOb imports the cgi module, deprecated since Python 3.11.
        warnings.simplefilter("ignore", DeprecationWarning)
        import webtest

    app = webtest.TestApp(load_example().app)
    response = app.post("/notes", {"text": "webtest"}, status=303)
    assert response.headers["Location"].endswith("/")
    assert "webtest" in app.get("/").text
    assert app.post_json("/api/echo", {"x": 1}).json == {"received": {"x": 1}, "length": 8}
    app.get("/visits")
    assert app.get("/visits").text == "visit 2"
    assert app.get("/nowhere", status=404).json["path"] == "/nowhere"


def test_flask_example_script_over_a_real_socket() -> None:
    port = free_port()
    with process(sys.executable, str(EXAMPLE), str(port), port=port) as base:
        assert exercise(base) == EXPECTED


class _QuietStdlibHandler(StdlibWSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class _QuietHandler(WSGIHandler):
    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        pass


def test_same_answers_under_wsgiref_and_devserve() -> None:
    answers = []
    for factory, handler in ((stdlib_make_server, _QuietStdlibHandler),
                             (make_server, _QuietHandler)):  # fmt: skip
        server = factory("127.0.0.1", 0, load_example().app, handler_class=handler)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
        thread.start()
        try:
            answers.append(exercise("http://127.0.0.1:%d" % server.server_port))
        finally:
            server.shutdown()
            server.server_close()
            thread.join(TIMEOUT)
    assert answers[0] == answers[1] == EXPECTED


@pytest.mark.skipif(shutil.which("gunicorn", path=os.path.dirname(sys.executable)) is None,
                    reason="gunicorn is not installed")  # fmt: skip
def test_same_app_runs_unchanged_under_gunicorn() -> None:
    port = free_port()
    gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
    argv = (gunicorn, "--workers", "1", "--bind", "127.0.0.1:%d" % port, "flask_app:app")
    with process(*argv, port=port, cwd=EXAMPLE.parent) as base:
        assert exercise(base) == EXPECTED
