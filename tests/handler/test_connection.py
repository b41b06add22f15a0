"""ConnectionHandler.relay_body: a body from another socket, relayed to its end or reset.

Under every server: devserve's bounded server relays it in its I/O thread, the others
in the handler's own thread; either way a body cut short of its end resets the
client's connection (devserve.net.relay, Rule 5), and a whole one ends cleanly.
"""

from __future__ import annotations

import socket
import threading
from typing import Any

import pytest

import devserve
from devserve.net.contract import RelayedBody
from support.sockets import (
    CLIENT_TIMEOUT,
    QuietHandler,
    RunningServer,
    receive_to_end,
    receive_until,
)

SERVERS = [devserve.HTTPServer, devserve.ThreadingHTTPServer, devserve.BoundedHTTPServer]


def relaying_handler(
    length: int | None, peer_says: bytes, peer_ends: threading.Event, *, unframed: bool = False
) -> Any:
    """A handler whose GET relays what a peer socket sends: *peer_says*, then its close.

    With *unframed*, the peer's body is chunked and the client gets its data alone.
    """

    class Relaying(QuietHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            ours, theirs = socket.socketpair()

            def peer() -> None:
                with theirs:
                    theirs.sendall(peer_says)
                    peer_ends.wait(CLIENT_TIMEOUT)
                    if unframed:
                        theirs.sendall(b"0\r\n\r\nnot the body")

            threading.Thread(target=peer, daemon=True).start()
            self.send_response(200)
            if length is not None:
                self.send_header("Content-Length", str(length))
            self.send_header("Connection", "close")
            self.end_headers()
            self.relay_body(ours, b"", RelayedBody(length, unframed, unframed))

    return Relaying


@pytest.mark.parametrize("server_class", SERVERS, ids=lambda c: c.__name__)
@pytest.mark.parametrize(
    ("length", "whole"),
    [(100, False), (None, True)],
    ids=["a Content-Length body cut short", "a close-delimited body ended by its close"],
)
def test_a_relayed_body_resets_the_client_only_when_cut(
    server_class: Any, length: int | None, whole: bool
) -> None:
    peer_ends = threading.Event()
    handler = relaying_handler(length, b"first piece", peer_ends)
    running = RunningServer(server_class(("127.0.0.1", 0), handler))
    try:
        with running.connect() as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            data = receive_until(sock, b"first piece")
            peer_ends.set()  # the peer closes: short of 100 bytes, or the body's end
            rest, was_reset = receive_to_end(sock)
    finally:
        peer_ends.set()
        running.stop()
    assert data.startswith(b"HTTP/1.1 200 OK\r\n")
    assert data.endswith(b"\r\n\r\nfirst piece")
    assert rest == b""
    assert was_reset is not whole


@pytest.mark.parametrize("server_class", SERVERS, ids=lambda c: c.__name__)
def test_a_chunked_body_relayed_unframed_is_its_data_ended_by_the_close(server_class: Any) -> None:
    peer_ends = threading.Event()
    handler = relaying_handler(None, b"6\r\nfirst \r\n", peer_ends, unframed=True)
    running = RunningServer(server_class(("127.0.0.1", 0), handler))
    try:
        with running.connect() as sock:
            sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
            data = receive_until(sock, b"first ")
            peer_ends.set()  # the last chunk, then bytes past the body's end
            rest, was_reset = receive_to_end(sock)
    finally:
        peer_ends.set()
        running.stop()
    assert data.endswith(b"\r\n\r\nfirst ")
    assert rest == b""
    assert not was_reset
