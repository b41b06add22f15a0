"""``--proxy PREFIX=URL`` on the command line, in a real process, in both modes."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from support.cli import ROOT, start_app, stop_app
from support.sockets import CLIENT_TIMEOUT, RunningServer

from .conftest import Backend, RawBackend
from .test_proxy import open_websocket


class _Port:
    """What open_websocket needs of a server: a way to connect to it."""

    def __init__(self, port: int) -> None:
        self.port = port

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=CLIENT_TIMEOUT)


def get(port: int, path: str) -> tuple[bytes, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=CLIENT_TIMEOUT) as sock:
        sock.sendall(
            b"GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n" % path.encode()
        )
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return head, body


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "index.html").write_text("root page")
    (tmp_path / "app.py").write_text(
        "def app(environ, start_response):\n"
        "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
        "    return [b'the app ' + environ['PATH_INFO'].encode()]\n"
    )
    return tmp_path


@pytest.mark.parametrize("mode", ["files", "app"])
def test_proxy_in_both_modes(
    site: Path, backend: tuple[RunningServer, Backend], echo: RawBackend, mode: str
) -> None:
    running, _app = backend
    root = ["-d", str(site)] if mode == "files" else ["--app", "app:app"]
    proc, port = start_app(
        "0", *root, "--proxy", "/api=%s/v1" % running.url, "--proxy", "/ws=%s" % echo.url,
        cwd=site,
    )  # fmt: skip
    try:
        head, body = get(port, "/api/items?q=1")
        assert head.startswith(b"HTTP/1.1 200"), head
        got = json.loads(body)
        assert (got["path"], got["query"], got["fields"]["host"]) == (
            "/v1/items",
            "q=1",
            "localhost",
        )
        expected = b"root page" if mode == "files" else b"the app /other"
        assert get(port, "/other" if mode == "app" else "/")[1] == expected
        with open_websocket(_Port(port)) as sock:
            sock.sendall(b"\x81\x02hi")
            assert sock.recv(100) == b"\x81\x02hi"
    finally:
        code, err = stop_app(proc)
    assert code == 0, err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--proxy", "/api=http://192.0.2.1:5000"], "--proxy-allow-remote"),
     (["--proxy", "/api=https://127.0.0.1:5000"], "http:// URL"),
     (["--proxy", "/=http://127.0.0.1:5000"], "not the root"),
     (["--proxy", "api"], "PREFIX=URL")],
    ids=["remote", "https", "root", "no-url"],
)  # fmt: skip
def test_bad_proxies_are_usage_errors(args: list[str], message: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "devserve", "0", *args], cwd=ROOT, capture_output=True,
        text=True, timeout=10,
    )  # fmt: skip
    assert result.returncode == 2
    assert message in result.stderr
