"""``-b unix:PATH``: the command line on a Unix socket, in both modes, under ``--reload``,
with TLS, and with live reload's stream, a mount and a proxy together.

The addresses are read in this process; every server is ``python -m devserve`` in a
subprocess, asked over a real ``AF_UNIX`` connection and stopped by its pid.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devserve.cli.listen import addresses, start_error, unix_path
from devserve.cli.profile import UsageError
from support.cli import DevserveProcess
from support.processes import TIMEOUT
from support.sockets import read_all, unix_get

ENVIRON_APP = """
def app(environ, start_response):
    keys = ("SERVER_NAME", "SERVER_PORT", "REMOTE_ADDR")
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [("VERSION %r" % [environ[key] for key in keys]).encode()]
"""


@pytest.mark.parametrize(
    ("bind", "path"),
    [("unix:/run/dev.sock", "/run/dev.sock"), ("unix:///run/dev.sock", "/run/dev.sock"),
     ("unix:dev.sock", os.path.abspath("dev.sock")),
     ("unix://dev.sock", os.path.abspath("dev.sock")),
     ("127.0.0.1", None), ("localhost", None), (None, None)],
    ids=["gunicorn", "werkzeug", "relative", "relative-werkzeug", "ip", "name", "default"],
)  # fmt: skip
def test_unix_path(bind: str | None, path: str | None) -> None:
    assert unix_path(bind) == path


@pytest.mark.parametrize("bind", ["unix:", "unix://"])
def test_unix_without_a_path_is_a_usage_error(bind: str) -> None:
    with pytest.raises(UsageError, match="no path after unix:"):
        addresses(bind, 8000)


def test_a_unix_bind_is_one_required_path_and_no_port() -> None:
    assert addresses("unix:/run/dev.sock", 8000) == [("/run/dev.sock", True)]


@pytest.mark.parametrize(
    ("address", "error", "line"),
    [
        ("/run/dev.sock", OSError(98, "Address already in use"),
         "cannot listen on unix:/run/dev.sock: address already in use "
         "(a server is listening there)"),
        ("/run/dev.sock", OSError(13, "Permission denied"),
         "cannot listen on unix:/run/dev.sock: permission denied"),
        (("127.0.0.1", 8000), OSError(98, "Address already in use"),
         "cannot listen on 127.0.0.1:8000: address already in use (try another port, or 0)"),
    ],
    ids=["unix-in-use", "unix-denied", "tcp-in-use"],
)  # fmt: skip
def test_start_error_names_the_socket(address: object, error: OSError, line: str) -> None:
    assert start_error(address, error, tls=False) == line


def serve(*args: str, cwd: Path | None = None) -> DevserveProcess:
    server = DevserveProcess(*args, cwd=cwd)
    if server.process.poll() is not None:
        raise AssertionError(server.stop())
    return server


@pytest.mark.parametrize("scheme", ["unix:", "unix://"])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_files_on_a_unix_socket_until_stopped(
    tmp_path: Path, socket_path: Path, scheme: str, sig: int
) -> None:
    (tmp_path / "hello.txt").write_text("hello over unix")
    server = serve("-b", scheme + str(socket_path), "-d", str(tmp_path))
    try:
        banner = server.stdout
        assert "Serving HTTP on unix:%s (curl --unix-socket %s http://localhost/) ..." % (
            socket_path, socket_path) in banner  # fmt: skip
        answer = unix_get(socket_path, "/hello.txt")
        assert answer.startswith(b"HTTP/1.1 200 ")
        assert answer.endswith(b"\r\n\r\nhello over unix")
        assert server.wait_for_stderr('"GET /hello.txt HTTP/1.1" 200').startswith("unix: - - [")
    finally:
        status, _out, err = server.stop(sig)
    assert status == 0, err
    assert not socket_path.exists()


def test_app_on_a_unix_socket_with_its_environ(tmp_path: Path, socket_path: Path) -> None:
    (tmp_path / "environ_app.py").write_text(ENVIRON_APP)
    server = serve("--app", "environ_app:app", "-b", "unix:" + str(socket_path), cwd=tmp_path)
    try:
        assert "Serving HTTP on unix:%s " % socket_path in server.stdout
        # As gunicorn's without Host: no host nor port; what curl sends is localhost.
        assert unix_get(socket_path).endswith(b"VERSION ['localhost', '80', '']")
    finally:
        status, _out, err = server.stop(signal.SIGTERM)
    assert status == 0, err
    assert not socket_path.exists()


def test_app_reload_on_a_unix_socket_edit_restarts(tmp_path: Path, socket_path: Path) -> None:
    module = tmp_path / "environ_app.py"
    module.write_text(ENVIRON_APP)
    server = serve(
        "--app", "environ_app:app", "--reload", "-b", "unix:" + str(socket_path), cwd=tmp_path
    )
    try:
        assert b"VERSION [" in unix_get(socket_path)
        module.write_text(ENVIRON_APP.replace("VERSION", "EDITED"))
        server.wait_for_stderr("reloading")
        deadline = time.monotonic() + TIMEOUT
        answer = b""
        while b"EDITED [" not in answer and time.monotonic() < deadline:
            answer = unix_get(socket_path)  # the socket waits in the backlog meanwhile
        assert answer.endswith(b"EDITED ['localhost', '80', '']")
        assert socket_path.is_socket()  # the restarted child kept the parent's file
    finally:
        status, _out, err = server.stop()
    assert status == 0, err
    assert "Traceback" not in err
    assert not socket_path.exists()


def test_a_stale_socket_file_is_replaced(tmp_path: Path, socket_path: Path) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as left_behind:
        left_behind.bind(str(socket_path))
    server = serve("-b", "unix:" + str(socket_path), "-d", str(tmp_path))
    try:
        assert unix_get(socket_path).startswith(b"HTTP/1.1 200 ")
    finally:
        status, _out, err = server.stop()
    assert status == 0, err
    assert not socket_path.exists()


def refused(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "devserve", *args],
        capture_output=True, text=True, timeout=TIMEOUT * 2,
    )  # fmt: skip


def test_a_live_socket_is_address_in_use(tmp_path: Path, socket_path: Path) -> None:
    first = serve("-b", "unix:" + str(socket_path), "-d", str(tmp_path))
    try:
        second = refused("-b", "unix://" + str(socket_path), "-d", str(tmp_path))
        assert (second.returncode, second.stderr) == (1, (
            "devserve: error: cannot listen on unix:%s: address already in use "
            "(a server is listening there)\n" % socket_path))  # fmt: skip
        assert unix_get(socket_path).startswith(b"HTTP/1.1 200 ")  # the first one, untouched
    finally:
        first.stop()


def test_a_path_that_is_not_a_socket_is_refused(tmp_path: Path, socket_path: Path) -> None:
    socket_path.write_text("not mine to remove")
    result = refused("-b", "unix:" + str(socket_path), "-d", str(tmp_path))
    assert (result.returncode, result.stderr) == (1, (
        "devserve: error: cannot listen on unix:%s: the file exists and is not a socket\n"
        % socket_path))  # fmt: skip
    assert socket_path.read_text() == "not mine to remove"


def test_tls_on_a_unix_socket(
    tmp_path: Path, socket_path: Path, certificate: tuple[Path, Path]
) -> None:
    import ssl

    (tmp_path / "hello.txt").write_text("hello over tls")
    cert, key = certificate
    server = serve("-b", "unix:" + str(socket_path), "-d", str(tmp_path),
                   "--tls-cert", str(cert), "--tls-key", str(key))  # fmt: skip
    try:
        assert "Serving HTTPS on unix:%s (curl --unix-socket %s https://localhost/)" % (
            socket_path, socket_path) in server.stdout  # fmt: skip
        context = ssl.create_default_context(cafile=str(cert))
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as raw:
            raw.settimeout(TIMEOUT)
            raw.connect(str(socket_path))
            with context.wrap_socket(raw, server_hostname="localhost") as tls:
                tls.sendall(
                    b"GET /hello.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
                )
                answer = read_all(tls)
        assert answer.startswith(b"HTTP/1.1 200 ")
        assert answer.endswith(b"hello over tls")
    finally:
        status, _out, err = server.stop()
    assert status == 0, err


def test_open_says_a_browser_cannot_open_a_unix_socket(tmp_path: Path, socket_path: Path) -> None:
    server = serve("-b", "unix:" + str(socket_path), "-d", str(tmp_path), "--open")
    try:
        err = server.wait_for_stderr("Unix socket")
        assert "devserve: note: a web browser cannot open a Unix socket\n" in err
    finally:
        status, _out, err = server.stop()
    assert status == 0, err


PAGE = "<!doctype html><html><body><p>page</p></body></html>\n"
LIVE_SCRIPT = b'<script data-devserve="livereload">'


def unix_stream_hello(path: Path) -> bytes:
    """Open the live-reload event stream over the Unix socket; return its first event."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(TIMEOUT)
        sock.connect(str(path))
        sock.sendall(b"GET /__devserve__/livereload HTTP/1.1\r\nHost: localhost\r\n"
                     b"Accept: text/event-stream\r\nOrigin: http://localhost\r\n"
                     b"Sec-Fetch-Site: same-origin\r\n\r\n")  # fmt: skip
        data = b""
        while b"event: hello" not in data or not data.endswith(b"\n\n"):
            chunk = sock.recv(65536)
            assert chunk, data
            data += chunk
        return data


@pytest.mark.parametrize("mode", ["files", "app"])
def test_live_reload_mounts_and_proxies_on_a_unix_socket(
    tmp_path: Path, socket_path: Path, mode: str
) -> None:
    # The flags that hold connections open or make ones of their own, over AF_UNIX.
    (tmp_path / "index.html").write_text(PAGE)
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "a.css").write_text("p { color: red }")
    (tmp_path / "environ_app.py").write_text(ENVIRON_APP)
    (tmp_path / "backend" / "api").mkdir(parents=True)
    (tmp_path / "backend" / "api" / "b.txt").write_text("from the backend")
    backend = serve("0", "-b", "127.0.0.1", "-d", str(tmp_path / "backend"))
    root = ["-d", str(tmp_path)] if mode == "files" else ["--app", "environ_app:app"]
    server = serve("-b", "unix:" + str(socket_path), *root, "--livereload",
                   "--mount", "/m=%s" % (tmp_path / "assets"),
                   "--proxy", "/api=http://127.0.0.1:%d" % backend.port, cwd=tmp_path)  # fmt: skip
    try:
        assert unix_get(socket_path, "/m/a.css").endswith(b"\r\n\r\np { color: red }")
        proxied = unix_get(socket_path, "/api/b.txt")
        assert proxied.startswith(b"HTTP/1.1 200 "), proxied[:200]
        assert proxied.endswith(b"\r\n\r\nfrom the backend")
        if mode == "files":
            page = unix_get(socket_path, "/index.html")
            assert LIVE_SCRIPT in page
        else:
            assert unix_get(socket_path).endswith(b"VERSION ['localhost', '80', '']")
        assert b'"boot"' in unix_stream_hello(socket_path)
    finally:
        status, _out, err = server.stop()
        backend.stop()
    assert status == 0, err
    assert not socket_path.exists()
