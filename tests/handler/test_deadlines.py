"""Deadlines on a request body, a response write and the drain, over real sockets.

The head and idle deadlines are in ``tests/net/test_slow_clients.py``; these are
the waits on a client that happen while a handler runs, or after it returns.
"""

from __future__ import annotations

import contextlib
import select
import socket
import time
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

import devserve
from devserve.testing import ServerThread
from support.sockets import CLIENT_TIMEOUT, read_all

BIG = 1 << 20


class Handler(devserve.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 0.4
    drain_timeout = 0.8
    finished: ClassVar[list[float]] = []

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def setup(self) -> None:
        # A small send buffer: the kernel must not absorb a megabyte for the client.
        self.request.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16384)
        super().setup()

    def finish(self) -> None:
        super().finish()
        type(self).finished.append(time.monotonic())

    def reply(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.reply(b"got %d" % len(self.rfile.read(length)))

    def do_GET(self) -> None:
        if self.path == "/big":
            self.reply(b"x" * BIG)
        elif self.path == "/app-timeout":
            raise TimeoutError("the database did not answer")
        else:
            self.reply(b"hello")


@pytest.fixture
def server() -> Iterator[Any]:
    Handler.finished = []
    running = ServerThread(devserve.ThreadingHTTPServer(("127.0.0.1", 0), Handler)).start()
    yield running
    running.stop()


def connect(running: Any, receive_buffer: int | None = None) -> socket.socket:
    sock = socket.socket()
    if receive_buffer is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.settimeout(CLIENT_TIMEOUT)
    sock.connect((running.host, running.port))
    return sock


def test_a_body_that_stops_arriving_gets_408(server: Any) -> None:
    with connect(server) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nab")
        started = time.monotonic()
        answer = read_all(sock)
        elapsed = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:80]
    assert Handler.timeout <= elapsed < Handler.timeout + 1.5


def test_a_body_that_arrives_in_steps_is_read_whole(server: Any) -> None:
    with connect(server) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n")
        for _ in range(10):  # 10 x 0.1 s: longer than the timeout, never idle that long
            time.sleep(0.1)
            sock.sendall(b"x")
        sock.shutdown(socket.SHUT_WR)
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 200 "), answer
    assert answer.endswith(b"got 10"), answer


def test_an_applications_own_timeout_is_a_500(server: Any) -> None:
    with connect(server) as sock:
        sock.sendall(b"GET /app-timeout HTTP/1.1\r\nHost: a\r\n\r\n")
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 500 "), answer[:80]


def test_a_slow_but_steady_reader_gets_the_whole_response(server: Any) -> None:
    with connect(server, receive_buffer=16384) as sock:
        sock.sendall(b"GET /big HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        received = bytearray()
        started = time.monotonic()
        while chunk := sock.recv(65536):
            received += chunk
            time.sleep(0.01)  # paced: the whole response takes longer than the timeout
        elapsed = time.monotonic() - started
    head, _, body = bytes(received).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert len(body) == BIG
    assert elapsed > Handler.timeout  # a per-call timeout would have cut it off


def test_a_client_that_stops_reading_frees_its_worker(server: Any) -> None:
    with connect(server, receive_buffer=16384) as sock:
        sock.sendall(b"GET /big HTTP/1.1\r\nHost: a\r\n\r\n")
        started = time.monotonic()
        deadline = started + Handler.timeout + 3.0
        while not Handler.finished and time.monotonic() < deadline:
            time.sleep(0.05)
        assert Handler.finished, "the handler still waits on a client that reads nothing"
        assert Handler.finished[0] - started >= Handler.timeout


def test_a_trickled_unread_body_closes_at_the_drain_deadline(server: Any) -> None:
    with connect(server) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n")
        started = time.monotonic()
        answer = sock.recv(4096)
        assert answer.endswith(b"hello"), answer
        # One byte per 0.1 s: always within the read timeout, 10 s for the whole body.
        with contextlib.suppress(OSError):
            while not readable(sock) and time.monotonic() - started < 5:
                sock.sendall(b"x")
                time.sleep(0.1)
        assert sock.recv(1) == b"", "the connection is still open"
        elapsed = time.monotonic() - started
    assert Handler.drain_timeout <= elapsed < Handler.drain_timeout + 1.5


def readable(sock: socket.socket) -> bool:
    return bool(select.select([sock], [], [], 0)[0])


def test_a_body_sent_late_but_in_time_keeps_the_connection(server: Any) -> None:
    with connect(server) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n")
        first = sock.recv(4096)
        time.sleep(Handler.drain_timeout / 4)
        sock.sendall(b"12345GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        rest = read_all(sock)
    answers = (first + rest).count(b"HTTP/1.1 200 ")
    assert answers == 2, first + rest


def test_the_drop_in_defaults_wait_as_the_stdlib_does() -> None:
    assert devserve.BaseHTTPRequestHandler.drain_timeout is None
    assert devserve.BaseHTTPRequestHandler.timeout is None
    assert devserve.WSGIHandler.drain_timeout is not None
