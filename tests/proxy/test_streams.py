"""Proxied bodies that stream, relayed by the bounded server's I/O thread, not a worker."""

from __future__ import annotations

import hashlib
import socket
import threading
import time
import tracemalloc
from typing import Any

import pytest

import devserve
from devserve import Proxy
from devserve.mount.table import MountTable
from devserve.net.streams import reset_connection
from support.sockets import (
    CLIENT_TIMEOUT,
    RunningServer,
    read_all,
    receive_to_end,
    receive_until,
)
from support.wsgi import dechunk, split

from .conftest import Front, RawBackend, front_for

EVENT_HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n"
)


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def read_request(sock: socket.socket) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        piece = sock.recv(65536)
        assert piece
        data += piece


def assert_served_at_once(front: RunningServer, within: float = 1.0) -> None:
    """An ordinary request to *front* is answered within *within* seconds."""
    started = time.monotonic()
    answer = front.exchange(b"GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    assert answer.endswith(b"\r\n\r\nfront")
    assert time.monotonic() - started < within


def test_open_event_streams_hold_no_worker_and_end_cleanly() -> None:
    go_on = threading.Event()

    def events(sock: socket.socket) -> None:
        read_request(sock)
        sock.sendall(EVENT_HEAD + chunk(b"data: first\n\n"))
        go_on.wait(30)
        sock.sendall(chunk(b"data: second\n\n") + b"0\r\n\r\nnever sent on")

    raw = RawBackend(events)
    front = front_for(("/api", Proxy(raw.url)))
    streams = []
    try:
        for _ in range(120):
            sock = front.connect()
            sock.sendall(b"GET /api/events HTTP/1.1\r\nHost: a\r\n\r\n")
            streams.append((sock, receive_until(sock, b"data: first")))
        assert front.server.thread_count <= devserve.BoundedHTTPServer.threads
        assert_served_at_once(front)  # an ordinary request, beside them
        # The second event comes only when the backend sends it, then the stream's end.
        go_on.set()
        for sock, data in streams:
            status, fields, body = split(data + read_all(sock))
            assert status == b"HTTP/1.1 200 OK"
            assert fields["content-type"] == "text/event-stream"
            assert fields["transfer-encoding"] == "chunked"
            assert fields["connection"] == "close"
            assert body.endswith(b"0\r\n\r\n")  # the terminator, and nothing after it
            assert dechunk(body) == b"data: first\n\ndata: second\n\n"
    finally:
        go_on.set()
        for sock, _data in streams:
            sock.close()
        front.stop()
        raw.close()


# Bodies the I/O thread relays, each cut by its backend after its first piece.
CUTS = {
    "close-delimited, the backend resets": (
        b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nfirst piece",
        reset_connection,
    ),
    "chunked, the backend closes before the last chunk": (
        EVENT_HEAD + chunk(b"first piece"),
        socket.socket.close,
    ),
    "chunked, the backend breaks the framing of its last chunk": (
        EVENT_HEAD + chunk(b"first piece"),
        lambda sock: sock.sendall(b"0\r\n\n"),
    ),
    "a long Content-Length, the backend closes short of it": (
        b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\nfirst piece" % (4 << 20),
        socket.socket.close,
    ),
}


@pytest.mark.parametrize("cut", list(CUTS))
def test_a_relayed_body_cut_by_its_backend_resets_the_client(cut: str) -> None:
    # relay.py Rule 5: a client must never take a cut body for a whole one; a clean
    # close would end a close-delimited body as if it were complete.
    start, end = CUTS[cut]
    read_on = threading.Event()

    def cutting(sock: socket.socket) -> None:
        read_request(sock)
        sock.sendall(start)
        read_on.wait(30)
        end(sock)

    raw = RawBackend(cutting)
    front = front_for(("/api", Proxy(raw.url)))
    try:
        with front.connect() as sock:
            sock.sendall(b"GET /api/x HTTP/1.1\r\nHost: a\r\n\r\n")
            data = receive_until(sock, b"first piece")
            assert front.server.thread_count <= devserve.BoundedHTTPServer.threads
            read_on.set()
            rest, was_reset = receive_to_end(sock)
    finally:
        read_on.set()
        front.stop()
        raw.close()
    assert data.startswith(b"HTTP/1.1 200 OK\r\n")
    assert rest in (b"", b"0\r\n\n")  # the malformed end is passed on, then the reset
    assert was_reset


@pytest.mark.parametrize("whole", [True, False], ids=["to its last chunk", "cut"])
def test_an_http10_client_gets_an_event_stream_unframed_without_a_worker(whole: bool) -> None:
    # HTTP/1.0 has no chunks: the client gets the events alone, delimited by the close,
    # and the I/O thread relays them (it was copied on a worker, for as long as it lasted).
    go_on = threading.Event()

    def events(sock: socket.socket) -> None:
        read_request(sock)
        sock.sendall(EVENT_HEAD + chunk(b"data: first\n\n"))
        go_on.wait(30)
        if whole:
            sock.sendall(chunk(b"data: second\n\n") + b"0\r\nT: v\r\n\r\nnever sent on")
        else:
            sock.sendall(chunk(b"data: second\n\n")[:-5])  # then the close, mid-chunk

    raw = RawBackend(events)
    server_class = type("OneWorker", (devserve.BoundedHTTPServer,), {"threads": 1})
    front = front_for(("/api", Proxy(raw.url)), server_class=server_class)
    try:
        with front.connect() as sock:
            sock.sendall(b"GET /api/events HTTP/1.0\r\n\r\n")
            data = receive_until(sock, b"data: first\n\n")
            assert_served_at_once(front)  # the one worker is free while the stream is open
            go_on.set()
            rest, was_reset = receive_to_end(sock)
    finally:
        go_on.set()
        front.stop()
        raw.close()
    status, fields, body = split(data + rest)
    assert status == b"HTTP/1.1 200 OK"  # the server's version, as RFC 9110 §2.5 says
    assert fields["content-type"] == "text/event-stream"
    assert "transfer-encoding" not in fields
    assert "content-length" not in fields
    assert fields["connection"] == "close"
    if whole:
        assert body == b"data: first\n\ndata: second\n\n"  # no framing, nothing after it
        assert not was_reset
    else:
        assert body == b"data: first\n\ndata: secon"
        assert was_reset  # a cut body must not look whole


def test_a_close_delimited_body_ends_when_the_backend_closes() -> None:
    go_on = threading.Event()

    def old_style(sock: socket.socket) -> None:
        read_request(sock)
        sock.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nstart ")
        go_on.wait(30)
        sock.sendall(b"and end")

    raw = RawBackend(old_style)
    front = front_for(("/api", Proxy(raw.url)))
    try:
        with front.connect() as sock:
            sock.sendall(b"GET /api/x HTTP/1.1\r\nHost: a\r\n\r\n")
            data = receive_until(sock, b"start ")
            assert_served_at_once(front)  # relayed: no worker waits on the backend
            assert front.server.thread_count <= devserve.BoundedHTTPServer.threads
            go_on.set()
            rest, reset = receive_to_end(sock)
            status, fields, body = split(data + rest)
    finally:
        go_on.set()
        front.stop()
        raw.close()
    assert not reset  # the backend's close is this body's end: a clean one
    assert status == b"HTTP/1.1 200 OK"
    assert "transfer-encoding" not in fields
    assert "content-length" not in fields
    assert fields["connection"] == "close"
    assert body == b"start and end"


SIZE = 32 << 20
PIECE = bytes(range(256)) * 256


def test_a_long_download_is_whole_exact_and_nothing_after_its_end() -> None:
    def download(sock: socket.socket) -> None:
        read_request(sock)
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % SIZE)
        for _ in range(SIZE // len(PIECE)):
            sock.sendall(PIECE)
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nextra")  # not asked for
        time.sleep(CLIENT_TIMEOUT)

    raw = RawBackend(download)
    front = front_for(("/api", Proxy(raw.url)))
    expected = hashlib.sha256(PIECE * (SIZE // len(PIECE))).hexdigest()
    tracemalloc.start()
    try:
        with front.connect() as sock:
            sock.sendall(b"GET /api/big HTTP/1.1\r\nHost: a\r\n\r\n")
            head = receive_until(sock, b"\r\n\r\n")
            head, _, first = head.partition(b"\r\n\r\n")
            digest = hashlib.sha256(first)
            total = len(first)
            started = time.monotonic()
            while data := sock.recv(1 << 20):  # the connection ends with the body
                digest.update(data)
                total += len(data)
            ended = time.monotonic() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        front.stop()
        raw.close()
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"\r\nContent-Length: %d\r\n" % SIZE in head + b"\r\n"
    assert b"\r\nConnection: close\r\n" in head + b"\r\n"
    assert total == SIZE
    assert digest.hexdigest() == expected
    assert ended < CLIENT_TIMEOUT - 1  # at the body's end, not the backend's
    assert peak < 8 << 20


def watching_backend(closed: threading.Event, endless: bool) -> Any:
    """A backend that streams events (forever, when *endless*) and says when it is let go."""

    def serve(sock: socket.socket) -> None:
        read_request(sock)
        sock.sendall(EVENT_HEAD + chunk(b"data: first\n\n"))
        sock.settimeout(30)
        try:
            if endless:
                while True:
                    sock.sendall(chunk(b"data: %s\n\n" % (b"x" * 65536)))
            sock.recv(1)  # nothing more is sent: this returns when the proxy closes
        except OSError:
            pass
        closed.set()

    return serve


@pytest.mark.parametrize(
    "server_class",
    [devserve.BoundedHTTPServer, devserve.ThreadingHTTPServer, devserve.HTTPServer],
    ids=lambda c: c.__name__,
)
def test_a_client_leaving_closes_the_backend_connection(server_class: Any) -> None:
    # Under every server: a quiet event stream whose client left must not keep the
    # backend connection (and, off the bounded server, the thread) until it speaks.
    closed = threading.Event()
    raw = RawBackend(watching_backend(closed, endless=False))
    front = front_for(("/api", Proxy(raw.url)), server_class=server_class)
    try:
        with front.connect() as sock:
            sock.sendall(b"GET /api/events HTTP/1.1\r\nHost: a\r\n\r\n")
            receive_until(sock, b"data: first")
        assert closed.wait(2.0)
    finally:
        front.stop()
        raw.close()


def test_a_stalled_client_is_dropped_after_the_timeout_without_a_worker(capsys: Any) -> None:
    closed = threading.Event()
    raw = RawBackend(watching_backend(closed, endless=True))
    table = MountTable([("/api", Proxy(raw.url))])
    handler = type("Handler", (Front,), {"responders": (table,), "timeout": 1.5})
    server_class = type("OneWorker", (devserve.BoundedHTTPServer,), {"threads": 1})
    front = RunningServer(server_class(("127.0.0.1", 0), handler))
    try:
        with front.connect() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.sendall(b"GET /api/events HTTP/1.1\r\nHost: a\r\n\r\n")
            receive_until(sock, b"data: first")
            started = time.monotonic()  # this client reads no more
            assert_served_at_once(front, within=0.5)  # the one worker is free
            assert closed.wait(10.0)
            assert time.monotonic() - started > 1.0  # not before the deadline
    finally:
        front.stop()
        raw.close()
    assert "relayed response cut: the client took nothing for 1.5 s" in capsys.readouterr().err
