"""Deadlines for handlers: the idle wait between requests and the request-head deadline.

Rule 1: an idle persistent connection is closed quietly when ``idle_timeout`` passes;
a client that started a head and does not finish it within ``head_timeout`` gets a 408
(a slowloris client trickling a byte a second cannot hold a thread past it).
Rule 2: TLS bytes where a request line belongs are answered with a 400 at once, not
left to wait out the head deadline (a browser sent to https:// on a plain port).
Rule 3: a socket's timeout is restored only when a wait changed it.
"""

from __future__ import annotations

import contextlib
import io
import socket
import time
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, ClassVar

from ..net.streams import SocketReader

__all__ = ["DeadlineMixin"]


class DeadlineMixin:
    """Mix-in for :class:`~devserve.BaseHTTPRequestHandler`: idle and head deadlines.

    .. versionadded:: 0.1
    """

    # Provided by the handler.
    rfile: Any
    connection: socket.socket
    timeout: ClassVar[float | None]
    idle_timeout: float | None
    head_timeout: float | None
    close_connection: bool
    request_version: str
    requestline: str
    _socket_reader: SocketReader | None
    _status_code: int | None

    if TYPE_CHECKING:  # the handler's

        def send_error(
            self, code: int, message: str | None = None, explain: str | None = None
        ) -> None: ...

        def log_error(self, format: str, *args: Any) -> None: ...

    def _wait_for_request(self) -> bool:
        """Wait for the next request's first byte, then arm the head deadline."""
        reader = self._socket_reader
        if reader is None or (self.idle_timeout is None and self.head_timeout is None):
            return True
        arrived = reader.arrived
        if arrived is not None:
            # The server read the head's first bytes while it waited: no idle wait,
            # and the deadline runs from when they came.
            reader.arrived = None
            if self.head_timeout is not None:
                reader.deadline = arrived + self.head_timeout
            if isinstance(self.rfile, io.BufferedReader) and self.rfile.peek(1)[:1] == b"\x16":
                self._refuse_tls()
                return False
            return True
        if self.idle_timeout is not None and isinstance(self.rfile, io.BufferedReader):
            self.connection.settimeout(self.idle_timeout)
            reader.retimed = True
            try:
                ahead = self.rfile.peek(1)
            except TimeoutError:
                # An idle persistent connection: closing it is routine, not an error.
                self.close_connection = True
                return False
            if ahead[:1] == b"\x16":
                self._refuse_tls()
                return False
        if self.head_timeout is not None:
            reader.deadline = time.monotonic() + self.head_timeout
        return True

    def _refuse_tls(self) -> None:
        # A TLS record (type 0x16, handshake) where a request line belongs: a browser
        # sent to https:// on a plain port.  Its ClientHello has no line feed, so
        # reading a request line would wait out the head deadline; answer at once.
        self.close_connection = True
        self.request_version = "HTTP/1.0"
        self.requestline = ""
        self.send_error(
            HTTPStatus.BAD_REQUEST,
            "Bad Request: TLS handshake on a plain HTTP port",
            "This server speaks plain HTTP: use an http:// URL, not https://.",
        )

    def _end_head_deadline(self) -> None:
        reader = self._socket_reader
        if reader is not None:
            reader.deadline = None
            if reader.retimed:
                # Only a socket whose timeout the wait or the deadline changed needs
                # it back (two fcntl calls a request otherwise).
                reader.retimed = False
                self.connection.settimeout(self.timeout)

    def _answer_timeout(self, error: TimeoutError) -> None:
        reader = self._socket_reader
        in_head = reader is not None and reader.deadline is not None
        self.log_error("Request timed out: %r", error)
        self.close_connection = True
        if in_head and self._status_code is None:
            self._end_head_deadline()
            with contextlib.suppress(OSError):
                self.send_error(HTTPStatus.REQUEST_TIMEOUT)
