"""Slow, idle and many clients against the bounded server, over real sockets.

Each test is bounded to a few seconds: deadlines and timeouts are set short on the
handler classes, and the load (hundreds of connections) comes from this process.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import devserve
from devserve.net.bounded import BoundedHTTPServer, BoundedHTTPSServer
from devserve.testing import ServerThread
from support.sockets import CLIENT_TIMEOUT, connect, read_all, timed_get

REQUEST = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"


class Hello(devserve.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    strict_parsing = True
    idle_timeout = 2.0
    head_timeout = 1.5

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        if self.path == "/slow":
            time.sleep(1.0)
        body = b"hello"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def serve(handler: type = Hello, server_class: type = BoundedHTTPServer, **attributes: Any) -> Any:
    cls = type("Server", (server_class,), attributes)
    return ServerThread(cls(("127.0.0.1", 0), handler)).start()


@pytest.fixture
def server() -> Iterator[Any]:
    running = serve()
    yield running
    running.stop()


def test_tricklers_do_not_delay_a_normal_client(server: Any) -> None:
    tricklers = [connect(server) for _ in range(200)]
    try:
        for sock in tricklers:
            sock.sendall(b"G")
        latencies = []
        for step in range(10):
            for sock in tricklers:
                sock.sendall(b"ET / HTTP/1.1\r\n"[step : step + 1])
            latencies.append(timed_get(server))
            time.sleep(0.05)
        assert max(latencies) < 0.3, latencies
        assert server.server.thread_count <= BoundedHTTPServer.threads
    finally:
        for sock in tricklers:
            sock.close()


def test_the_head_deadline_answers_408_under_load(server: Any) -> None:
    tricklers = [connect(server) for _ in range(50)]
    started = time.monotonic()
    for sock in tricklers:
        sock.sendall(b"GET / HTTP/1.1\r\nHost")
    answers = [read_all(sock) for sock in tricklers]
    elapsed = time.monotonic() - started
    for sock in tricklers:
        sock.close()
    assert all(answer.startswith(b"HTTP/1.1 408 ") for answer in answers)
    assert Hello.head_timeout <= elapsed < Hello.head_timeout + 1.0
    assert timed_get(server) < 0.3


def test_idle_connections_hold_no_thread_and_time_out(server: Any) -> None:
    idle = [connect(server) for _ in range(300)]
    for sock in idle:
        sock.sendall(REQUEST)
    for sock in idle:
        assert sock.recv(4096).endswith(b"hello")
    assert server.server.connection_count == 300
    assert server.server.thread_count <= BoundedHTTPServer.threads
    # Each idle connection still works, then is closed after idle_timeout.
    idle[0].sendall(REQUEST)
    assert idle[0].recv(4096).endswith(b"hello")
    started = time.monotonic()
    assert all(read_all(sock) == b"" for sock in idle)
    assert time.monotonic() - started < Hello.idle_timeout + 1.0
    deadline = time.monotonic() + 1
    while server.server.connection_count and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.server.connection_count == 0
    for sock in idle:
        sock.close()


def test_pipelined_requests_in_the_buffer_are_served(server: Any) -> None:
    with connect(server) as sock:
        sock.sendall(REQUEST * 3)
        answer = b""
        while answer.count(b"hello") < 3:
            answer += sock.recv(65536)
        assert answer.count(b"HTTP/1.1 200 ") == 3


def test_a_client_past_the_connection_limit_gets_503() -> None:
    running = serve(connection_limit=5)
    try:
        held = [connect(running) for _ in range(5)]
        for sock in held:
            sock.sendall(REQUEST)
            assert sock.recv(4096).endswith(b"hello")
        started = time.monotonic()
        with connect(running) as extra:
            extra.sendall(REQUEST)
            answer = read_all(extra)
        assert answer.startswith(b"HTTP/1.1 503 ")
        assert b"Retry-After: 1\r\n" in answer
        assert time.monotonic() - started < 0.5
        held[0].close()
        time.sleep(0.1)
        assert timed_get(running) < 0.3
        for sock in held[1:]:
            sock.close()
    finally:
        running.stop()


def test_long_requests_get_threads_of_their_own() -> None:
    running = serve(threads=2, long_request=0.2)
    try:
        slow = [connect(running) for _ in range(4)]
        for sock in slow:
            sock.sendall(b"GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
        time.sleep(0.05)
        # Both ordinary workers are taken; the pool grows once they count as long.
        assert timed_get(running) < 0.6
        for sock in slow:
            assert sock.recv(4096).endswith(b"hello")
            sock.close()
        assert running.server.thread_count <= 2 + 4
    finally:
        running.stop()


def test_tls_bytes_already_decrypted_are_seen(certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    cls = type("Server", (BoundedHTTPSServer,), {})
    running = ServerThread(
        cls(("127.0.0.1", 0), Hello, certfile=str(cert), keyfile=str(key))
    ).start()
    try:
        context = ssl.create_default_context(cafile=str(cert))
        with context.wrap_socket(connect(running), server_hostname="localhost") as sock:
            # Three requests in one TLS record: after the first, the other two wait
            # decrypted in the TLS layer (pending()), where a selector cannot see them.
            sock.sendall(REQUEST * 3)
            answer = b""
            while answer.count(b"hello") < 3:
                answer += sock.recv(65536)
            sock.sendall(REQUEST)
            assert sock.recv(4096).endswith(b"hello")
    finally:
        running.stop()


def serve_tls(certificate: tuple[Path, Path], **attributes: Any) -> Any:
    cert, key = certificate
    cls = type("Server", (BoundedHTTPSServer,), attributes)
    return ServerThread(cls(("127.0.0.1", 0), Hello, certfile=str(cert), keyfile=str(key))).start()


def tls_get(running: Any, cert: Path) -> float:
    started = time.monotonic()
    context = ssl.create_default_context(cafile=str(cert))
    with context.wrap_socket(connect(running), server_hostname="localhost") as sock:
        sock.sendall(REQUEST)
        assert sock.recv(4096).endswith(b"hello")
    return time.monotonic() - started


# The first bytes of a TLS record carrying a ClientHello: the handshake never completes.
CLIENT_HELLO_START = b"\x16\x03\x01\x02\x00"


def test_stalled_tls_handshakes_hold_no_worker(certificate: tuple[Path, Path]) -> None:
    running = serve_tls(certificate, handshake_timeout=1.0)
    stalled = [connect(running) for _ in range(150)]
    try:
        for sock in stalled:
            sock.sendall(CLIENT_HELLO_START)
        time.sleep(0.2)
        assert tls_get(running, certificate[0]) < 0.5
        assert running.server.thread_count <= BoundedHTTPServer.threads
        started = time.monotonic()
        assert all(read_all(sock) == b"" for sock in stalled)  # closed at the deadline
        assert time.monotonic() - started < 1.0 + 1.0
    finally:
        for sock in stalled:
            sock.close()
        running.stop()


def test_tls_heads_are_read_without_a_worker(certificate: tuple[Path, Path]) -> None:
    running = serve_tls(certificate)
    context = ssl.create_default_context(cafile=str(certificate[0]))
    tricklers = [
        context.wrap_socket(connect(running), server_hostname="localhost") for _ in range(30)
    ]
    try:
        for sock in tricklers:
            sock.sendall(b"GET / HTTP/1.1\r\nHo")
        time.sleep(0.2)
        assert tls_get(running, certificate[0]) < 0.5
        assert running.server.thread_count <= BoundedHTTPServer.threads
        started = time.monotonic()
        answers = [read_all(sock) for sock in tricklers]
        assert all(answer.startswith(b"HTTP/1.1 408 ") for answer in answers), answers[0]
        assert time.monotonic() - started < Hello.head_timeout + 1.0
    finally:
        for sock in tricklers:
            sock.close()
        running.stop()


def test_threading_server_still_gives_each_connection_a_thread() -> None:
    running = ServerThread(devserve.ThreadingHTTPServer(("127.0.0.1", 0), Hello)).start()
    try:
        idle = [connect(running) for _ in range(20)]
        for sock in idle:
            sock.sendall(REQUEST)
            assert sock.recv(4096).endswith(b"hello")
        assert threading.active_count() >= 20
        for sock in idle:
            sock.close()
    finally:
        running.stop()


@pytest.mark.parametrize("server_class", [BoundedHTTPSServer, devserve.ThreadingHTTPSServer])
def test_plain_http_to_a_tls_port_is_told_the_https_url(
    certificate: tuple[Path, Path], server_class: type, capfd: pytest.CaptureFixture[str]
) -> None:
    cert, key = certificate
    server = server_class(("127.0.0.1", 0), Hello, certfile=str(cert), keyfile=str(key))
    running = ServerThread(server).start()
    try:
        url = "https://127.0.0.1:%d/" % running.port
        with connect(running) as sock:
            sock.sendall(REQUEST)
            answer = read_all(sock)
        assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n")
        assert answer.endswith(b"This port speaks HTTPS: use %s\n" % url.encode())
        assert tls_get(running, cert) < CLIENT_TIMEOUT  # and TLS still works
    finally:
        running.stop()
    logged = capfd.readouterr().err
    assert logged.count("plain HTTP sent to the HTTPS port: answered 400, use " + url) == 1
