"""Connections to a backend: a bounded keep-alive pool, and reading a response's head.

Rule 1: a response head is read with the core's functions
(:func:`~devserve.http11.fields.read_field_lines`,
:func:`~devserve.http11.fields.parse_fields`, :func:`~devserve.http11.response.parse_status`,
:func:`~devserve.http11.framing.content_length_value`,
:func:`~devserve.http11.framing.transfer_coding_is_chunked`); nothing here parses HTTP
by itself, and any fault is a :class:`~devserve.http11.errors.ProtocolError`.
Rule 2: a connection goes back to the pool only once its response was read to the end
of a framed body and the backend did not say it closes; the pool keeps at most
``max_idle`` of them, each for at most ``idle_timeout`` seconds.
Rule 3: a pooled connection the backend already closed is found before it is used
(a peek), and a request that still fails on one is retried once on a new connection,
only when nothing of it can have had an effect (an idempotent method without a body).
"""

from __future__ import annotations

import contextlib
import io
import select
import socket
import threading
import time
from typing import NamedTuple

from ..http11 import DEFAULT_LIMITS, BadFraming, Limits, line_content, parse_fields
from ..http11.fields import read_field_lines
from ..http11.framing import content_length_value, transfer_coding_is_chunked
from ..http11.response import Framing, connection_options, parse_status
from .headers import Backend

__all__ = ["BackendConnection", "BackendPool", "ResponseHead", "read_response_head"]


class ResponseHead(NamedTuple):
    """A backend's response head: status, fields, and how its body is framed."""

    status: int
    reason: str
    fields: list[tuple[str, str]]
    framing: Framing
    #: The body's length under :attr:`Framing.LENGTH`, else ``None``.
    length: int | None
    #: Whether the backend closes the connection after this response.
    closes: bool


def read_response_head(
    rfile: io.BufferedReader, method: str, limits: Limits = DEFAULT_LIMITS
) -> ResponseHead:
    """Read one response head from *rfile*, the answer to a *method* request.

    RFC 9112 §6.3 decides the framing: no body for ``HEAD``, 1xx, 204 and 304;
    chunked when ``Transfer-Encoding`` ends in ``chunked``; else ``Content-Length``;
    else the body runs to the end of the connection.
    """
    line = rfile.readline(limits.max_request_line + 1)
    if not line:
        raise ConnectionResetError("the backend closed the connection without answering")
    content = line_content(line, strict=False)
    version, _, status = (content or b"").decode("latin-1").partition(" ")
    if content is None or version not in ("HTTP/1.1", "HTTP/1.0"):
        raise BadFraming("Bad status line", explain="the backend did not answer in HTTP/1.x")
    try:
        code, reason = parse_status(status)
    except ValueError:
        raise BadFraming("Bad status line", explain="the backend's status line is bad") from None
    pairs = parse_fields(
        read_field_lines(rfile, limits=limits, head_size=len(line), strict=False), strict=False
    )
    fields = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in pairs]
    lengths = [value for name, value in pairs if name.lower() == b"content-length"]
    codings = [value for name, value in pairs if name.lower() == b"transfer-encoding"]
    tokens: set[str] = set()
    for name, value in fields:
        if name.lower() == "connection":
            tokens |= connection_options(value)
    closes = "close" in tokens or (version == "HTTP/1.0" and "keep-alive" not in tokens)
    length = None
    if method == "HEAD" or code < 200 or code in (204, 304):
        framing = Framing.NONE
    elif codings:
        transfer_coding_is_chunked(codings)
        framing = Framing.CHUNKED
    elif lengths:
        if len(set(lengths)) != 1:
            raise BadFraming("Bad Content-Length", explain="the backend sent two lengths")
        length = content_length_value(lengths[0], limits)
        framing = Framing.LENGTH
    else:
        framing = Framing.CLOSE
        closes = True
    return ResponseHead(code, reason or "", fields, framing, length, closes)


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
