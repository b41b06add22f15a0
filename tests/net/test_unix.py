"""Servers on a Unix socket: the path bound, a stale file replaced, a live one refused.

Each server here binds a path in a fresh directory (the ``socket_path`` fixture) and
is asked over a real ``AF_UNIX`` connection; the file system is checked after.
"""

from __future__ import annotations

import errno
import functools
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

import devserve
from devserve.net.bounded import BoundedHTTPServer
from devserve.net.unix import peer_host, remote_addr
from devserve.wsgi.server import WSGIServer
from support.sockets import CLIENT_TIMEOUT, QuietHandler, unix_get
from support.wsgi import QuietWSGIHandler

SERVERS = [devserve.HTTPServer, devserve.ThreadingHTTPServer, BoundedHTTPServer]


class Hello(QuietHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = ("hello %s" % self.address_string()).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def serving(server: Any) -> Iterator[Any]:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(CLIENT_TIMEOUT)


def stale_socket(path: Path) -> None:
    """Leave a socket file nobody listens on, as a killed server does."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.bind(str(path))


@pytest.mark.parametrize("server_class", SERVERS, ids=lambda c: c.__name__)
def test_a_path_binds_a_unix_socket_removed_on_close(server_class: Any, socket_path: Path) -> None:
    with serving(server_class(str(socket_path), Hello)) as server:
        assert server.socket.family == socket.AF_UNIX
        assert socket_path.is_socket()
        assert (server.server_name, server.server_port) == ("localhost", 80)
        assert unix_get(socket_path).endswith(b"\r\n\r\nhello unix:")
    assert not socket_path.exists()


def test_a_stale_socket_file_is_replaced(socket_path: Path) -> None:
    stale_socket(socket_path)
    with serving(BoundedHTTPServer(str(socket_path), Hello)):
        assert unix_get(socket_path).startswith(b"HTTP/1.1 200 ")
    assert not socket_path.exists()


def test_a_live_socket_is_address_in_use_and_keeps_serving(socket_path: Path) -> None:
    with serving(BoundedHTTPServer(str(socket_path), Hello)):
        with pytest.raises(OSError, match="in use") as raised:
            BoundedHTTPServer(str(socket_path), Hello)
        assert raised.value.errno == errno.EADDRINUSE
        # The refused server removed nothing: the first one still answers.
        assert unix_get(socket_path).startswith(b"HTTP/1.1 200 ")


def test_a_path_that_is_not_a_socket_is_refused_and_kept(socket_path: Path) -> None:
    socket_path.write_text("precious")
    with pytest.raises(OSError, match="not a socket") as raised:
        BoundedHTTPServer(str(socket_path), Hello)
    assert raised.value.errno == errno.EEXIST
    assert socket_path.read_text() == "precious"


def test_a_file_another_server_took_over_is_not_removed(socket_path: Path) -> None:
    first = BoundedHTTPServer(str(socket_path), Hello)
    socket_path.unlink()  # as an administrator might, to start another server there
    with serving(BoundedHTTPServer(str(socket_path), Hello)):
        first.server_close()
        assert unix_get(socket_path).startswith(b"HTTP/1.1 200 ")


def test_the_socket_handed_to_another_server_is_not_removed_by_it(socket_path: Path) -> None:
    # The reloader's child adopts its parent's socket; restarting it keeps the file.
    with serving(BoundedHTTPServer(str(socket_path), Hello)) as parent:
        child = BoundedHTTPServer(str(socket_path), Hello, bind_and_activate=False)
        child.adopt_socket(parent.socket.dup())
        child.server_close()
        assert socket_path.is_socket()
        assert unix_get(socket_path).startswith(b"HTTP/1.1 200 ")


def environ_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    keys = ("SERVER_NAME", "SERVER_PORT", "REMOTE_ADDR", "REMOTE_PORT")
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [repr([environ[key] for key in keys]).encode()]


def test_wsgi_environ_on_a_unix_socket(socket_path: Path) -> None:
    server = WSGIServer(str(socket_path), QuietWSGIHandler)
    server.set_app(environ_app)
    with serving(server):
        answer = unix_get(socket_path)
    assert answer.endswith(b"['localhost', '80', '', '']")


@pytest.mark.parametrize(
    ("client_address", "logged", "remote"),
    [(("127.0.0.1", 5000), "127.0.0.1", "127.0.0.1"), ("", "unix:", ""),
     (b"", "unix:", ""), ("/tmp/client.sock", "unix:", "")],
    ids=["tcp", "unix-unnamed", "unix-bytes", "unix-named"],
)  # fmt: skip
def test_peer_names(client_address: Any, logged: str, remote: str) -> None:
    assert (peer_host(client_address), remote_addr(client_address)) == (logged, remote)


class QuietFiles(devserve.SimpleHTTPRequestHandler):
    timeout = 0.5  # how long a client may read nothing of a file's tail

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_a_stalled_unix_client_is_logged_and_the_server_serves_on(
    socket_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The I/O thread names the client of a stalled file tail in its log line: a Unix
    # socket's peer has no address tuple, which once stopped the I/O thread.
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "big.bin").write_bytes(b"x" * (8 << 20))
    handler = functools.partial(QuietFiles, directory=str(tmp_path / "www"))
    with serving(BoundedHTTPServer(str(socket_path), handler)):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as stuck:
            stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            stuck.connect(str(socket_path))
            stuck.sendall(b"GET /big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n")
            deadline = time.monotonic() + 10
            while "file response abandoned" not in capsys.readouterr().err:
                assert time.monotonic() < deadline, "the stalled client was never let go"
                time.sleep(0.1)
        answer = unix_get(socket_path, "/big.bin")
        assert answer.startswith(b"HTTP/1.0 200 ")
        assert answer.endswith(b"x" * 1000)
