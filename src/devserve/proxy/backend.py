"""Connections to a backend: a bounded keep-alive pool.

Rule 1: nothing here parses HTTP: a response head is read by the core's
:func:`~devserve.http11.response_head.read_response_head`.
Rule 2: a connection goes back to the pool only once its response was read to the end
of a framed body and the backend did not say it closes; the pool keeps at most
``max_idle`` of them, each for at most ``idle_timeout`` seconds.
Rule 3: a backend's socket blocks and the kernel bounds each wait on it
(``SO_RCVTIMEO``, ``SO_SNDTIMEO``), a wait past the bound raising :exc:`TimeoutError`
as a Python timeout does, without the poll Python makes before every call.  A read
may also have a deadline (:meth:`BackendConnection.read_by`): a backend that trickles
its answer's head a byte at a time cannot hold a worker past it, give or take one wait.
Rule 4: a pooled connection the backend already closed is found before it is used
(a peek), and a request that still fails on one is retried once on a new connection,
only when nothing of it can have had an effect (an idempotent method without a body).
"""

from __future__ import annotations

import contextlib
import io
import select
import socket
import struct
import sys
import threading
import time
from typing import Any

from ..net.streams import DONTWAIT, tune_connection
from .headers import Backend

__all__ = ["BackendConnection", "BackendPool"]

# SO_RCVTIMEO and SO_SNDTIMEO take a struct timeval on POSIX (milliseconds on Windows).
_KERNEL_TIMEOUTS = sys.platform != "win32"


class BackendConnection:
    """One connection to a backend: its socket and a buffered reader on it.

    The socket blocks, and the kernel bounds each wait on it (:meth:`wait_at_most`):
    a socket with a Python timeout polls before every send and receive, a system
    call each that a request through the proxy would pay twice.
    """

    def __init__(self, sock: socket.socket) -> None:
        sock.settimeout(None)
        self.sock = sock
        self._stream = _BackendStream(sock)
        self.rfile = io.BufferedReader(self._stream)
        #: Whether it came from the pool (it may have been closed meanwhile).
        self.reused = False
        self.idle_since = 0.0
        self._patience: float | None = None

    def wait_at_most(self, seconds: float | None) -> None:
        """Bound each wait to send to or receive from the backend; ``None``: no bound.

        A wait past it raises :exc:`TimeoutError`.
        """
        if seconds == self._patience:
            return
        self._patience = seconds
        if not _KERNEL_TIMEOUTS:
            self.sock.settimeout(seconds)  # Python's own: a poll before each call
            return
        # A timeval; a bound under a microsecond would be 0, which means none at all.
        micros = 0 if seconds is None else max(1, round(seconds * 1e6))
        value = struct.pack("ll", *divmod(micros, 1_000_000))
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, value)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, value)
        except OSError:
            # A platform whose timeval is not two longs (a 64-bit time_t on a 32-bit
            # machine): Python's own timeout bounds the waits instead.
            self.sock.settimeout(seconds)

    def read_by(self, deadline: float | None) -> None:
        """Refuse to read past *deadline* (:func:`time.monotonic`), or ``None``: no deadline.

        A read that starts past it raises :exc:`TimeoutError`; one that starts
        before it waits at most the :meth:`wait_at_most` bound.
        """
        self._stream.deadline = deadline

    def send(self, data: bytes) -> None:
        """Send all of *data* (:exc:`TimeoutError` past :meth:`wait_at_most`)."""
        try:
            self.sock.sendall(data)
        except BlockingIOError:
            raise TimeoutError("the backend took nothing in time") from None

    def stale(self) -> bool:
        """Whether the backend closed the idle connection (or wrote on it unasked)."""
        # Anything to read while idle means closed, or bytes nobody asked for: either
        # way, not to be used.  One peek that does not wait (select() would refuse a
        # descriptor past 1023; it stays for systems without MSG_DONTWAIT).
        try:
            if DONTWAIT:
                self.sock.recv(1, socket.MSG_PEEK | DONTWAIT)
                return True
            readable, _, _ = select.select([self.sock], (), (), 0)
        except (BlockingIOError, InterruptedError):
            return False  # nothing: still open, and quiet
        except (OSError, ValueError):
            return True  # reset, or closed already
        return bool(readable)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.rfile.close()
        with contextlib.suppress(OSError):
            self.sock.close()


class _BackendStream(io.RawIOBase):
    """The socket's bytes for a buffered reader: a wait past the bound is a timeout."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self.deadline: float | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        deadline = self.deadline
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError("the backend did not answer in time")
        try:
            return self._sock.recv_into(buffer)
        except BlockingIOError:
            if not self._sock.getblocking():
                return None  # made non-blocking to be relayed: nothing yet
            raise TimeoutError("the backend did not answer in time") from None


class BackendPool:
    """Keep-alive connections to one *backend*, at most *max_idle* idle ones."""

    def __init__(
        self, backend: Backend, *, max_idle: int = 16, idle_timeout: float = 30.0,
        connect_timeout: float = 5.0,
    ) -> None:  # fmt: skip
        self.backend = backend
        self.max_idle = max_idle
        self.idle_timeout = idle_timeout
        self.connect_timeout = connect_timeout
        self._idle: list[BackendConnection] = []
        self._lock = threading.Lock()

    def connect(self) -> BackendConnection:
        """A new connection (raises :exc:`OSError`: refused, unreachable, timed out)."""
        backend = self.backend
        sock = socket.create_connection((backend.host, backend.port), self.connect_timeout)
        tune_connection(sock)
        return BackendConnection(sock)

    def take(self) -> BackendConnection:
        """An idle connection that is still open, or a new one."""
        now = time.monotonic()
        while True:
            with self._lock:
                connection = self._idle.pop() if self._idle else None
            if connection is None:
                return self.connect()
            if now - connection.idle_since > self.idle_timeout or connection.stale():
                connection.close()
                continue
            connection.reused = True
            return connection

    def give_back(self, connection: BackendConnection) -> None:
        """Keep *connection* for the next request (or close it, past ``max_idle``)."""
        connection.idle_since = time.monotonic()
        with self._lock:
            if len(self._idle) < self.max_idle:
                self._idle.append(connection)
                return
        connection.close()

    def close(self) -> None:
        """Close every idle connection."""
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()
