"""Connections to a backend: a bounded keep-alive pool.

Rule 1: nothing here parses HTTP: a response head is read by the core's
:func:`~devserve.http11.response_head.read_response_head`.
Rule 2: a connection goes back to the pool only once its response was read to the end
of a framed body and the backend did not say it closes; the pool keeps at most
``max_idle`` of them, each for at most ``idle_timeout`` seconds.
Rule 3: a pooled connection the backend already closed is found before it is used
(a peek), and a request that still fails on one is retried once on a new connection,
only when nothing of it can have had an effect (an idempotent method without a body).
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time

from .headers import Backend

__all__ = ["BackendConnection", "BackendPool"]


class BackendConnection:
    """One connection to a backend: its socket and a buffered reader on it."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.rfile = sock.makefile("rb")
        #: Whether it came from the pool (it may have been closed meanwhile).
        self.reused = False
        self.idle_since = 0.0

    def stale(self) -> bool:
        """Whether the backend closed the idle connection (or wrote on it unasked)."""
        # Readable while idle means closed, or bytes nobody asked for: either way, not
        # to be used.  One select, and the socket's timeout left as it is.
        try:
            readable, _, _ = select.select([self.sock], (), (), 0)
        except (OSError, ValueError):
            return True  # closed already
        return bool(readable)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.rfile.close()
        with contextlib.suppress(OSError):
            self.sock.close()


class BackendPool:
    """Keep-alive connections to one *backend*, at most *max_idle* idle ones.

    ``connections_made`` counts the connections opened, for tests and the curious.
    """

    def __init__(
        self, backend: Backend, *, max_idle: int = 16, idle_timeout: float = 30.0,
        connect_timeout: float = 5.0,
    ) -> None:  # fmt: skip
        self.backend = backend
        self.max_idle = max_idle
        self.idle_timeout = idle_timeout
        self.connect_timeout = connect_timeout
        self.connections_made = 0
        self._idle: list[BackendConnection] = []
        self._lock = threading.Lock()

    def connect(self) -> BackendConnection:
        """A new connection (raises :exc:`OSError`: refused, unreachable, timed out)."""
        backend = self.backend
        sock = socket.create_connection((backend.host, backend.port), self.connect_timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._lock:
            self.connections_made += 1
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
