"""Quick answers: a small cached file's response, sent again by the server's I/O thread.

Over real sockets against the bounded server.  Which thread answered is observed
through the access log (a ``response_log`` that notes the thread writing each line):
the I/O thread is the one running ``serve_forever``; workers are the pool's, named
after the server class.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import devserve
from devserve.files.cache import FileCache
from devserve.handler.messages import ResponseRecord
from devserve.net.bounded import BoundedHTTPServer
from devserve.testing import ServerThread
from support.sockets import CLIENT_TIMEOUT, read_response

BODY = b"hello, quick world\n"


class Log:
    """A response log that keeps each record with the name of the thread that wrote it."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, ResponseRecord]] = []

    def write(self, record: ResponseRecord) -> None:
        self.lines.append((threading.current_thread().name, record))

    def threads(self) -> list[str]:
        # The pool names its workers after the server class; the I/O thread is the other.
        return ["worker" if name.startswith(WORKERS) else "io" for name, _ in self.lines]


WORKERS = "BoundedHTTPServer-"


def handler_class(root: Path, log: Log, **attributes: Any) -> type:
    attrs: dict[str, Any] = {
        "protocol_version": "HTTP/1.1",
        "default_directory": str(root),
        "file_cache": FileCache(),
        "response_log": log,
        "etags": True,
        "precompressed": True,
        "timeout": 5.0,
        **attributes,
    }
    return type("Files", (devserve.SimpleHTTPRequestHandler,), attrs)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "hello.txt").write_bytes(BODY)
    (tmp_path / "index.html").write_bytes(b"<p>index</p>")
    return tmp_path


def serve(handler: type) -> ServerThread:
    return ServerThread(BoundedHTTPServer(("127.0.0.1", 0), handler)).start()


@pytest.fixture
def log() -> Log:
    return Log()


@pytest.fixture
def server(root: Path, log: Log) -> Iterator[ServerThread]:
    running = serve(handler_class(root, log))
    yield running
    running.stop()


def connect(running: ServerThread) -> socket.socket:
    return socket.create_connection((running.host, running.port), timeout=CLIENT_TIMEOUT)


def request(path: str, *fields: str, method: str = "GET") -> bytes:
    return "\r\n".join(["%s %s HTTP/1.1" % (method, path), "Host: a", *fields, "", ""]).encode()


def without_date(head: bytes) -> list[bytes]:
    return [line for line in head.split(b"\r\n") if not line.startswith(b"Date: ")]


def exchange(sock: socket.socket, data: bytes, head_only: bool = False) -> tuple[bytes, bytes]:
    sock.sendall(data)
    return read_response(sock, head_only=head_only)


def settle(log: Log, count: int) -> None:
    deadline = time.monotonic() + CLIENT_TIMEOUT
    while len(log.lines) < count and time.monotonic() < deadline:
        time.sleep(0.01)


def test_a_repeated_request_is_answered_by_the_io_thread(server: ServerThread, log: Log) -> None:
    with connect(server) as sock:
        first = exchange(sock, request("/hello.txt"))
        second = exchange(sock, request("/hello.txt"))
    with connect(server) as sock:  # another connection, its very first request
        third = exchange(sock, request("/hello.txt"))
    settle(log, 3)
    assert first[1] == second[1] == third[1] == BODY
    assert without_date(first[0]) == without_date(second[0]) == without_date(third[0])
    assert log.threads() == ["worker", "io", "io"]
    for _, record in log.lines:
        assert (record.requestline, record.status) == ("GET /hello.txt HTTP/1.1", 200)
        assert record.sent == len(first[0]) + 4 + len(BODY)


def test_a_changed_file_is_served_new(server: ServerThread, log: Log, root: Path) -> None:
    with connect(server) as sock:
        exchange(sock, request("/hello.txt"))
        exchange(sock, request("/hello.txt"))
        changed = BODY.upper()  # the same size: only the version tells
        (root / "hello.txt").write_bytes(changed)
        os.utime(root / "hello.txt", ns=(1, 1_000_000_000))
        head, body = exchange(sock, request("/hello.txt"))
        assert body == changed
        assert b"Last-Modified: Thu, 01 Jan 1970 00:00:01 GMT" in head
        assert exchange(sock, request("/hello.txt"))[1] == changed
    settle(log, 4)
    assert log.threads() == ["worker", "io", "worker", "io"]


def test_a_precompressed_sibling_that_appears_is_chosen(
    server: ServerThread, log: Log, root: Path
) -> None:
    with connect(server) as sock:
        ask = request("/hello.txt", "Accept-Encoding: gzip")
        exchange(sock, ask)
        exchange(sock, ask)
        (root / "hello.txt.gz").write_bytes(b"gzipped")
        head, body = exchange(sock, ask)
    assert b"Content-Encoding: gzip" in head
    assert body == b"gzipped"
    settle(log, 3)
    assert log.threads() == ["worker", "io", "worker"]


def test_validators_and_a_range_are_answered_quickly(server: ServerThread, log: Log) -> None:
    with connect(server) as sock:
        etag = next(
            line.split(b": ", 1)[1].decode()
            for line in exchange(sock, request("/hello.txt"))[0].split(b"\r\n")
            if line.startswith(b"ETag: ")
        )
        conditional = request("/hello.txt", "If-None-Match: " + etag)
        ranged = request("/hello.txt", "Range: bytes=7-11")
        for ask in (conditional, conditional, ranged, ranged):
            head, body = exchange(sock, ask)
            if ask is conditional:
                assert head.startswith(b"HTTP/1.1 304 ")
            else:
                assert head.startswith(b"HTTP/1.1 206 ")
                assert body == BODY[7:12]
        head, _ = exchange(sock, request("/hello.txt", method="HEAD"), head_only=True)
        head, _ = exchange(sock, request("/hello.txt", method="HEAD"), head_only=True)
        assert b"Content-Length: %d" % len(BODY) in head
    settle(log, 7)
    assert log.threads() == ["worker", "worker", "io", "worker", "io", "worker", "io"]
    assert [record.status for _, record in log.lines] == [200, 304, 304, 206, 206, 200, 200]


def test_if_range_is_always_decided_by_a_worker(server: ServerThread, log: Log) -> None:
    ask = request("/hello.txt", "Range: bytes=0-4", "If-Range: Thu, 01 Jan 2099 00:00:00 GMT")
    with connect(server) as sock:
        for _ in range(3):
            exchange(sock, ask)
    settle(log, 3)
    assert log.threads() == ["worker", "worker", "worker"]


def test_connection_close_is_kept(server: ServerThread, log: Log) -> None:
    ask = request("/hello.txt", "Connection: close")
    for _ in range(2):
        with connect(server) as sock:
            _, body = exchange(sock, ask)
            assert body == BODY
            assert sock.recv(1) == b""
    settle(log, 2)
    assert log.threads() == ["worker", "io"]


def test_a_subclass_that_changes_the_answer_answers_every_time(root: Path, log: Log) -> None:
    class Stamped(handler_class(root, log)):  # type: ignore[misc]
        def end_headers(self) -> None:
            self.send_header("X-Request", self.path)
            super().end_headers()

    running = serve(Stamped)
    try:
        with connect(running) as sock:
            for _ in range(3):
                assert b"X-Request: /hello.txt" in exchange(sock, request("/hello.txt"))[0]
    finally:
        running.stop()
    settle(log, 3)
    assert log.threads() == ["worker", "worker", "worker"]


def test_a_fallback_page_is_not_remembered(root: Path, log: Log) -> None:
    running = serve(handler_class(root, log, spa_fallback="index.html"))
    try:
        with connect(running) as sock:
            for _ in range(2):
                assert exchange(sock, request("/app/page"))[1] == b"<p>index</p>"
            (root / "app").mkdir()
            (root / "app" / "page").write_bytes(b"real page")
            assert exchange(sock, request("/app/page"))[1] == b"real page"
    finally:
        running.stop()
    settle(log, 3)
    assert log.threads() == ["worker", "worker", "worker"]


def test_pipelined_requests_go_to_a_worker(server: ServerThread, log: Log) -> None:
    with connect(server) as sock:
        exchange(sock, request("/hello.txt"))
        sock.sendall(request("/hello.txt") * 2)
        both = b""
        while both.count(BODY) < 2:  # the two answers may come in one read
            chunk = sock.recv(65536)
            assert chunk, "closed before both answers"
            both += chunk
        assert both.count(b"HTTP/1.1 200 OK") == 2
    settle(log, 3)
    assert log.threads() == ["worker", "worker", "worker"]


def test_a_client_slow_to_read_a_quick_answer_gets_all_of_it(root: Path, log: Log) -> None:
    big = os.urandom(60_000)  # cached (64 KiB at most), more than the socket takes at once
    (root / "big.bin").write_bytes(big)
    running = serve(handler_class(root, log))
    try:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(CLIENT_TIMEOUT)
        sock.connect((running.host, running.port))
        with sock:
            assert exchange(sock, request("/big.bin"))[1] == big
            for _ in range(3):
                sock.sendall(request("/big.bin"))
                time.sleep(0.2)  # the rest waits in the server, not in a worker
                assert read_response(sock)[1] == big
    finally:
        running.stop()
    settle(log, 4)
    assert log.threads() == ["worker", "io", "io", "io"]


def test_a_request_with_a_body_is_never_answered_again(server: ServerThread, log: Log) -> None:
    # Answered by the server, the announced body would be read as the next request.
    smuggled = request("/index.html")
    head = request("/hello.txt", "Expect: 100-continue", "Content-Length: %d" % len(smuggled))
    for _ in range(2):
        with connect(server) as sock:
            sock.sendall(head)
            time.sleep(0.1)
            sock.sendall(smuggled)
            # 100 Continue, then the 200 (which may come before the body was sent).
            received = b""
            while not received.endswith(BODY):
                chunk = sock.recv(65536)
                assert chunk, received
                received += chunk
            assert received.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK")
            assert received.count(b"HTTP/1.1 200") == 1
            sock.settimeout(0.5)
            with pytest.raises(TimeoutError):
                sock.recv(1)  # nothing more: the body was a body
    settle(log, 2)
    assert log.threads() == ["worker", "worker"]
    assert [record.requestline for _, record in log.lines] == ["GET /hello.txt HTTP/1.1"] * 2


def test_a_client_that_stops_reading_answers_stops_nobody_else(root: Path, log: Log) -> None:
    (root / "page.txt").write_bytes(b"x" * 16000)
    running = serve(handler_class(root, log))
    hog = socket.socket()
    hog.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    hog.connect((running.host, running.port))
    try:
        for _ in range(300):  # answered by the I/O thread until the socket is full
            hog.send(request("/page.txt"))
            time.sleep(0.003)
        latencies = []
        for _ in range(4):
            started = time.monotonic()
            with connect(running) as sock:
                assert exchange(sock, request("/hello.txt", "Connection: close"))[1] == BODY
            latencies.append(time.monotonic() - started)
        assert max(latencies) < 1.0, latencies  # the handler's timeout is 5 s
    finally:
        hog.close()
        running.stop()
    assert log.threads().count("io") > 1


def test_an_index_page_that_appears_first_is_served(root: Path, log: Log) -> None:
    (root / "docs").mkdir()
    (root / "docs" / "index.htm").write_bytes(b"old index.htm")
    running = serve(handler_class(root, log))
    try:
        with connect(running) as sock:
            assert exchange(sock, request("/docs/"))[1] == b"old index.htm"
            assert exchange(sock, request("/docs/"))[1] == b"old index.htm"
            (root / "docs" / "index.html").write_bytes(b"new index.html")
            assert exchange(sock, request("/docs/"))[1] == b"new index.html"
    finally:
        running.stop()
    settle(log, 3)
    assert log.threads() == ["worker", "io", "worker"]


def test_an_answer_never_read_is_dropped_after_the_timeout(
    root: Path, log: Log, capfd: pytest.CaptureFixture[str]
) -> None:
    (root / "page.bin").write_bytes(os.urandom(60_000))
    running = serve(handler_class(root, log, timeout=1.0))
    try:
        with connect(running) as sock:
            exchange(sock, request("/page.bin"))
        hog = socket.socket()
        hog.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
        hog.connect((running.host, running.port))  # no handler has had it: no socket timeout
        with hog:
            with contextlib.suppress(OSError):  # closed by the server once it gives up
                for _ in range(300):  # answered until the socket is full, then waited on
                    hog.send(request("/page.bin"))
                    time.sleep(0.005)
            deadline = time.monotonic() + 4.0
            while running.server.connection_count and time.monotonic() < deadline:
                time.sleep(0.05)
            assert running.server.connection_count == 0
    finally:
        running.stop()
    assert log.threads()[:2] == ["worker", "io"]
    assert "the client read nothing for 1 s" in capfd.readouterr().err


class BrokenLog(Log):
    broken = False

    def write(self, record: ResponseRecord) -> None:
        super().write(record)
        if self.broken:
            raise BrokenPipeError(32, "the log's pipe is gone")


def test_a_failing_access_log_does_not_stop_the_server(root: Path) -> None:
    log = BrokenLog()
    running = serve(handler_class(root, log))
    try:
        with connect(running) as sock:
            exchange(sock, request("/hello.txt"))
            settle(log, 1)  # the line follows the response's last byte
            log.broken = True
            assert exchange(sock, request("/hello.txt"))[1] == BODY  # logged by the I/O thread
            log.broken = False
            assert exchange(sock, request("/index.html"))[1] == b"<p>index</p>"
    finally:
        running.stop()
    assert log.threads() == ["worker", "io", "worker"]


def test_a_cached_file_larger_than_the_memory_body_is_sent_whole(root: Path, log: Log) -> None:
    data = os.urandom(200_000)
    (root / "big.bin").write_bytes(data)
    running = serve(handler_class(root, log, file_cache=FileCache(max_file_size=1 << 20)))
    try:
        with connect(running) as sock:
            for _ in range(3):
                assert exchange(sock, request("/big.bin"))[1] == data
    finally:
        running.stop()
    settle(log, 3)
    assert log.threads() == ["worker", "io", "io"]
