"""serve_app's parts: static mounts beside an app, the debugger, load failures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from apps import plain
from conftest import read_all
from devserve.cli.app_mode import mount_static, serve_app
from devserve.dev.debugger import debug_app, served_hosts
from test_wsgi import QuietWSGIHandler, split, wsgi  # noqa: F401 -- the fixture


class QuietFiles(QuietWSGIHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_static_mount_serves_files_and_the_app_the_rest(wsgi: Any, tmp_path: Path) -> None:  # noqa: F811
    (tmp_path / "app.css").write_text("body{}")
    (tmp_path / "sub").mkdir()
    server = wsgi(plain.hello, mount_static(QuietFiles, [("/static/", str(tmp_path))]))
    with server.connect() as sock:
        # One keep-alive connection, alternating between the files and the app.
        sock.sendall(b"GET /static/app.css HTTP/1.1\r\nHost: a\r\n\r\n")
        status, headers, body = split(sock.recv(65536))
        assert status == b"HTTP/1.1 200 OK"
        assert headers["content-type"].startswith("text/css")
        assert "etag" in headers
        assert body == b"body{}"
        sock.sendall(b"GET /static/sub HTTP/1.1\r\nHost: a\r\n\r\n")
        status, headers, _ = split(sock.recv(65536))
        assert status.startswith(b"HTTP/1.1 301")
        assert headers["location"] == "/static/sub/"
        sock.sendall(b"GET /staticky HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        assert split(read_all(sock))[2] == b"Hello, world!"
    missing = server.exchange(b"GET /static/nope HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    assert missing.startswith(b"HTTP/1.1 404")
    escape = server.exchange(
        b"GET /static/../../etc/passwd HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
    )
    assert not escape.startswith(b"HTTP/1.1 200")


def test_debugger_shows_a_traceback_page_and_prints_the_pin(
    wsgi: Any,  # noqa: F811
    capsys: Any,
    monkeypatch: Any,
) -> None:
    monkeypatch.setenv("WERKZEUG_DEBUG_PIN", "123-456-789")
    app = debug_app(plain.fail_before, ["127.0.0.1"])
    assert "Debugger PIN: 123-456-789" in capsys.readouterr().err
    data = wsgi(app).exchange(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    status, _, body = split(data)
    assert status.startswith(b"HTTP/1.1 500")
    assert b"boom before the head" in body
    assert b"Traceback" in body


def test_served_hosts_trust_what_is_bound_never_a_wildcard() -> None:
    assert served_hosts(["192.0.2.7"]) == ["192.0.2.7"]
    assert served_hosts(["::1"]) == ["[::1]"]
    names = served_hosts(["0.0.0.0"])
    assert "0.0.0.0" not in names
    assert names


def test_serve_app_reports_a_bad_app_and_returns_1(capsys: Any) -> None:
    assert serve_app("no_such_module_for_devserve_xyz:app", port=0) == 1
    assert "no module named" in capsys.readouterr().err
