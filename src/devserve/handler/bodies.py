"""Request bodies for handlers: one reader for Content-Length and chunked, and draining.

Rule 1: a body is read through the HTTP/1.1 layer's readers, which stop at the end of
the body and raise on a malformed or truncated one; nothing is parsed here.
Rule 2: a connection is never reused with unread body bytes in front of the next
request: what a ``do_*`` method left is read and discarded (up to
``limits.max_drain_size``), or the connection is closed when that cannot be done safely.
"""

from __future__ import annotations

import io
from typing import Any, ClassVar

from ..http11 import (
    BodyTooLarge,
    ChunkedReader,
    LengthReader,
    Limits,
    ProtocolError,
    RequestHead,
)

__all__ = ["RequestBodyMixin"]

_NO_BODY = LengthReader(io.BytesIO(), 0)


class RequestBodyMixin:
    """Mix-in for :class:`~devserve.BaseHTTPRequestHandler`: reading and draining bodies.

    .. versionadded:: 0.1
    """

    # Provided by the handler.
    rfile: Any
    limits: ClassVar[Limits]
    request_head: RequestHead | None
    close_connection: bool
    _body: LengthReader | ChunkedReader | None = None
    _body_start = 0

    def body_reader(self) -> LengthReader | ChunkedReader:
        """Return a reader for the current request's body.

        The same reader whether the body is framed by ``Content-Length`` or is
        chunked: ``read(n)``, ``readline(n)`` and iteration return decoded bytes
        and stop at the end of the body, never in the next request.  Malformed or
        oversized bodies raise :class:`~devserve.http11.errors.ProtocolError`,
        which the handler answers with 400 or 413 if nothing was sent yet.

        .. versionadded:: 0.1
        """
        body = self._body
        if body is None:
            head = self.request_head
            if head is None or not (head.content_length or head.chunked):
                return _NO_BODY
            if head.chunked:
                body = ChunkedReader(self.rfile, self.limits)
            else:
                length = head.content_length or 0
                limit = self.limits.max_body_size
                if limit is not None and length > limit:
                    raise BodyTooLarge("Content Too Large", explain="the request body is too large")
                body = LengthReader(self.rfile, length)
            self._body = body
        return body

    def read_body(self, size: int = -1) -> bytes:
        """Read and return up to *size* bytes of the request body (all of it by default).

        .. versionadded:: 0.1
        """
        return self.body_reader().read(size)

    def _rfile_position(self) -> int:
        try:
            return int(self.rfile.tell())
        except (OSError, AttributeError, ValueError):
            return -1

    def _discard_unread_body(self) -> None:
        """Drain what the handler left of the body, or close the connection."""
        head = self.request_head
        if head is None or not (head.content_length or head.chunked):
            return
        body = self._body
        try:
            if body is None:
                start = self._body_start
                consumed = self._rfile_position() - start
                if start < 0 or consumed < 0 or (head.chunked and consumed):
                    # Read through rfile by hand: where the body ends is unknown.
                    self.close_connection = True
                    return
                if head.chunked:
                    body = ChunkedReader(self.rfile, self.limits)
                else:
                    length = head.content_length or 0
                    if consumed > length:
                        self.close_connection = True
                        return
                    body = LengthReader(self.rfile, length - consumed)
            budget = self.limits.max_drain_size
            while not body.done and budget > 0:
                budget -= len(body.read(min(65536, budget)))
            if not body.done:
                self.close_connection = True
        except (ProtocolError, OSError):
            self.close_connection = True
