"""The proxy over real sockets: a devserve WSGI backend, and raw ones for edge cases."""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import threading
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

import devserve
from devserve import MountTable, Proxy
from devserve.net.servers import tls_context
from support.sockets import (
    CLIENT_TIMEOUT,
    RunningServer,
    make_certificate,
    read_all,
    read_response,
)  # fmt: skip
from support.wsgi import dechunk, split

from .conftest import Backend, Front, RawBackend, front_for


def ask(front: RunningServer, request: str) -> tuple[bytes, dict[str, str], bytes]:
    status, fields, body = split(front.exchange(request.encode("latin-1")))
    if fields.get("transfer-encoding") == "chunked":
        body = dechunk(body)
    return status, fields, body


@pytest.fixture
def proxied(backend: tuple[RunningServer, Backend]) -> Any:
    running, app = backend
    front = front_for(("/api", Proxy(running.url)))
    yield front, running, app
    front.stop()


def test_get_keeps_path_host_and_sets_forwarded_fields(proxied: Any) -> None:
    front, _backend, _app = proxied
    status, _fields, body = ask(
        front, "GET /api/items?q=1 HTTP/1.1\r\nHost: dev.localhost:8000\r\nConnection: close\r\n"
        "X-Hop: 1\r\nConnection: X-Hop\r\nX-Forwarded-For: 10.0.0.9\r\n\r\n",
    )  # fmt: skip
    assert status == b"HTTP/1.1 200 OK"
    got = json.loads(body)
    assert (got["method"], got["script"], got["path"], got["query"]) == (
        "GET", "", "/api/items", "q=1"
    )  # fmt: skip
    assert got["fields"]["host"] == "dev.localhost:8000"
    assert got["fields"]["x_forwarded_for"] == "10.0.0.9, 127.0.0.1"
    assert got["fields"]["x_forwarded_proto"] == "http"
    assert got["fields"]["x_forwarded_host"] == "dev.localhost:8000"
    assert "x_hop" not in got["fields"]
    assert ask(front, "GET /other HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")[2] == b"front"


def test_a_url_path_replaces_the_prefix_and_change_origin_sends_its_host(
    backend: tuple[RunningServer, Backend],
) -> None:
    running, _app = backend
    front = front_for(("/api", Proxy(running.url + "/v1", change_origin=True)))
    try:
        body = ask(front, "GET /api/x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")[2]
        got = json.loads(body)
        assert got["path"] == "/v1/x"
        assert got["fields"]["host"] == "127.0.0.1:%d" % running.port
        assert got["fields"]["x_forwarded_host"] == "a"
    finally:
        front.stop()


@pytest.mark.parametrize(
    ("framing", "body"),
    [("Content-Length: 11\r\n", "hello world"),
     ("Transfer-Encoding: chunked\r\n", "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")],
    ids=["content-length", "chunked"],
)  # fmt: skip
def test_request_bodies(proxied: Any, framing: str, body: str) -> None:
    front, _backend, _app = proxied
    request = "POST /api/up HTTP/1.1\r\nHost: a\r\nConnection: close\r\n%s\r\n%s" % (framing, body)
    got = json.loads(ask(front, request)[2])
    assert (got["method"], got["body"]) == ("POST", "hello world")


def test_event_stream_arrives_event_by_event(proxied: Any) -> None:
    front, _backend, _app = proxied
    with front.connect() as sock:
        sock.sendall(b"GET /api/events HTTP/1.1\r\nHost: a\r\n\r\n")
        started = time.monotonic()
        data = b""
        while b"event 0" not in data:
            data += sock.recv(4096)
        first = time.monotonic() - started
        while b"event 2" not in data:
            data += sock.recv(4096)
        last = time.monotonic() - started
    assert b"text/event-stream" in data
    assert first < 0.25 < 0.5 < last  # the backend sleeps 0.3 s between events


def test_long_download_in_flat_memory(proxied: Any) -> None:
    front, _backend, _app = proxied
    pieces = 1024  # 64 MiB
    tracemalloc.start()
    try:
        with front.connect() as sock:
            sock.sendall(
                b"GET /api/big?%d HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n" % pieces
            )
            total = 0
            while data := sock.recv(1 << 20):
                total += len(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert total > pieces * 65536
    assert peak < 8 << 20


def test_backend_connections_are_kept_alive(proxied: Any) -> None:
    front, _backend, app = proxied
    for _ in range(3):
        with front.connect() as sock:
            for _ in range(3):
                sock.sendall(b"GET /api/x HTTP/1.1\r\nHost: a\r\n\r\n")
                head, _body = read_response(sock)
                assert head.startswith(b"HTTP/1.1 200")
    assert len(app.ports) == 9
    assert len(set(app.ports)) == 1


def test_location_and_set_cookie_are_rewritten(backend: tuple[RunningServer, Backend]) -> None:
    running, _app = backend
    front = front_for(
        ("/api", Proxy(running.url, change_origin=True)),
        ("/app", Proxy(running.url + "/v1")),
    )
    try:
        fields = ask(front, "GET /api/go HTTP/1.1\r\nHost: me:8000\r\nConnection: close\r\n\r\n")[1]
        assert fields["location"] == "http://me:8000/api/there"
        fields = ask(front, "GET /app/cookie HTTP/1.1\r\nHost: me\r\nConnection: close\r\n\r\n")[1]
        assert fields["set-cookie"] == "s=1; Path=/app/app"
    finally:
        front.stop()


def test_a_backend_that_is_down_is_a_502_naming_it(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
    url = "http://127.0.0.1:%d" % port
    front = front_for(("/api", Proxy(url)))
    try:
        status, _fields, body = ask(front, "GET /api/x HTTP/1.1\r\nHost: a\r\n\r\n")
    finally:
        front.stop()
    assert status == b"HTTP/1.1 502 Bad Gateway"
    assert url.encode() in body
    assert b"refused" in body
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert url in err


def test_a_backend_that_does_not_answer_is_a_504() -> None:
    raw = RawBackend(lambda sock: sock.recv(65536) and time.sleep(3))
    front = front_for(("/api", Proxy(raw.url, timeout=0.5)))
    try:
        status, _fields, body = ask(front, "GET /api/x HTTP/1.1\r\nHost: a\r\n\r\n")
    finally:
        front.stop()
        raw.close()
    assert status == b"HTTP/1.1 504 Gateway Timeout"
    assert raw.url.encode() in body


def test_a_backend_that_closes_mid_head_is_a_502_not_an_empty_answer() -> None:
    def cut(sock: socket.socket) -> None:
        sock.recv(65536)
        sock.sendall(b"HTTP/1.1 200 OK\r\nX-Half: ")
        time.sleep(0.05)  # the head's start comes alone, then the close
        sock.sendall(b"y\r\n")

    raw = RawBackend(cut)
    front = front_for(("/api", Proxy(raw.url)))
    try:
        status, _fields, body = ask(front, "GET /api/x HTTP/1.1\r\nHost: a\r\n\r\n")
    finally:
        front.stop()
        raw.close()
    assert status == b"HTTP/1.1 502 Bad Gateway"
    assert raw.url.encode() in body


def test_a_backend_that_trickles_its_head_is_a_504_within_the_timeout() -> None:
    # Each byte comes within the timeout; the whole head does not: the worker is not
    # held for the head's length times the timeout.
    def trickle(sock: socket.socket) -> None:
        sock.recv(65536)
        with contextlib.suppress(OSError):
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"x" * 40 + b"\r\n\r\n":
                sock.sendall(bytes([byte]))
                time.sleep(0.2)

    raw = RawBackend(trickle)
    front = front_for(("/api", Proxy(raw.url, timeout=1.0)))
    try:
        started = time.monotonic()
        status, _fields, body = ask(front, "GET /api/x HTTP/1.1\r\nHost: a\r\n\r\n")
        took = time.monotonic() - started
    finally:
        front.stop()
        raw.close()
    assert status == b"HTTP/1.1 504 Gateway Timeout"
    assert b"did not answer in time" in body
    assert 1.0 <= took < 2.5  # the timeout, give or take one wait


def test_a_backend_cut_mid_body_resets_the_client() -> None:
    def cut(sock: socket.socket) -> None:
        sock.recv(65536)
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this")

    raw = RawBackend(cut)
    front = front_for(("/api", Proxy(raw.url)))
    try:
        with front.connect() as sock:
            sock.sendall(b"GET /api/x HTTP/1.1\r\nHost: a\r\n\r\n")
            data = read_all(sock)
    finally:
        front.stop()
        raw.close()
    assert data.startswith(b"HTTP/1.1 200 OK")
    assert data.endswith(b"only this")


def test_remote_backends_need_the_option() -> None:
    with pytest.raises(ValueError, match="not on this machine"):
        Proxy("http://192.0.2.1:5000")
    assert Proxy("http://192.0.2.1:5000", allow_remote=True).backend.host == "192.0.2.1"


HANDSHAKE = (
    b"GET /ws/socket HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


def open_websocket(front: Any, first: bytes = b"") -> socket.socket:
    sock = front.connect()
    sock.sendall(HANDSHAKE + first)
    data = b""
    while b"hello from backend" not in data:
        chunk = sock.recv(4096)
        assert chunk, data
        data += chunk
    assert data.startswith(b"HTTP/1.1 101 Switching Protocols\r\n")
    assert b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" in data
    assert data.endswith(b"\r\n\r\nhello from backend"), data
    return sock


def echoed(sock: socket.socket, frame: bytes) -> bytes:
    sock.sendall(frame)
    data = b""
    while len(data) < len(frame):
        chunk = sock.recv(65536)
        assert chunk
        data += chunk
    return data


@pytest.mark.parametrize(
    "server_class", [devserve.BoundedHTTPServer, devserve.ThreadingHTTPServer],
    ids=["io-thread", "worker-thread"],
)  # fmt: skip
def test_websocket_is_tunnelled(echo: RawBackend, server_class: Any) -> None:
    front = front_for(("/ws", Proxy(echo.url)), server_class=server_class)
    try:
        with open_websocket(front, b"\x81\x05early") as sock:
            data = b""
            while len(data) < 7:
                data += sock.recv(100)
            assert data == b"\x81\x05early"
            big = bytes(range(256)) * 4096
            assert echoed(sock, big) == big
    finally:
        front.stop()


def test_open_websockets_hold_no_worker(echo: RawBackend) -> None:
    front = front_for(("/ws", Proxy(echo.url)))
    sockets = []
    try:
        for _ in range(120):
            sockets.append(open_websocket(front))
        assert front.server.thread_count <= devserve.BoundedHTTPServer.threads
        for number, sock in enumerate(sockets):
            frame = b"\x81\x04%04d" % number
            assert echoed(sock, frame) == frame
        # An ordinary request is served at once beside them.
        started = time.monotonic()
        assert ask(front, "GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")[2] == b"front"
        assert time.monotonic() - started < 1.0
        # The client leaving closes the backend's side too.
        sockets[0].close()
        deadline = time.monotonic() + CLIENT_TIMEOUT
        while front.server.connection_count > 119 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert front.server.connection_count == 119
    finally:
        for sock in sockets:
            sock.close()
        front.stop()


def answer_once_then_drop(sock: socket.socket) -> None:
    """Answer a connection's first request; close at the second, unanswered (a kept
    connection the backend gives up just as the proxy sends on it)."""
    for answered in (True, False):
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = sock.recv(65536)
            if not chunk:
                return
            request += chunk
        if answered:
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")


def test_a_kept_connection_dropped_under_a_request_is_retried_once_if_idempotent() -> None:
    raw = RawBackend(answer_once_then_drop)
    front = front_for(("/api", Proxy(raw.url)))
    try:
        with front.connect() as sock:
            for _ in range(2):
                sock.sendall(b"GET /api/x HTTP/1.1\r\nHost: a\r\n\r\n")
                head, body = read_response(sock)
                assert (head.split(b"\r\n")[0], body) == (b"HTTP/1.1 200 OK", b"ok")
            # The second GET went out on the kept connection, was dropped, and was sent
            # again on a new one.
            assert len(raw.connections) == 2
            # A POST is not sent twice: it may have been acted on.
            sock.sendall(b"POST /api/x HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx")
            head, _body = read_response(sock)
            assert head.startswith(b"HTTP/1.1 502"), head
            assert len(raw.connections) == 2
    finally:
        front.stop()
        raw.close()


def test_a_backend_that_stalls_in_a_body_with_a_length_is_cut_at_the_timeout() -> None:
    def stall(sock: socket.socket) -> None:
        sock.recv(65536)
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npart")
        time.sleep(4)

    raw = RawBackend(stall)
    front = front_for(("/api", Proxy(raw.url, timeout=0.5)))
    try:
        with front.connect() as sock:
            started = time.monotonic()
            sock.sendall(b"GET /api/x HTTP/1.1\r\nHost: a\r\n\r\n")
            data = read_all(sock)
            elapsed = time.monotonic() - started
    finally:
        front.stop()
        raw.close()
    assert data.startswith(b"HTTP/1.1 200 OK")
    assert data.endswith(b"part")  # cut short, the connection ended: never taken as whole
    assert elapsed < 3, elapsed


def answer_once_then_wait_for_the_end(ended: threading.Event) -> Any:
    """Answer one request, then set *ended* when the proxy closes the kept connection."""

    def serve(sock: socket.socket) -> None:
        sock.settimeout(10)
        request = b""
        while b"\r\n\r\n" not in request:
            request += sock.recv(65536)
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        if sock.recv(65536) == b"":
            ended.set()

    return serve


def test_closing_the_table_closes_its_proxies_kept_connections() -> None:
    ended, replaced = threading.Event(), threading.Event()
    raw, old = (
        RawBackend(answer_once_then_wait_for_the_end(ended)),
        RawBackend(answer_once_then_wait_for_the_end(replaced)),
    )
    table = MountTable([("/api", Proxy(raw.url)), ("/old", Proxy(old.url))])
    handler = type("Handler", (Front,), {"responders": (table,)})
    front = RunningServer(devserve.BoundedHTTPServer(("127.0.0.1", 0), handler))
    try:
        for prefix in (b"/api", b"/old"):
            answer = front.exchange(b"GET %s/x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
                                    % prefix)  # fmt: skip
            assert answer.endswith(b"ok")
        assert not ended.wait(0.3)  # kept alive for the next request
        table.mount("/old", Proxy(raw.url))  # the replaced proxy lets its backend go
        assert replaced.wait(5.0)
        assert not ended.is_set()
        table.close()
        assert ended.wait(5.0)
        # The server still runs, and the table can open new connections.
        answer = front.exchange(b"GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        assert answer.endswith(b"front")
    finally:
        front.stop()
        raw.close()
        old.close()


@pytest.mark.parametrize(
    "server_class", [devserve.BoundedHTTPServer, devserve.ThreadingHTTPServer],
    ids=["io-thread", "worker-thread"],
)  # fmt: skip
def test_websocket_is_tunnelled_for_a_tls_client(
    echo: RawBackend, server_class: Any, tmp_path: Path
) -> None:
    # The relay reads what TLS has decrypted already (which epoll cannot see) and waits
    # on TLS's own "not yet" (SSLWantRead/Write) as on a plain socket's.
    cert, key = make_certificate(tmp_path)
    table = MountTable([("/ws", Proxy(echo.url))])
    handler = type("Handler", (Front,), {"responders": (table,)})
    server = server_class(("127.0.0.1", 0), handler, ssl_context=tls_context(str(cert), str(key)))
    front = RunningServer(server)
    client_context = ssl.create_default_context(cafile=str(cert))
    try:
        with client_context.wrap_socket(front.connect(), server_hostname="localhost") as sock:
            sock.sendall(HANDSHAKE + b"\x81\x05early")
            data = b""
            while not data.endswith(b"hello from backend\x81\x05early"):
                piece = sock.recv(65536)
                assert piece, data
                data += piece
            assert data.startswith(b"HTTP/1.1 101 Switching Protocols\r\n")
            big = bytes(range(256)) * 4096  # many TLS records each way
            assert echoed(sock, big) == big
    finally:
        front.stop()
