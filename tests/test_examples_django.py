"""examples/django_project: the project's wsgi.py under devserve, and unchanged elsewhere.

The same requests go to ``python examples/django_project/serve.py``, to ``devserve
--app mysite.wsgi:application`` run from the project's directory (the two commands
its docstring gives), and to waitress and gunicorn: the answers must be the same.
"""

from __future__ import annotations

import http.client
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from support.examples import EXAMPLES, devserve_command, running_command
from support.processes import TIMEOUT, free_port

pytest.importorskip("django", reason="Django is not installed (pip install django)")

PROJECT = EXAMPLES / "django_project"
BIN = Path(sys.executable).parent


def exchange(port: int, method: str, path: str, body: bytes | None = None, **headers: str) -> Any:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    try:
        connection.request(method, path, body, headers)
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type"), response.read()
    finally:
        connection.close()


def observe(port: int) -> list[Any]:
    """What a client sees of the project: a page, a URL parameter, JSON, errors."""
    seen = [exchange(port, "GET", "/hello/ada")]
    status, content_type, body = exchange(
        port, "POST", "/api/echo", json.dumps({"a": [1, 2]}).encode(),
        **{"Content-Type": "application/json"},
    )  # fmt: skip
    seen.append((status, content_type, json.loads(body)))
    seen.append(exchange(port, "POST", "/api/echo", b"nope")[:2])
    seen.append(exchange(port, "GET", "/api/echo")[:2])  # require_POST: 405
    seen.append(exchange(port, "GET", "/missing")[0])
    # ALLOWED_HOSTS is checked against the Host the server passed on.
    seen.append(exchange(port, "GET", "/hello/x", Host="evil.example")[0])
    return seen


EXPECTED = [
    (200, "text/plain; charset=utf-8", b"Hello, ada!"),
    (200, "application/json", {"received": {"a": [1, 2]}, "script_name": ""}),
    (400, "application/json"),
    (405, "text/html; charset=utf-8"),
    404,
    400,
]


def test_serve_script_runs_the_projects_wsgi_module() -> None:
    port = free_port()
    argv = [sys.executable, str(PROJECT / "serve.py"), str(port)]
    with running_command(argv, port):
        assert observe(port) == EXPECTED


def test_devserve_app_from_the_project_directory() -> None:
    port = free_port()
    argv = [*devserve_command(), "--app", "mysite.wsgi:application", str(port)]
    with running_command(argv, port, cwd=PROJECT):
        # The command line's own Host allowlist (loopback binds) answers a foreign
        # Host with 403 before Django's ALLOWED_HOSTS check would answer 400.
        assert observe(port) == [*EXPECTED[:-1], 403]


def test_script_name_mount_reaches_django() -> None:
    port = free_port()
    argv = [*devserve_command(), "--app", "mysite.wsgi:application", "--script-name", "/site",
            str(port)]  # fmt: skip
    with running_command(argv, port, cwd=PROJECT):
        status, _, body = exchange(port, "POST", "/site/api/echo", b"{}")
        assert (status, json.loads(body)) == (200, {"received": {}, "script_name": "/site"})
        assert exchange(port, "GET", "/hello/ada")[0] == 404


@pytest.mark.parametrize(
    "server",
    [
        ["waitress-serve", "--listen=127.0.0.1:{port}", "mysite.wsgi:application"],
        ["gunicorn", "--workers", "1", "--bind", "127.0.0.1:{port}", "mysite.wsgi:application"],
    ],
    ids=["waitress", "gunicorn"],
)
def test_same_project_unchanged_under_a_production_server(server: list[str]) -> None:
    if shutil.which(server[0], path=str(BIN)) is None:
        pytest.skip("%s is not installed beside this Python" % server[0])
    port = free_port()
    argv = [str(BIN / server[0]), *(arg.format(port=port) for arg in server[1:])]
    with running_command(argv, port, cwd=PROJECT):
        assert observe(port) == EXPECTED
