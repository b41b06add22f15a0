"""Faults over real sockets: resets, TLS on a plain port, changing files, hanging apps.

After each fault the server answers the next request, and a soak of the same fault
leaves no thread, file descriptor or Python object behind.
"""

from __future__ import annotations

import gc
import os
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

import devserve
from devserve.net.bounded import BoundedHTTPServer
from devserve.testing import ServerThread
from support.sockets import CLIENT_TIMEOUT, read_all

_RESET = struct.pack("ii", 1, 0)
BIG = 4 << 20


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def reset(sock: socket.socket) -> None:
    """Close with a TCP reset, as a client that crashes or is killed does."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET)
    sock.close()


def connect(server: ServerThread) -> socket.socket:
    return socket.create_connection((server.host, server.port), timeout=CLIENT_TIMEOUT)


def get_status(server: ServerThread, path: str = "/") -> int:
    with connect(server) as sock:
        sock.sendall(b"GET %s HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n" % path.encode())
        answer = read_all(sock)
    return int(answer[9:12])


class Handler(devserve.SimpleHTTPRequestHandler):
    """Files, plus /upload (reads the body) and /stream (a long response in pieces)."""

    protocol_version = "HTTP/1.1"
    strict_parsing = True
    idle_timeout = 5.0
    head_timeout = 2.0
    messages: ClassVar[list[str]] = []

    def log_message(self, format: str, *args: Any) -> None:
        self.messages.append(format % args)

    def do_POST(self) -> None:
        body = self.read_body()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path != "/stream":
            super().do_GET()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(BIG))
        self.end_headers()
        piece = b"x" * 65536
        for _ in range(BIG // len(piece)):
            self.wfile.write(piece)


@pytest.fixture
def docroot(tmp_path: Path) -> Path:
    (tmp_path / "index.html").write_text("<p>hello</p>")
    (tmp_path / "big.bin").write_bytes(b"b" * BIG)
    return tmp_path


SERVER_CLASSES = {"threading": devserve.ThreadingHTTPServer, "bounded": BoundedHTTPServer}


@pytest.fixture(params=sorted(SERVER_CLASSES))
def files_server(request: Any, docroot: Path) -> Iterator[ServerThread]:
    directory = str(docroot)

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        Handler.__init__(self, *args, directory=directory, **kwargs)

    handler = type("FaultHandler", (Handler,), {"__init__": init, "messages": []})
    # Idle workers leave at once, so a soak can count threads coming back down.
    server_class = type("Server", (SERVER_CLASSES[request.param],), {"worker_idle_timeout": 0.1})
    server = server_class(("127.0.0.1", 0), handler)
    with ServerThread(server) as running:
        yield running


def soak(server: ServerThread, fault: Callable[[], None], rounds: int = 20) -> None:
    """Run *fault* again and again; nothing may pile up, and the server keeps answering."""
    for _ in range(3):  # warm up: worker threads, caches, lazily built objects
        fault()
        assert get_status(server) == 200
    time.sleep(0.1)
    gc.collect()
    fds, threads, objects = open_fds(), threading.active_count(), len(gc.get_objects())
    for _ in range(rounds):
        fault()
        assert get_status(server) == 200
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and (open_fds() > fds or threading.active_count() > threads):
        time.sleep(0.02)
    gc.collect()
    assert open_fds() <= fds
    assert threading.active_count() <= threads
    assert len(gc.get_objects()) - objects < 50 * rounds // 10


def test_reset_mid_headers(files_server: ServerThread) -> None:
    def fault() -> None:
        sock = connect(files_server)
        sock.sendall(b"GET / HTTP/1.1\r\nHost: a\r\nX-Half: ")
        time.sleep(0.01)
        reset(sock)

    soak(files_server, fault)


def test_reset_mid_body(files_server: ServerThread) -> None:
    def fault() -> None:
        sock = connect(files_server)
        sock.sendall(b"POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n")
        sock.sendall(b"y" * 5000)
        time.sleep(0.01)
        reset(sock)

    soak(files_server, fault)
    assert not any(
        "Traceback" in message for message in files_server.server.RequestHandlerClass.messages
    )


@pytest.mark.parametrize("path", ["/stream", "/big.bin"], ids=["writes", "sendfile"])
def test_reset_mid_response(files_server: ServerThread, path: str) -> None:
    def fault() -> None:
        sock = connect(files_server)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.sendall(b"GET %s HTTP/1.1\r\nHost: a\r\n\r\n" % path.encode())
        assert sock.recv(4096).startswith(b"HTTP/1.1 200 ")
        reset(sock)

    soak(files_server, fault, rounds=10)


def test_tls_to_a_plain_port_gets_one_clear_line_and_400(files_server: ServerThread) -> None:
    messages = files_server.server.RequestHandlerClass.messages
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    started = time.monotonic()
    with connect(files_server) as raw, pytest.raises(ssl.SSLError):
        context.wrap_socket(raw, server_hostname="localhost")
    assert time.monotonic() - started < 1.5  # not the head deadline: at once
    with connect(files_server) as sock:
        sock.sendall(b"\x16\x03\x01\x00\x05\x01\x00\x00\x01\x00")
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 400 Bad Request: TLS handshake on a plain HTTP port\r\n")
    assert sum("TLS handshake" in message for message in messages) == 2
    assert get_status(files_server) == 200


def test_garbage_after_a_valid_request(files_server: ServerThread) -> None:
    with connect(files_server) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n\x00\xff\xfe garbage \x7f\r\n\r\n")
        sock.shutdown(socket.SHUT_WR)
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert answer.count(b"HTTP/1.1 ") == 2
    assert b"HTTP/1.1 400 " in answer
    assert get_status(files_server) == 200


@pytest.mark.parametrize("change", ["truncate", "delete", "chmod"])
def test_file_changed_while_sent(files_server: ServerThread, docroot: Path, change: str) -> None:
    # Larger than any socket buffers, so most of it is still unsent when it changes.
    path = docroot / "huge.bin"
    size = 128 << 20
    with open(path, "wb") as f:
        f.truncate(size)
    with connect(files_server) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        sock.sendall(b"GET /huge.bin HTTP/1.1\r\nHost: a\r\n\r\n")
        first = sock.recv(4096)
        assert first.startswith(b"HTTP/1.1 200 ")
        if change == "truncate":
            os.truncate(path, 100000)
        elif change == "delete":
            path.unlink()
        else:
            path.chmod(0)
        received = len(first.partition(b"\r\n\r\n")[2])
        while len(chunk := sock.recv(1 << 20)):
            received += len(chunk)
            if received == size:
                break
    if change == "truncate":
        # A short body, then the close that tells the client so (never a hang).
        assert received < size
    else:
        assert received == size  # the open file is still whole
    assert get_status(files_server) == 200
    assert get_status(files_server, "/huge.bin") in (403, 404, 200)


def test_a_blocked_app_does_not_stop_the_others() -> None:
    release = threading.Event()

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        if environ["PATH_INFO"] == "/block":
            release.wait(CLIENT_TIMEOUT * 2)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    handler = type("Quiet", (devserve.WSGIHandler,), {"log_message": lambda *a: None})
    server = devserve.make_server("127.0.0.1", 0, app, handler_class=handler)
    with ServerThread(server) as running:
        blocked = [connect(running) for _ in range(3)]
        for sock in blocked:
            sock.sendall(b"GET /block HTTP/1.1\r\nHost: a\r\n\r\n")
        started = time.monotonic()
        for _ in range(20):
            assert get_status(running) == 200
        assert time.monotonic() - started < 2
        release.set()
        for sock in blocked:
            assert sock.recv(100).startswith(b"HTTP/1.1 200 ")
            sock.close()
