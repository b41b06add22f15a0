"""The body of a response whose framing the core chose: what the bridges write through.

Rule 1: a producer that does not frame its own body (a WSGI application, a CGI script)
writes it through one :class:`ResponseBody`, so a declared length is kept to the byte
and a chunked body always ends with its last chunk, whoever produced it.
Rule 2: a body cannot be allowed to end cleanly when it is incomplete: bytes past a
declared length are dropped (and logged), and :meth:`ResponseBody.finish` says when
the body fell short, so the caller resets the connection instead of ending it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, BinaryIO

from ..http11 import ChunkedWriter
from ..http11.response import Framing
from ..net.streams import SocketWriter

__all__ = ["ResponseBody"]


class ResponseBody:
    """Write a response body to *wfile* in *framing*, *length* bytes if it is known.

    *writer* is the connection's own :class:`~devserve.net.streams.SocketWriter`
    when *wfile* is still it, for :meth:`sendfile`; *log_error* is told about a
    body longer or shorter than its declared length.
    """

    __slots__ = ("_log_error", "_write", "_writer", "framing", "remaining", "sent")

    def __init__(
        self,
        wfile: Any,
        framing: Framing,
        length: int | None,
        *,
        writer: SocketWriter | None,
        log_error: Callable[..., None],
    ) -> None:
        self._write = wfile.write
        self._writer = writer
        self._log_error = log_error
        #: How the body is framed.
        self.framing = framing
        #: Bytes still owed under a declared length, or ``None``.
        self.remaining = length if framing is Framing.LENGTH else None
        #: Bytes of body written so far (framing not counted).
        self.sent = 0

    def write(self, data: bytes) -> None:
        """Write *data* as the next part of the body."""
        if not data or self.framing is Framing.NONE:
            return
        remaining = self.remaining
        if remaining is not None:
            if len(data) > remaining:
                self._log_error("response longer than its Content-Length; extra bytes dropped")
                data = data[:remaining]
                if not data:
                    return
            self.remaining = remaining - len(data)
        self._write(ChunkedWriter.chunk(data) if self.framing is Framing.CHUNKED else data)
        self.sent += len(data)

    def can_sendfile(self) -> bool:
        """Whether :meth:`sendfile` can send a file without reading it into memory."""
        return self._writer is not None and self.framing in (Framing.LENGTH, Framing.CLOSE)

    def sendfile(self, file: BinaryIO, offset: int, count: int, *, last: bool = False) -> int:
        """Send *count* bytes of *file* from *offset* (see :meth:`can_sendfile`).

        With *last*, nothing follows but :meth:`finish`: the server may send the rest
        once the handler has returned.
        """
        assert self._writer is not None
        if self.remaining is not None:
            count = min(count, self.remaining)
        # Handed over only when it completes the body: a file short of the declared
        # length leaves the body incomplete, and the connection is then reset here.
        last = last and (self.remaining is None or count == self.remaining)
        sent = self._writer.sendfile(file, offset, count, last=last) if count else 0
        self.sent += sent
        if self.remaining is not None:
            self.remaining -= sent
        return sent

    def finish(self) -> bool:
        """End the body; return ``False`` when it is shorter than its declared length."""
        if self.framing is Framing.CHUNKED:
            self._write(ChunkedWriter.last_chunk())
        elif self.remaining:
            self._log_error(
                "response shorter than its Content-Length (%d bytes missing)", self.remaining
            )
            return False
        return True
