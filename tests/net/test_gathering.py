"""Request bodies gathered by the bounded server's I/O thread, over real sockets.

A body without ``Expect`` is read before a worker is taken, so stalled uploads cost no
thread; a body that stops arriving past the handler's ``timeout`` gets 408.
"""

from __future__ import annotations

import os
import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import devserve
from devserve.http11 import DEFAULT_LIMITS
from devserve.net.bounded import BoundedHTTPServer, BoundedHTTPSServer
from devserve.testing import ServerThread
from support.sockets import CLIENT_TIMEOUT, connect, read_all, timed_get

GET = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"


class Echo(devserve.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    strict_parsing = True
    idle_timeout = 5.0
    head_timeout = 2.0
    timeout = 1.0
    seen: list[bytes] = []  # noqa: RUF012  # what the handlers read, in order

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.read_body()
        type(self).seen.append(body)
        self.reply(b"got %d" % len(body))

    def do_GET(self) -> None:
        self.reply(b"hello")

    def reply(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def server() -> Iterator[Any]:
    Echo.seen = []
    running = ServerThread(BoundedHTTPServer(("127.0.0.1", 0), Echo)).start()
    yield running
    running.stop()


def post(length: int, sent: bytes) -> bytes:
    return b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n%s" % (length, sent)


def test_stalled_uploads_hold_no_worker(server: Any) -> None:
    stalled = [connect(server) for _ in range(150)]
    try:
        for sock in stalled:
            sock.sendall(post(100, b"ab"))
        time.sleep(0.3)
        assert timed_get(server) < 0.3
        assert server.server.thread_count <= BoundedHTTPServer.threads
        assert Echo.seen == []  # no handler has run for them
    finally:
        for sock in stalled:
            sock.close()


def test_a_stalled_upload_gets_408_at_the_progress_deadline(server: Any) -> None:
    with connect(server) as sock:
        sock.sendall(post(100, b"ab"))
        started = time.monotonic()
        answer = read_all(sock)
        elapsed = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:80]
    assert Echo.timeout <= elapsed < Echo.timeout + 1.0
    assert Echo.seen == []  # the handler was told, it never saw a short body


def test_a_body_never_sent_is_waited_for_once_then_the_connection_closes(server: Any) -> None:
    # The handler does not read the body, so it answers; the drain fails at once,
    # since the body's deadline has passed already, and the connection closes.
    with connect(server) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n")
        started = time.monotonic()
        answer = read_all(sock)
        elapsed = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:80]
    assert answer.endswith(b"hello")
    assert Echo.timeout <= elapsed < Echo.timeout + 1.0


def test_a_slow_steady_upload_is_gathered_whole(server: Any) -> None:
    with connect(server) as sock:
        sock.sendall(post(8, b""))
        for byte in b"abcdefgh":  # 8 x 0.2 s: longer than the timeout, never idle that long
            time.sleep(0.2)
            sock.sendall(bytes([byte]))
        answer = sock.recv(4096)
    assert answer.endswith(b"got 8"), answer
    assert Echo.seen == [b"abcdefgh"]


def test_a_body_and_the_next_request_in_one_send_are_both_served(server: Any) -> None:
    chunked = (
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
    )
    with connect(server) as sock:
        sock.sendall(post(5, b"hello") + chunked + GET)
        answer = b""
        while answer.count(b"HTTP/1.1 200 ") < 3 or not answer.endswith(b"hello"):
            answer += sock.recv(65536)
    assert Echo.seen == [b"hello", b"abc"]


def test_a_body_larger_than_the_buffer_is_read_by_the_handler(server: Any) -> None:
    size = BoundedHTTPServer.body_buffer_size * 4
    with connect(server) as sock:
        sock.sendall(post(size, b""))
        for _ in range(4):
            time.sleep(0.1)
            sock.sendall(b"x" * BoundedHTTPServer.body_buffer_size)
        answer = sock.recv(4096)
    assert answer.endswith(b"got %d" % size), answer
    assert Echo.seen == [b"x" * size]


def test_expect_100_continue_is_still_answered_before_the_body(server: Any) -> None:
    with connect(server) as sock:
        sock.sendall(
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
        )
        assert sock.recv(4096) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b"hello")
        answer = sock.recv(4096)
    assert answer.endswith(b"got 5"), answer


def test_tls_bodies_are_gathered_too(certificate: tuple[Path, Path]) -> None:
    Echo.seen = []
    cert, key = certificate
    server = BoundedHTTPSServer(("127.0.0.1", 0), Echo, certfile=str(cert), keyfile=str(key))
    running = ServerThread(server).start()
    context = ssl.create_default_context(cafile=str(cert))
    try:
        stalled = [
            context.wrap_socket(connect(running), server_hostname="localhost") for _ in range(30)
        ]
        for sock in stalled:
            sock.sendall(post(100, b"ab"))
        with context.wrap_socket(connect(running), server_hostname="localhost") as sock:
            sock.sendall(post(5, b"hello"))
            assert sock.recv(4096).endswith(b"got 5")
        assert running.server.thread_count <= BoundedHTTPServer.threads
        answers = [read_all(sock) for sock in stalled]
        assert all(answer.startswith(b"HTTP/1.1 408 ") for answer in answers), answers[0]
        assert Echo.seen == [b"hello"]
        for sock in stalled:
            sock.close()
    finally:
        running.stop()


class Spooling(Echo):
    # A bounded body: what lets the server spool past its memory buffer.
    limits = DEFAULT_LIMITS.replace(max_body_size=8 << 20)


def spooling_server(**attributes: Any) -> ServerThread:
    Echo.seen = []
    cls = type("Server", (BoundedHTTPServer,), attributes)
    return ServerThread(cls(("127.0.0.1", 0), Spooling)).start()


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_stalled_large_uploads_are_spooled_and_hold_no_worker() -> None:
    running = spooling_server(threads=2, max_threads=4, long_request=0.2)
    stalled = [connect(running) for _ in range(20)]
    try:
        for sock in stalled:
            sock.sendall(post(1 << 20, b"x" * (900 << 10)))  # then nothing more
        time.sleep(0.5)
        latencies = [timed_get(running) for _ in range(5)]
        assert max(latencies) < 0.5, latencies
        assert running.server.thread_count <= 4
    finally:
        for sock in stalled:
            sock.close()
        running.stop()
    assert Echo.seen == []  # no handler read a partial body


def test_a_spooled_body_arrives_whole_before_the_next_request() -> None:
    body = os.urandom(3 << 20)
    running = spooling_server()
    try:
        timed_get(running)  # serving: its poller and wake-up pair are open
        deadline = time.monotonic() + CLIENT_TIMEOUT
        while running.server.connection_count and time.monotonic() < deadline:
            time.sleep(0.02)
        before = open_fds()
        with connect(running) as sock:
            sock.sendall(post(len(body), body) + GET)
            answers = b""
            while not answers.endswith(b"hello"):
                chunk = sock.recv(4096)
                assert chunk, answers
                answers += chunk
        assert b"got %d" % len(body) in answers
        assert Echo.seen == [body]
        deadline = time.monotonic() + CLIENT_TIMEOUT
        while open_fds() > before and time.monotonic() < deadline:
            time.sleep(0.02)  # the connection's socket closes once the server sees the end
        assert open_fds() <= before  # the spool is closed (and so deleted)
    finally:
        running.stop()


def test_a_chunked_upload_is_spooled_whole() -> None:
    pieces = [os.urandom(50_000) for _ in range(40)]
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces) + b"0\r\n\r\n"
    head = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
    running = spooling_server()
    try:
        with connect(running) as sock:
            sock.sendall(head + chunked[:100_000])
            time.sleep(0.2)
            sock.sendall(chunked[100_000:])
            assert sock.recv(4096).endswith(b"got %d" % (50_000 * 40))
        assert Echo.seen == [b"".join(pieces)]
    finally:
        running.stop()


def test_a_chunked_upload_over_the_limit_is_413() -> None:
    running = spooling_server()
    piece = b"y" * 65536
    try:
        with connect(running) as sock:
            sock.sendall(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")
            try:
                for _ in range(140):  # 8.75 MiB, over the 8 MiB limit
                    sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
            except (BrokenPipeError, ConnectionResetError):
                pass  # answered and closed before the rest was sent
            answer = read_all(sock)
        assert answer.startswith(b"HTTP/1.1 413 "), answer[:80]
        assert Echo.seen == []
    finally:
        running.stop()
