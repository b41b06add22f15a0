"""``wsgi.input``: the request body, decoded, ending where the body ends.

Rule 1: the body is the handler's (:meth:`~devserve.BaseHTTPRequestHandler.body_reader`):
the same reader whether it was sent with ``Content-Length`` or chunked, so an
application may read to the end without trusting ``CONTENT_LENGTH``.
Rule 2: the first read says the application wants the body; that is when a pending
``Expect: 100-continue`` is answered (once), so an application that refuses a body
without reading it is never sent it.
Rule 3: a fault in the body (malformed, too large, too slow, cut off) is kept in
:attr:`WSGIInput.error`: it, not what the application made of it, decides the answer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from ..http11 import ChunkedReader, LengthReader, ProtocolError

__all__ = ["WSGIInput"]


class WSGIInput:
    """``wsgi.input`` for one request.

    *open_body* returns the body's reader; *before_first_read*, called once
    before it, answers ``Expect: 100-continue``.

    .. versionadded:: 0.1
    """

    __slots__ = ("_before_first_read", "_open_body", "_reader", "error")

    def __init__(
        self,
        open_body: Callable[[], LengthReader | ChunkedReader],
        before_first_read: Callable[[], None],
    ) -> None:
        self._open_body = open_body
        self._before_first_read = before_first_read
        self._reader: LengthReader | ChunkedReader | None = None
        #: What went wrong reading the body, if anything did.
        self.error: BaseException | None = None

    def _open(self) -> LengthReader | ChunkedReader:
        reader = self._reader
        if reader is None:
            self._before_first_read()
            reader = self._reader = self._open_body()
        return reader

    def read(self, size: int | None = -1) -> bytes:
        """Read up to *size* bytes; all that is left if *size* is negative or ``None``."""
        try:
            return self._open().read(-1 if size is None else size)
        except (ProtocolError, OSError) as error:
            self.error = error
            raise

    def readline(self, size: int | None = -1) -> bytes:
        """Read one line, at most *size* bytes of it."""
        try:
            return self._open().readline(-1 if size is None else size)
        except (ProtocolError, OSError) as error:
            self.error = error
            raise

    def readlines(self, hint: int | None = -1) -> list[bytes]:
        """Read lines until the end of the body, or until *hint* bytes have been read."""
        lines = []
        total = 0
        while line := self.readline():
            lines.append(line)
            total += len(line)
            if hint is not None and 0 < hint <= total:
                break
        return lines

    def __iter__(self) -> Iterator[bytes]:
        while line := self.readline():
            yield line
