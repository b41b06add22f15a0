"""devserve.proxy.backend: a backend connection's bounded waits, over a real socket pair."""

from __future__ import annotations

import socket
import time

import pytest

from devserve.proxy.backend import BackendConnection


def test_a_wait_past_the_bound_is_a_timeout_and_none_waits() -> None:
    ours, theirs = socket.socketpair()
    connection = BackendConnection(ours)
    try:
        connection.wait_at_most(0.2)
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            connection.rfile.peek(1)  # the backend says nothing
        assert 0.15 < time.monotonic() - started < 2.0
        theirs.sendall(b"late")
        assert connection.rfile.peek(4)[:4] == b"late"  # the connection still serves
        assert connection.rfile.read(4) == b"late"
        # Made non-blocking to be relayed, an empty socket is "nothing yet", not a fault.
        ours.setblocking(False)
        assert connection.rfile.read1(10) == b""
    finally:
        connection.close()
        theirs.close()


def test_a_send_the_backend_does_not_take_is_a_timeout() -> None:
    ours, theirs = socket.socketpair()
    connection = BackendConnection(ours)
    try:
        connection.wait_at_most(0.2)
        with pytest.raises(TimeoutError):
            connection.send(b"x" * (64 << 20))  # far more than the socket buffers hold
    finally:
        connection.close()
        theirs.close()


@pytest.mark.parametrize("backend_does", ["nothing", "writes", "closes"])
def test_an_idle_connection_is_stale_once_the_backend_writes_or_closes(backend_does: str) -> None:
    ours, theirs = socket.socketpair()
    connection = BackendConnection(ours)
    try:
        if backend_does == "writes":
            theirs.sendall(b"HTTP/1.1 408 Request Timeout\r\n\r\n")  # unasked
        elif backend_does == "closes":
            theirs.close()
        time.sleep(0.05)
        assert connection.stale() is (backend_does != "nothing")
        if backend_does == "writes":
            assert connection.rfile.peek(1)[:4] == b"HTTP"  # seen, left unread
    finally:
        connection.close()
        theirs.close()
