"""Message framing: body lengths, chunked bodies, and whether a connection persists.

Rule 1: a request body is framed by exactly one of ``Content-Length`` (decimal
digits, one field) or ``Transfer-Encoding`` whose final coding is ``chunked``;
anything else is a 400 or 501 and the connection is closed (RFC 9112 §6).
Rule 2: readers never return bytes past the end of their body, and raise
:class:`~devserve.http11.errors.IncompleteMessage` rather than hand a truncated
body to an application.
Rule 3: readers pull from any buffered binary file object; nothing here touches a
socket.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Protocol

from .errors import (
    BadFraming,
    BadHeader,
    BodyTooLarge,
    IncompleteMessage,
    UnsupportedTransferCoding,
)
from .fields import TCHAR, TOKEN, parse_fields, read_field_lines
from .limits import DEFAULT_LIMITS, Limits

__all__ = [
    "FORBIDDEN_TRAILERS",
    "BodySource",
    "ChunkedReader",
    "ChunkedWriter",
    "LengthReader",
    "check_trailers",
    "chunk_size",
    "content_length_value",
    "keep_alive",
    "transfer_coding_is_chunked",
]

_DIGITS = re.compile(rb"[0-9]+")
_OWS = b" \t"
_QUOTED = rb'"(?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x21-\x7e\x80-\xff])*"'
_TOKEN_CLASS = b"[" + TCHAR + b"]+"
# RFC 9112 §7.1: chunk-size [ chunk-ext ] CRLF, with
# chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ( token / quoted-string ) ] ).
# Every repetition must consume a ';', so the pattern cannot backtrack badly.
_CHUNK_LINE = re.compile(
    rb"([0-9A-Fa-f]+)((?:[ \t]*;[ \t]*"
    + _TOKEN_CLASS
    + rb"(?:[ \t]*=[ \t]*(?:"
    + _TOKEN_CLASS
    + b"|"
    + _QUOTED
    + rb"))?)*)\r\n"
)
# BufferedReader.read(n) allocates n bytes before reading any: a length the
# client declared must never size an allocation (MemoryError, OverflowError), so
# bodies are read at most this many bytes at a time.
_PIECE = 1 << 16
# RFC 9110 §6.5.1: fields that frame, route or authenticate a message are not
# accepted as trailers; merging them is how a trailer smuggles a second framing.
FORBIDDEN_TRAILERS = frozenset(
    {
        b"content-length",
        b"transfer-encoding",
        b"host",
        b"content-type",
        b"trailer",
        b"authorization",
        b"cookie",
        b"set-cookie",
        b"expect",
        b"connection",
        b"te",
    }
)


class BodySource(Protocol):
    """What body readers need of a file object: ``read`` and ``readline``."""

    def read(self, size: int = -1, /) -> bytes: ...

    def readline(self, size: int = -1, /) -> bytes: ...


def content_length_value(value: bytes | str, limits: Limits = DEFAULT_LIMITS) -> int:
    """Return the length a ``Content-Length`` field value declares.

    The value must be ``1*DIGIT`` (RFC 9110 §8.6): signs, ``_``, hex prefixes,
    blanks inside, lists and non-ASCII digits are all a 400, because ``int()``
    accepting them is how CVE-2022-24761 smuggled requests.  Leading zeros are
    decimal.  A length with more significant digits than the limit is a 413,
    decided before any number is built.  A response's length (from a WSGI
    application or a CGI script) is checked by the same rule, given as text.
    """
    if isinstance(value, str):
        value = value.encode("latin-1", "replace")
    if not _DIGITS.fullmatch(value):
        raise BadFraming("Bad Content-Length", explain="Content-Length must be decimal digits")
    significant = value.lstrip(b"0")
    if len(significant) > limits.max_content_length_digits:
        raise BodyTooLarge("Content Too Large", explain="Content-Length is too large")
    return int(significant or b"0")


def transfer_coding_is_chunked(values: list[bytes]) -> bool:
    """Check the ``Transfer-Encoding`` field values of a request; return ``True``.

    The codings of every field are read as one list (RFC 9110 §5.3), empty
    elements ignored.  ``chunked`` must be there exactly once and last, or the
    length cannot be known: 400 (RFC 9112 §6.3).  Any other coding before it is one
    devserve does not decode: 501 (RFC 9112 §6.1).
    """
    codings = []
    for value in values:
        for element in value.split(b","):
            element = element.strip(_OWS)
            if not element:
                continue
            if not TOKEN.fullmatch(element):
                raise BadFraming("Bad framing", explain="Invalid Transfer-Encoding")
            codings.append(element.lower())
    if not codings or codings[-1] != b"chunked" or codings.count(b"chunked") > 1:
        raise BadFraming(
            "Bad framing",
            explain="Transfer-Encoding must end in a single chunked (RFC 9112 §6.3)",
        )
    if len(codings) > 1:
        raise UnsupportedTransferCoding(
            "Not Implemented",
            explain=f"Transfer coding {codings[0].decode('latin-1')!r} is not supported",
        )
    return True


def keep_alive(
    version_info: tuple[int, int], connection: tuple[str, ...], *, server_http11: bool
) -> bool:
    """Decide whether the connection persists after this request.

    As in :mod:`http.server`, persistence needs the server to speak HTTP/1.1;
    then an HTTP/1.1 request persists unless it says ``close``, and an HTTP/1.0
    request persists only if it says ``keep-alive``.  Unlike :mod:`http.server`,
    ``Connection`` is read as a token list (``keep-alive, Upgrade`` counts).
    """
    if not server_http11 or "close" in connection:
        return False
    return version_info >= (1, 1) or "keep-alive" in connection


class LengthReader:
    """Read a body of known length from *source*; never a byte past its end.

    A source that ends early raises :class:`IncompleteMessage`.
    """

    def __init__(self, source: BodySource, length: int) -> None:
        self._source = source
        self.remaining = length

    @property
    def done(self) -> bool:
        """Whether the whole body has been read."""
        return self.remaining == 0

    def read(self, size: int = -1) -> bytes:
        """Read up to *size* bytes (all that is left if *size* is negative)."""
        remaining = self.remaining
        if size < 0 or size > remaining:
            size = remaining
        parts = []
        while size > 0:
            want = size if size < _PIECE else _PIECE
            data = self._source.read(want)
            self._consume(data, complete=len(data) == want)
            parts.append(data)
            size -= want
        return b"".join(parts)

    def readline(self, size: int = -1) -> bytes:
        """Read one line, at most *size* bytes of it."""
        remaining = self.remaining
        if size < 0 or size > remaining:
            size = remaining
        if size == 0:
            return b""
        data = self._source.readline(size)
        self._consume(data, complete=len(data) == size or data.endswith(b"\n"))
        return data

    def _consume(self, data: bytes, *, complete: bool) -> None:
        self.remaining -= len(data)
        if not data or not complete:
            raise IncompleteMessage("Incomplete body", explain="the client closed the connection")


class ChunkedReader:
    """Decode a chunked body (RFC 9112 §7.1) from *source*.

    Chunk extensions are validated and ignored; trailer fields are validated and
    kept in :attr:`trailers`, never merged into the header fields.  Every syntax
    fault is a 400: sizes that are not plain hex digits, a bad extension, chunk
    data not followed by CRLF, bare LF anywhere.  More than
    ``limits.max_body_size`` bytes of data is a 413.
    """

    def __init__(self, source: BodySource, limits: Limits = DEFAULT_LIMITS) -> None:
        self._source = source
        self._limits = limits
        self._left_in_chunk = 0
        self._total = 0
        #: Whether the last chunk and the trailer section have been read.
        self.done = False
        #: The trailer fields as ``(name, value)`` byte pairs, in order; filled when
        #: the body has been read to its end.
        self.trailers: list[tuple[bytes, bytes]] = []

    def read(self, size: int = -1) -> bytes:
        """Read *size* bytes of decoded data, fewer only at the end of the body.

        A negative *size* reads the whole body.
        """
        parts = []
        while size != 0 and self._chunk_available():
            want = self._left_in_chunk if size < 0 else min(size, self._left_in_chunk)
            if want > _PIECE:
                want = _PIECE
            data = self._source.read(want)
            self._consume(data, complete=len(data) == want)
            parts.append(data)
            if size > 0:
                size -= len(data)
        return b"".join(parts)

    def readline(self, size: int = -1) -> bytes:
        """Read one line of decoded data, at most *size* bytes of it."""
        parts = []
        while size != 0 and self._chunk_available():
            want = self._left_in_chunk if size < 0 else min(size, self._left_in_chunk)
            if want > _PIECE:
                want = _PIECE
            data = self._source.readline(want)
            ends_line = data.endswith(b"\n")
            self._consume(data, complete=len(data) == want or ends_line)
            parts.append(data)
            if size > 0:
                size -= len(data)
            if ends_line:
                break
        return b"".join(parts)

    def __iter__(self) -> Iterator[bytes]:
        while self._chunk_available():
            yield self.read(min(self._left_in_chunk, _PIECE))

    def _chunk_available(self) -> bool:
        while self._left_in_chunk == 0 and not self.done:
            self._next_chunk()
        return not self.done

    def _consume(self, data: bytes, *, complete: bool) -> None:
        if not data or not complete:
            raise IncompleteMessage("Incomplete body", explain="the client closed the connection")
        self._left_in_chunk -= len(data)
        if self._left_in_chunk == 0:
            self._end_of_chunk_data()

    def _end_of_chunk_data(self) -> None:
        # h11 CVE-2025-43859: chunk data must be followed by exactly CRLF.
        crlf = self._source.read(2)
        if crlf != b"\r\n":
            if crlf in (b"", b"\r"):
                raise IncompleteMessage(
                    "Incomplete body", explain="the client closed the connection"
                )
            raise BadFraming("Bad chunked encoding", explain="chunk data not followed by CRLF")

    def _next_chunk(self) -> None:
        limits = self._limits
        size = chunk_size(self._source.readline(limits.max_chunk_line + 1), limits)
        if size == 0:
            lines = read_field_lines(self._source, limits=limits, strict=True)
            self.trailers = check_trailers(lines)
            self.done = True
            return
        self._total += size
        if limits.max_body_size is not None and self._total > limits.max_body_size:
            raise BodyTooLarge("Content Too Large", explain="the request body is too large")
        self._left_in_chunk = size


def chunk_size(line: bytes, limits: Limits = DEFAULT_LIMITS) -> int:
    """Return the size a chunk-size line declares; *line* is read with its line ending.

    The line is ``1*HEXDIG [ chunk-ext ] CRLF`` (RFC 9112 §7.1): anything else,
    a line over :attr:`~devserve.http11.Limits.max_chunk_line` or a size with more significant
    digits than :attr:`~devserve.http11.Limits.max_chunk_size_digits` is a 400; a line without
    its line ending means the input ended.
    """
    if len(line) > limits.max_chunk_line:
        raise BadFraming("Bad chunked encoding", explain="chunk-size line too long")
    match = _CHUNK_LINE.fullmatch(line)
    if match is None:
        if not line.endswith(b"\n"):
            # Shorter than the limit and no LF: the input ended.
            raise IncompleteMessage("Incomplete body", explain="the client closed the connection")
        raise BadFraming("Bad chunked encoding", explain="invalid chunk-size line")
    digits = match[1].lstrip(b"0")
    if len(digits) > limits.max_chunk_size_digits:
        raise BadFraming("Bad chunked encoding", explain="chunk size too large")
    return int(digits or b"0", 16)


def check_trailers(lines: list[bytes]) -> list[tuple[bytes, bytes]]:
    """Validate the lines of a trailer section; return its fields as byte pairs.

    Each line is a field line as in a header section (strictly), and none may
    name a field that frames, routes or authenticates the message.
    """
    trailers = parse_fields(lines, strict=True)
    for name, _value in trailers:
        if name.lower() in FORBIDDEN_TRAILERS:
            raise BadHeader(
                "Bad header",
                explain=f"{name.decode('latin-1')} is not allowed in a trailer (RFC 9110 §6.5.1)",
            )
    return trailers


class ChunkedWriter:
    """Encode a response body as chunks (RFC 9112 §7.1), the inverse of :class:`ChunkedReader`."""

    @staticmethod
    def chunk(data: bytes) -> bytes:
        """Return *data* framed as one chunk; empty data gives no bytes at all."""
        if not data:
            return b""
        return b"%x\r\n%s\r\n" % (len(data), data)

    @staticmethod
    def last_chunk() -> bytes:
        """Return the zero-size chunk and the empty trailer section."""
        return b"0\r\n\r\n"
