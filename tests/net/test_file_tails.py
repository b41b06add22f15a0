"""Files that end responses, finished by the bounded server's I/O thread (Rule 2b).

A download's client that stops reading must cost the server a descriptor, not a
worker; a slow reader must still get every byte, on a connection kept alive; one that
reads nothing for the handler's ``timeout`` is dropped, with a log line.  Over real
sockets, with small client receive buffers as a hostile client would set them.
"""

from __future__ import annotations

import contextlib
import functools
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import devserve
from devserve.net.bounded import BoundedHTTPServer
from devserve.testing import ServerThread
from support.sockets import CLIENT_TIMEOUT, read_response

BIG = 8 * 2**20
WORKERS = 4


class Files(devserve.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 5.0

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "big.bin").write_bytes(os.urandom(BIG))
    (tmp_path / "hello.txt").write_bytes(b"hello\n")
    return tmp_path


def serve(handler: Any, **attributes: Any) -> ServerThread:
    attributes = {"threads": 2, "max_threads": WORKERS, "long_request": 0.2, **attributes}
    cls = type("Server", (BoundedHTTPServer,), attributes)
    return ServerThread(cls(("127.0.0.1", 0), handler)).start()


@pytest.fixture
def server(root: Path) -> Iterator[ServerThread]:
    running = serve(functools.partial(Files, directory=str(root)))
    yield running
    running.stop()


def small_client(running: ServerThread) -> socket.socket:
    """A connection with a 4 KiB receive buffer, set before connecting (as hostile clients do)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(CLIENT_TIMEOUT)
    sock.connect((running.host, running.port))
    return sock


def get(path: str, *fields: str) -> bytes:
    lines = ["GET %s HTTP/1.1" % path, "Host: a", *fields, "", ""]
    return "\r\n".join(lines).encode()


def timed_hello(running: ServerThread) -> float:
    started = time.monotonic()
    with socket.create_connection((running.host, running.port), timeout=CLIENT_TIMEOUT) as sock:
        sock.sendall(get("/hello.txt"))
        head, body = read_response(sock)
    assert head.startswith(b"HTTP/1.1 200")
    assert body == b"hello\n"
    return time.monotonic() - started


def test_clients_that_stop_reading_downloads_hold_no_worker(server: ServerThread) -> None:
    # Ten times the workers, each asking for 8 MiB and reading nothing: on a worker
    # each, they would hold the pool for the handler's 5 s timeout.
    stuck = [small_client(server) for _ in range(10 * WORKERS)]
    try:
        for sock in stuck:
            sock.sendall(get("/big.bin"))
        time.sleep(0.5)
        latencies = [timed_hello(server) for _ in range(5)]
        assert max(latencies) < 1.0, latencies
        assert server.server.thread_count <= WORKERS
        assert server.server.connection_count >= len(stuck)
    finally:
        for sock in stuck:
            sock.close()


def test_a_slow_reader_gets_every_byte_and_keeps_the_connection(
    server: ServerThread, root: Path
) -> None:
    expected = (root / "big.bin").read_bytes()
    with small_client(server) as sock:
        sock.sendall(get("/big.bin"))
        time.sleep(0.3)  # the socket fills: the rest is left to the I/O thread
        head, body = read_response(sock)
        assert head.startswith(b"HTTP/1.1 200")
        assert body == expected
        # The connection was parked behind the file: the next request is served.
        sock.sendall(get("/hello.txt"))
        assert read_response(sock)[1] == b"hello\n"


def test_a_range_is_handed_over_exactly(server: ServerThread, root: Path) -> None:
    expected = (root / "big.bin").read_bytes()[100:6_000_001]
    with small_client(server) as sock:
        sock.sendall(get("/big.bin", "Range: bytes=100-6000000"))
        time.sleep(0.3)
        head, body = read_response(sock)
    assert head.startswith(b"HTTP/1.1 206")
    assert body == expected


def test_connection_close_closes_after_the_file(server: ServerThread, root: Path) -> None:
    with small_client(server) as sock:
        sock.sendall(get("/big.bin", "Connection: close"))
        time.sleep(0.3)
        _head, body = read_response(sock)
        assert sock.recv(1) == b""  # closed once the file was sent
    assert body == (root / "big.bin").read_bytes()


def test_a_reader_that_stops_is_dropped_after_the_timeout(
    root: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    handler = type("Impatient", (Files,), {"timeout": 0.5})
    running = serve(functools.partial(handler, directory=str(root)))
    try:
        with small_client(running) as sock:
            sock.sendall(get("/big.bin"))
            assert sock.recv(12) == b"HTTP/1.1 200"  # then nothing more is read
            deadline = time.monotonic() + 3.0
            while running.server.connection_count and time.monotonic() < deadline:
                time.sleep(0.05)
            assert running.server.connection_count == 0
    finally:
        running.stop()
    assert "file response abandoned: the client read nothing for 0.5 s" in capfd.readouterr().err


def test_shutdown_lets_a_file_in_flight_finish(server: ServerThread, root: Path) -> None:
    with small_client(server) as sock:
        sock.sendall(get("/big.bin"))
        time.sleep(0.3)
        assert server.server.thread_count <= WORKERS
        stopping = threading.Thread(target=server.server.shutdown)
        stopping.start()
        _, body = read_response(sock)
        stopping.join(CLIENT_TIMEOUT)
    assert body == (root / "big.bin").read_bytes()


def file_app(path: Path) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> Any:
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return environ["wsgi.file_wrapper"](open(path, "rb"))

    return app


def test_a_wsgi_file_wrapper_is_handed_over(root: Path) -> None:
    server = devserve.make_server("127.0.0.1", 0, file_app(root / "big.bin"))
    server.threads, server.max_threads = 2, WORKERS
    running = ServerThread(server).start()
    stuck = [small_client(running) for _ in range(10 * WORKERS)]
    try:
        for sock in stuck:
            sock.sendall(get("/big.bin"))
        time.sleep(0.5)
        with small_client(running) as sock:
            started = time.monotonic()
            sock.sendall(get("/big.bin"))
            time.sleep(0.3)
            _, body = read_response(sock)
        assert body == (root / "big.bin").read_bytes()
        assert time.monotonic() - started < 3.0
        assert server.thread_count <= WORKERS
    finally:
        for sock in stuck:
            sock.close()
        running.stop()


def open_on(path: Path) -> int:
    """How many descriptors this process has open on *path*."""
    fds = Path("/proc/self/fd")
    return sum(1 for fd in fds.iterdir() if os.path.realpath(fd) == str(path))


def test_a_file_unsent_at_the_end_of_the_grace_is_closed(root: Path) -> None:
    running = serve(functools.partial(Files, directory=str(root)), graceful_timeout=0.5)
    with small_client(running) as sock:
        sock.sendall(get("/big.bin"))
        time.sleep(0.3)
        assert open_on(root / "big.bin") == 1  # the server's own descriptor, sending
        running.server.shutdown()
        assert running.server.connection_count == 0
        assert open_on(root / "big.bin") == 0
    running.stop()


def short_file_app(path: Path) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> Any:
        # Announces ten bytes more than the file has: the body will be short.
        start_response("200 OK", [("Content-Length", str(BIG + 10))])
        return environ["wsgi.file_wrapper"](open(path, "rb"))

    return app


def test_a_file_short_of_its_length_is_not_handed_over(root: Path) -> None:
    server = devserve.make_server("127.0.0.1", 0, short_file_app(root / "big.bin"))
    running = ServerThread(server).start()
    try:
        with small_client(running) as sock:
            sock.sendall(get("/"))
            time.sleep(0.3)
            received = b""
            with contextlib.suppress(ConnectionResetError):
                while chunk := sock.recv(1 << 20):
                    received += chunk
        body = received.partition(b"\r\n\r\n")[2]
        # At most what the file had: the connection is reset, never ended as if whole.
        assert 0 < len(body) <= BIG
        deadline = time.monotonic() + CLIENT_TIMEOUT
        while server.connection_count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.connection_count == 0
        assert open_on(root / "big.bin") == 0
    finally:
        running.stop()
