"""A chunked body the handler writes, decoded as it is written (RFC 9112 §7.1)."""

from __future__ import annotations

from collections.abc import Callable

from ...http11 import (
    DEFAULT_LIMITS,
    ProtocolError,
)
from ...http11.framing import chunk_size
from .errors import HandlerAppError

__all__ = ["ChunkDecoder"]


class ChunkDecoder:
    """Decode a chunked body as it is written (RFC 9112 §7.1), passing the data on.

    Chunk-size lines are read by the core's :func:`~devserve.http11.framing.chunk_size`;
    trailer fields are dropped, as WSGI has no way to send them.
    """

    __slots__ = ("_left", "_line", "_pass_on", "_state", "done")

    def __init__(self, pass_on: Callable[[bytes], None]) -> None:
        self._pass_on = pass_on
        self._line = bytearray()
        self._left = 0
        self._state = _SIZE
        #: Whether the last chunk and the trailer section were written.
        self.done = False

    def feed(self, data: bytes) -> None:
        at = 0
        while at < len(data) and not self.done:
            if self._state == _DATA:
                end = min(len(data), at + self._left)
                self._pass_on(data[at:end])
                self._left -= end - at
                at = end
                if self._left == 0:
                    self._state = _DATA_END
            else:
                at = self._take_line(data, at)

    def _take_line(self, data: bytes, at: int) -> int:
        newline = data.find(b"\n", at)
        end = len(data) if newline < 0 else newline + 1
        self._line += data[at:end]
        if len(self._line) > DEFAULT_LIMITS.max_field_line:
            raise HandlerAppError("the handler's chunked body has a line that never ends")
        if newline >= 0:
            line, self._line = bytes(self._line), bytearray()
            self._end_of_line(line)
        return end

    def _end_of_line(self, line: bytes) -> None:
        if self._state == _DATA_END:
            if line != b"\r\n":
                raise HandlerAppError("the handler's chunk data is not followed by CRLF")
            self._state = _SIZE
        elif self._state == _SIZE:
            try:
                size = chunk_size(line)
            except ProtocolError as error:
                raise HandlerAppError("the handler's chunked body: %s" % error) from None
            self._state, self._left = (_TRAILER, 0) if size == 0 else (_DATA, size)
        elif line in (b"\r\n", b"\n"):
            self.done = True  # the trailer section's end; its fields are dropped


_SIZE, _DATA, _DATA_END, _TRAILER = range(4)
