"""The body of one request, as an object its handler owns.

Rule 1: a body is read through the core's readers, which stop at the end of the body
and raise on a malformed, oversized or truncated one; nothing is parsed here.
Rule 2: a connection is never reused with unread body bytes in front of the next
request: what a ``do_*`` method left is read and discarded (up to
``limits.max_drain_size``), or the connection is closed when that cannot be done safely.
"""

from __future__ import annotations

import io
from typing import Any

from ..http11 import BodyTooLarge, ChunkedReader, LengthReader, Limits, ProtocolError, RequestHead

__all__ = ["RequestBody"]

_DRAIN_PIECE = 65536


class RequestBody:
    """The body of the request *head*, read from *rfile*, bounded by *limits*.

    *start* is ``rfile.tell()`` where the body begins (``-1`` when the stream
    cannot tell), so that :meth:`discard` knows how much a handler read by hand.
    """

    __slots__ = ("_head", "_limits", "_reader", "_rfile", "_start")

    def __init__(self, head: RequestHead, rfile: Any, limits: Limits, start: int) -> None:
        self._head = head
        self._rfile = rfile
        self._limits = limits
        self._start = start
        self._reader: LengthReader | ChunkedReader | None = None

    @property
    def present(self) -> bool:
        """Whether the request has a body at all."""
        return bool(self._head.content_length or self._head.chunked)

    def reader(self) -> LengthReader | ChunkedReader:
        """Return the reader of the decoded body, made on first use.

        A declared ``Content-Length`` over ``limits.max_body_size`` raises
        :class:`~devserve.http11.errors.BodyTooLarge` before anything is read.
        """
        reader = self._reader
        if reader is None:
            head = self._head
            if head.chunked:
                reader = ChunkedReader(self._rfile, self._limits)
            else:
                length = head.content_length or 0
                limit = self._limits.max_body_size
                if limit is not None and length > limit:
                    raise BodyTooLarge("Content Too Large", explain="the request body is too large")
                reader = LengthReader(self._rfile if length else io.BytesIO(), length)
            self._reader = reader
        return reader

    def discard(self) -> bool:
        """Read and drop what is left of the body; return whether the connection may persist."""
        if not self.present:
            return True
        reader = self._reader
        try:
            if reader is None:
                reader = self._rest_after_hand_reading()
                if reader is None:
                    return False
            budget = self._limits.max_drain_size
            while not reader.done and budget > 0:
                budget -= len(reader.read(min(_DRAIN_PIECE, budget)))
            return reader.done
        except (ProtocolError, OSError):
            return False

    def _rest_after_hand_reading(self) -> LengthReader | ChunkedReader | None:
        # A handler may read rfile itself, as stdlib handlers do: what it consumed
        # is rfile's position past the body's start.
        head = self._head
        try:
            consumed = int(self._rfile.tell()) - self._start
        except (OSError, AttributeError, ValueError):
            return None
        if self._start < 0 or consumed < 0 or (head.chunked and consumed):
            return None  # where a hand-read chunked body ends is unknown
        if head.chunked:
            return ChunkedReader(self._rfile, self._limits)
        length = head.content_length or 0
        if consumed > length:
            return None
        return LengthReader(self._rfile, length - consumed)
