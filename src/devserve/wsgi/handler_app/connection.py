"""The connection a handler is given under :class:`~devserve.HandlerApp`: streams, no socket."""

from __future__ import annotations

import io
import socket
from typing import Any

from ...handler.given import GivenRequest, GivenRequests
from .errors import HandlerAppError
from .request import PIECE
from .response import Response

__all__ = ["Connection", "GivenConnection", "make_rfile"]


def make_rfile(head: bytes, body: Any, length: int | None, response: Response) -> io.BufferedIOBase:
    return _HeadOnly(head) if body is None else _RequestReader(head, body, length, response)


class _HeadOnly(io.BytesIO):
    """``rfile`` for a request without a body: its head, then the end."""

    def fileno(self) -> int:
        raise HandlerAppError(_NO_SOCKET % "rfile.fileno()")


class _RequestReader(io.BufferedIOBase):
    """``rfile``: the request head, then at most the body's length of ``wsgi.input``.

    Once the response is complete the request is over: a handler that reads on (the
    next request of a persistent connection, or the body it left) reads the end.
    """

    def __init__(self, head: bytes, body: Any, length: int | None, response: Response) -> None:
        self._head = head
        self._at = 0  # in the head, then past it
        self._body = body
        self._left = length or 0
        self._response = response

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._at

    def fileno(self) -> int:
        raise HandlerAppError(_NO_SOCKET % "rfile.fileno()")

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            size = len(self._head) + self._left
        head = self._read_head(size, None)
        if len(head) == size:
            return head
        return head + self._read_body(size - len(head))

    def read1(self, size: int = -1) -> bytes:
        return self.read(PIECE if size < 0 else size)

    def readinto(self, buffer: Any) -> int:
        with memoryview(buffer) as view:
            data = self.read(view.nbytes)
            view[: len(data)] = data
        return len(data)

    def readline(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            size = len(self._head) + self._left
        if self._at < len(self._head):
            return self._read_head(size, b"\n")
        if self._response.complete or self._left == 0 or size == 0:
            return b""
        line: bytes = self._body.readline(min(size, self._left))
        self._left -= len(line)
        self._at += len(line)
        return line

    def _read_head(self, size: int, until: bytes | None) -> bytes:
        head, start = self._head, self._at
        end = min(len(head), start + size)
        if until is not None:
            newline = head.find(until, start, end)
            if newline >= 0:
                end = newline + 1
        self._at = end if start < len(head) else start
        return head[start:end]

    def _read_body(self, size: int) -> bytes:
        if self._response.complete:
            return b""
        size = min(size, self._left)
        parts = []
        while size > 0:
            piece: bytes = self._body.read(min(size, PIECE))
            if not piece:
                break
            parts.append(piece)
            size -= len(piece)
            self._left -= len(piece)
            self._at += len(piece)
        return b"".join(parts)


_NO_SOCKET = (
    "%s: under HandlerApp the handler has no socket, a WSGI server owns the "
    "connection; read the request from rfile and write the response to wfile"
)


class Connection:
    """The handler's ``request`` and ``connection``: its streams, and no socket.

    socketserver's ``setup`` makes ``rfile`` and ``wfile`` with :meth:`makefile` (and
    ``sendall``), sets a timeout and ``TCP_NODELAY``; every other use of a socket
    raises :exc:`HandlerAppError`.
    """

    __slots__ = ("_response", "_rfile", "_timeout", "sendall")

    def __init__(self, rfile: io.BufferedIOBase, response: Response) -> None:
        self._rfile = rfile
        self._response = response
        self._timeout: float | None = None
        #: What ``wfile`` writes with: the response, without a call in between.
        self.sendall = response.send

    def makefile(self, mode: str = "r", buffering: int | None = None, **_ignored: Any) -> Any:
        if "w" not in mode:
            return self._rfile
        stream = _ResponseStream(self._response)
        if buffering == 0:
            return stream
        size = buffering if buffering is not None and buffering > 0 else io.DEFAULT_BUFFER_SIZE
        return io.BufferedWriter(stream, size)

    def settimeout(self, value: float | None) -> None:
        # The WSGI server times its client out; the handler's reads and writes are
        # in memory or through the server.
        self._timeout = value

    def gettimeout(self) -> float | None:
        return self._timeout

    def setsockopt(self, *args: Any) -> None:
        """Nothing to tune: the socket is the WSGI server's."""

    def __getattr__(self, name: str) -> Any:
        if hasattr(socket.socket, name):
            raise HandlerAppError(_NO_SOCKET % ("connection." + name))
        raise AttributeError(name)


class GivenConnection(Connection, GivenRequests):
    """A connection that hands devserve's handler its one request parsed."""

    __slots__ = ("_request",)

    def __init__(self, rfile: io.BufferedIOBase, response: Response, request: GivenRequest) -> None:
        super().__init__(rfile, response)
        self._request: GivenRequest | None = request

    def take_request(self) -> GivenRequest | None:
        request, self._request = self._request, None
        return request


class _ResponseStream(io.RawIOBase):
    """What ``wfile`` writes to when the handler class asks for a buffered one."""

    def __init__(self, response: Response) -> None:
        self._response = response

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        with memoryview(data) as view:
            size = view.nbytes
        self._response.send(data)
        return size
