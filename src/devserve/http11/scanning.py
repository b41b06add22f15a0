"""Push-style scanning: bytes are fed in as they arrive; the scanner says when to go on.

Rule 1: a scanner answers one question, "can the next step run without waiting for the
client?", with the same rules as the pull parser that will then run: the limits of
:class:`~devserve.http11.limits.Limits`, line endings by
:func:`~devserve.http11.fields.line_content`, request lines by
:func:`~devserve.http11.head.has_field_section`, chunk-size lines by
:func:`~devserve.http11.framing.chunk_size`.  ``tests/http11/test_scanning.py``
replays arbitrary bytes, split every way, to both and checks that they agree.
Rule 2: scanning never blocks and never copies more than it keeps: a connection's I/O
thread feeds what ``recv`` returned and learns ``NEED_MORE`` (re-arm the socket) or
that a worker may take over; the bytes are handed to the pull parser as they came.
Rule 3: an error is not raised here: a scanner that meets one says ``READY``, so that
the parser which serves meets it too and answers with its status.
Rule 4: a body scanner asked to *decode* also keeps a chunked body's data, without its
framing, for :meth:`BodyScanner.take_data`: what passes a chunked body on unframed (to
an HTTP/1.0 client, to a WSGI server) reads the framing once, with these same checks.
"""

from __future__ import annotations

import enum

from .errors import ProtocolError
from .fields import TOKEN, line_content
from .framing import check_trailers, chunk_size
from .head import has_field_section, parse_request_head
from .limits import DEFAULT_LIMITS, Limits

__all__ = ["BodyScanner", "HeadScanner", "Progress", "body_to_gather"]

# A request line starts with a method (a token) or an empty line; anything else cannot
# be HTTP/1.x, and the handler answers it at once (a TLS ClientHello, 0x16, above all).
_REQUEST_START = frozenset(
    byte for byte in range(256) if TOKEN.fullmatch(bytes([byte])) or byte in b"\r\n"
)


class Progress(enum.Enum):
    """What a scanner learnt from the bytes fed so far."""

    #: The step cannot run yet without waiting for the client.
    NEED_MORE = "need more"
    #: The step can run on what has arrived: it completes, or it fails with a status.
    READY = "ready"


class HeadScanner:
    """Learn, as bytes arrive, when a request head can be parsed without waiting.

    Feed each piece received with :meth:`feed`; it returns :attr:`Progress.READY`
    once :func:`~devserve.http11.head.read_request_line` and
    :func:`~devserve.http11.head.parse_request` would finish (or fail) on the
    bytes fed so far, and :attr:`Progress.NEED_MORE` while they would wait.
    :attr:`end` is then the offset just past the head, when it is complete.
    """

    __slots__ = (
        "_budget", "_fields", "_in_fields", "_limits", "_max_fields", "_quick_size", "_skipped",
        "_start", "_strict", "data", "end",
    )  # fmt: skip

    #: The bytes fed so far.
    data: bytearray
    #: The offset just past a complete head, or ``None``.
    end: int | None

    def __init__(self, *, strict: bool, limits: Limits = DEFAULT_LIMITS) -> None:
        self._strict = strict
        self._limits = limits
        # A head this small cannot hold a line over any limit (the common case's test).
        self._quick_size = min(limits.max_request_line, limits.max_field_line, limits.max_head_size)
        self._max_fields = limits.max_fields
        self.reset()

    def reset(self) -> None:
        """Forget what was fed, to scan the next request's head with the same rules."""
        self.data = bytearray()
        self.end = None
        self._start = 0  # where the line being scanned starts
        self._in_fields = False
        self._skipped = False
        self._fields = 0
        self._budget = 0

    def keep(self, data: bytes) -> None:
        """Add *data* that follows a complete head (a body being gathered) unscanned."""
        self.data += data

    def feed(self, data: bytes) -> Progress:
        """Add *data*; say whether the head can now be read without waiting."""
        buffer = self.data
        buffer += data
        if self._start == 0 and buffer:
            if buffer[0] not in _REQUEST_START:
                return Progress.READY  # not HTTP/1.x: answered at once
            if self._whole_head_at_once(buffer):
                return Progress.READY
        return self._scan(buffer)

    def _whole_head_at_once(self, buffer: bytearray) -> bool:
        """The common case, decided without walking the lines: a small, whole, CRLF head.

        It holds when the first blank line ends a head whose every line ends in
        CRLF, that is shorter than any line limit (so no line is too long), has
        fewer fields than the limit and starts with a request line that has a
        header section; the line walk would stop at the same byte.
        """
        end = buffer.find(b"\r\n\r\n")
        size = end + 4
        if end < 0 or size > self._quick_size or buffer[0] == 13:  # 13: CR, an empty line
            return False
        lines = buffer.count(b"\n", 0, size)
        if lines != buffer.count(b"\r\n", 0, size) or lines - 2 >= self._max_fields:
            return False  # a bare LF, or too many fields: the line walk decides
        first = buffer.find(b"\r\n")
        try:
            if not has_field_section(bytes(buffer[:first]), strict=self._strict):
                return False
        except ProtocolError:
            return False
        self.end = size
        return True

    def _scan(self, buffer: bytearray) -> Progress:
        limits = self._limits
        while True:
            limit = limits.max_field_line if self._in_fields else limits.max_request_line
            start = self._start
            newline = buffer.find(b"\n", start)
            if newline < 0:
                # A read of limit + 1 bytes without a line feed is a line too long.
                return Progress.READY if len(buffer) - start > limit else Progress.NEED_MORE
            line = bytes(buffer[start : newline + 1])
            self._start = newline + 1
            if len(line) > limit:
                return Progress.READY
            if self._in_fields:
                if line == b"\r\n" or line == b"\n":
                    self.end = self._start
                    return Progress.READY
                self._fields += 1
                self._budget -= len(line)
                if self._fields >= self._limits.max_fields or self._budget < 0:
                    return Progress.READY
            elif not self._request_line(line):
                return Progress.READY

    def _request_line(self, line: bytes) -> bool:
        """Take a complete request line; return whether header lines follow it."""
        if self._strict and line == b"\r\n" and not self._skipped:
            self._skipped = True  # RFC 9112 §2.2: one empty line before a request
            return True
        try:
            content = line_content(line, strict=self._strict)
            if content is None or (not self._strict and not content.split()):
                return False
            if not has_field_section(content, strict=self._strict):
                return False  # HTTP/0.9: no header section
        except ProtocolError:
            return False
        self._in_fields = True
        self._budget = self._limits.max_head_size - len(line)
        return True


class BodyScanner:
    """Learn, as bytes arrive, where a request body ends, without decoding it.

    For a body of known *length*, or a chunked one (*length* ``None``): each
    :meth:`feed` returns how many of the bytes given belong to the body (the rest
    is the next request's), and :attr:`progress` is :attr:`Progress.READY` once
    the body's last byte has arrived, or once the chunked framing is malformed or
    over a limit: then :attr:`failed` is set, and the pull reader
    (:class:`~devserve.http11.framing.ChunkedReader`) meets the same fault on the
    same bytes and answers it.  With *decode*, a chunked body's data (its chunks
    without their framing) is kept for :meth:`take_data` (Rule 4).
    """

    __slots__ = (
        "_chunk_left", "_data", "_length", "_limits", "_line", "_state", "_total", "_trailers",
        "failed", "progress", "size",
    )  # fmt: skip

    def __init__(
        self, length: int | None, limits: Limits = DEFAULT_LIMITS, *, decode: bool = False
    ) -> None:
        self._length = length
        self._data: bytearray | None = bytearray() if decode and length is None else None
        self._limits = limits
        self._state = _SIZE
        self._line = bytearray()
        self._chunk_left = 0
        self._total = 0
        self._trailers: list[bytes] = []
        #: Whether the rest of the body can be read without waiting.
        self.progress = Progress.READY if length == 0 else Progress.NEED_MORE
        #: Whether the chunked framing was found malformed or over a limit.
        self.failed = False
        #: The bytes of the body fed so far, framing included.
        self.size = 0

    def feed(self, data: bytes) -> int:
        """Add *data*; return how many of its bytes belong to the body."""
        if self.progress is Progress.READY:
            return 0
        if self._length is not None:
            used = min(len(data), self._length - self.size)
            self.size += used
            if self.size == self._length:
                self.progress = Progress.READY
            return used
        used = 0
        while used < len(data) and self.progress is Progress.NEED_MORE:
            if self._state == _DATA:
                take = min(len(data) - used, self._chunk_left)
                if self._data is not None:
                    self._data += memoryview(data)[used : used + take]  # one copy, not two
                self._chunk_left -= take
                used += take
                if self._chunk_left == 0:
                    self._state = _DATA_END
                continue
            want = 2 - len(self._line) if self._state == _DATA_END else None
            used = self._take_line(data, used, want)
        self.size += used
        return used

    def take_data(self) -> bytes:
        """Return the chunk data fed since the last call, and forget it (*decode* only).

        .. versionadded:: 0.1
        """
        data = self._data
        if not data:
            return b""
        taken = bytes(data)
        data.clear()
        return taken

    def _take_line(self, data: bytes, used: int, want: int | None) -> int:
        # A chunk-size or trailer line (up to its LF), or the two bytes after chunk data.
        if want is not None:
            end = min(len(data), used + want)
        else:
            newline = data.find(b"\n", used)
            end = len(data) if newline < 0 else newline + 1
        self._line += data[used:end]
        if self._state == _DATA_END:
            if len(self._line) == 2:
                # Chunk data is followed by exactly CRLF (h11 CVE-2025-43859).
                self._end(failed=self._line != b"\r\n", more=_SIZE)
            return end
        limit = self._limits.max_chunk_line if self._state == _SIZE else self._limits.max_field_line
        if not self._line.endswith(b"\n"):
            if len(self._line) > limit:  # a read of limit + 1 bytes found no line feed
                self._end(failed=True)
            return end
        line, self._line = bytes(self._line), bytearray()
        if len(line) > limit:
            self._end(failed=True)
        elif self._state == _SIZE:
            self._size_line(line)
        else:
            self._trailer_line(line)
        return end

    def _size_line(self, line: bytes) -> None:
        try:
            size = chunk_size(line, self._limits)
        except ProtocolError:
            self._end(failed=True)
            return
        if size == 0:
            self._state = _TRAILER
            return
        self._total += size
        limit = self._limits.max_body_size
        if limit is not None and self._total > limit:
            self._end(failed=True)
            return
        self._chunk_left = size
        self._state = _DATA

    def _trailer_line(self, line: bytes) -> None:
        # As read_field_lines(strict=True) then check_trailers() read them.
        if line == b"\r\n":
            try:
                check_trailers(self._trailers)
            except ProtocolError:
                self._end(failed=True)
            else:
                self._end(failed=False)
            return
        self._trailers.append(line)
        used = sum(len(trailer) for trailer in self._trailers)
        limits = self._limits
        if line == b"\n" or len(self._trailers) >= limits.max_fields or used > limits.max_head_size:
            self._end(failed=True)

    def _end(self, *, failed: bool, more: int | None = None) -> None:
        self._line = bytearray()
        if more is not None and not failed:
            self._state = more
            return
        self.failed = failed
        self.progress = Progress.READY


_SIZE, _DATA, _DATA_END, _TRAILER = range(4)


def body_to_gather(
    head: bytes | bytearray, *, strict: bool, limits: Limits = DEFAULT_LIMITS
) -> BodyScanner | None:
    """Return a scanner for the body the complete request *head* announces, or ``None``.

    ``None`` means there is nothing to gather before the request is served: no body;
    a head the handler refuses (it answers at once, and closes); a declared length
    over :attr:`~devserve.http11.Limits.max_body_size` (413 at once); or an
    ``Expect`` field, which the handler answers before the client sends the body
    (RFC 9110 §10.1.1).
    """
    lowered = head.lower()
    if b"content-length" not in lowered and b"transfer-encoding" not in lowered:
        return None  # the common case, decided without parsing
    try:
        parsed, _ = parse_request_head(bytes(head), strict=strict, limits=limits)
    except ProtocolError:
        return None
    if parsed.expect is not None:
        return None
    if parsed.chunked:
        return BodyScanner(None, limits)
    length = parsed.content_length
    limit = limits.max_body_size
    if not length or (limit is not None and length > limit):
        return None
    return BodyScanner(length, limits)
