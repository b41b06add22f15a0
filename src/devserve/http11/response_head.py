"""Reading a response head: its status line, its fields, and how its body is framed.

What the proxy reads from a backend and what :class:`~devserve.HandlerApp` reads back
from a handler are the same thing, decided here once.

Rule 1: a head is read leniently, as :mod:`http.client` reads one: lines end in CRLF
or a bare LF; the status line is ``HTTP/1.0`` or ``HTTP/1.1``, a three-digit code and
an optional reason; every field line must still be a valid field
(:func:`~devserve.http11.parse_fields`), and the limits of
:class:`~devserve.http11.limits.Limits` bound it.  Any fault is a
:class:`~devserve.http11.errors.ProtocolError`.
Rule 2: RFC 9112 §6.3 frames the body: none in an answer to ``HEAD`` nor with a 1xx,
204 or 304 status; chunked when ``Transfer-Encoding`` is (the only coding devserve
decodes, :func:`~devserve.http11.transfer_coding_is_chunked`), which overrides
``Content-Length``; else that length; else the body runs to the connection's close.
(205 is framed as any other status: :func:`~devserve.http11.body_allowed`
says what a server sends, this says what a reader expects.)
Rule 3: field lines repeat from response to response (all but ``Date``, within a
second): each distinct line (up to 1 KiB) is parsed once and remembered, in a table
dropped whole when full.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple, Protocol

from .errors import BadFraming, HeaderFieldsTooLarge, IncompleteMessage
from .fields import parse_fields, read_field_lines
from .framing import content_length_value, transfer_coding_is_chunked
from .limits import DEFAULT_LIMITS, Limits
from .response import Framing, connection_options, parse_status

__all__ = [
    "HEAD_END",
    "BufferedSource",
    "ResponseHead",
    "parse_response_head",
    "read_response_head",
]

_NO_OPTIONS: frozenset[str] = frozenset()
_STATUS_LINE = re.compile(rb"(HTTP/1\.[01]) (.*)", re.DOTALL)
#: The end of a head: its blank line, after a CRLF or a bare LF.
HEAD_END = re.compile(rb"\n\r?\n")


class ResponseHead(NamedTuple):
    """A response head, read: its status, its fields as sent, and its body's framing."""

    #: ``HTTP/1.0`` or ``HTTP/1.1``.
    version: str
    status: int
    #: The reason phrase, ``""`` when the status line had none.
    reason: str
    #: Every field, in order, as ``(name, value)`` text (latin-1).
    fields: list[tuple[str, str]]
    framing: Framing
    #: The body's length under :attr:`~devserve.http11.response.Framing.LENGTH`, else ``None``.
    length: int | None
    #: Whether the connection closes after this response (``Connection: close``,
    #: HTTP/1.0 without ``keep-alive``, or a body delimited by the close).
    closes: bool
    #: The lower-cased options ``Connection`` lists: fields of those names belong to
    #: the connection too (RFC 9110 §7.6.1), as the hop-by-hop ones do.
    connection: frozenset[str]


class BufferedSource(Protocol):
    """What :func:`read_response_head` needs of a stream: a buffered binary reader's."""

    def peek(self, size: int = 0, /) -> bytes: ...

    def read(self, size: int = -1, /) -> bytes: ...

    def readline(self, size: int = -1, /) -> bytes: ...


def read_response_head(
    source: BufferedSource, method: str | None, limits: Limits = DEFAULT_LIMITS
) -> ResponseHead:
    """Read one response head from *source*, the answer to a *method* request.

    What follows the head (the body's start) stays in *source*.  A head that arrived
    whole is taken in one read; one that arrives in pieces line by line.
    """
    ahead = source.peek(limits.max_head_size)
    end = HEAD_END.search(ahead)
    if end is not None and end.end() <= limits.max_head_size:
        return parse_response_head(source.read(end.end()), method, limits)
    line = source.readline(limits.max_request_line + 2)  # the line, its CR and its LF
    if not line:
        raise IncompleteMessage("Incomplete response", explain="the connection closed")
    if not line.endswith(b"\n"):
        raise HeaderFieldsTooLarge("Status line too long", explain="the status line is too long")
    # Bare LF lines are read (strict=False), but a head the close cut is no head: the
    # blank line must come, or a cut answer would pass for a whole one.
    fields = read_field_lines(source, limits=limits, head_size=len(line), strict=False,
                              must_end=True)  # fmt: skip
    lines = [line, *fields]
    # The blank line as one LF: read_field_lines has counted the head against its limit.
    return parse_response_head(b"".join(lines) + b"\n", method, limits)


def parse_response_head(
    head: bytes, method: str | None = None, limits: Limits = DEFAULT_LIMITS
) -> ResponseHead:
    """Parse a whole response *head*, status line to blank line, answering a *method* request."""
    if len(head) > limits.max_head_size:
        raise HeaderFieldsTooLarge(
            "Response head too large",
            explain="the response head is larger than %d bytes" % limits.max_head_size,
        )
    lines = head.split(b"\n")
    if len(lines) < 3 or lines[-1] or lines[-2] not in (b"", b"\r"):
        raise IncompleteMessage("Incomplete response head", explain="no blank line ends it")
    del lines[-2:]  # the blank line, and the empty rest after its LF
    if len(lines) > limits.max_fields:
        raise HeaderFieldsTooLarge("Too many headers", explain="more than %d fields"
                                   % (limits.max_fields - 1))  # fmt: skip
    status = _status_lines.get(lines[0])
    if status is None or status[0] is not limits:
        status = _status_line(lines[0], limits)
    _, version, code, reason = status
    fields: list[tuple[str, str]] = []
    length: int | None = None
    codings: list[bytes] = []
    options: frozenset[str] = _NO_OPTIONS
    known = _field_lines
    for line in lines[1:]:
        field = known.get(line)
        if field is None or field[0] is not limits:
            field = _field(line, limits)
        _, name, value, lower, size = field
        fields.append((name, value))
        if size is not None:  # Content-Length
            if length is not None and length != size:
                raise BadFraming("Bad Content-Length", explain="two different lengths")
            length = size
        elif lower == "transfer-encoding":
            codings.append(value.encode("latin-1"))
        elif lower == "connection":
            options = options | connection_options(value)
    closes = "close" in options or (version == "HTTP/1.0" and "keep-alive" not in options)
    if codings and version == "HTTP/1.0":
        closes = True  # RFC 9112 §6.1: framing an HTTP/1.0 message may not be trusted
    if method == "HEAD" or code < 200 or code == 204 or code == 304:
        framing, length = Framing.NONE, None
    elif codings:
        transfer_coding_is_chunked(codings)
        framing, length = Framing.CHUNKED, None
    elif length is not None:
        framing = Framing.LENGTH
    else:
        framing, closes = Framing.CLOSE, True
    return ResponseHead(version, code, reason, fields, framing, length, closes, options)


# A status line (without its LF) -> the limits it was read under, version, code and
# reason; a field line -> those limits, name, value, lower-cased name and, for
# Content-Length, the length (Rule 3).  A line read under other limits is read again.
_status_lines: dict[bytes, tuple[Limits, str, int, str]] = {}
_field_lines: dict[bytes, tuple[Limits, str, str, str, int | None]] = {}
_LINES_MAX = 512
_LINE_MAX = 1024


def _remember(known: dict[bytes, Any], line: bytes, value: Any) -> None:
    if len(line) > _LINE_MAX:
        return  # a long line is rare, and would pin its bytes: read again each time
    if len(known) >= _LINES_MAX:
        known.clear()
    known[line] = value


def _status_line(line: bytes, limits: Limits) -> tuple[Limits, str, int, str]:
    content = line[:-1] if line.endswith(b"\r") else line
    if len(content) > limits.max_request_line:
        raise HeaderFieldsTooLarge("Status line too long", explain="the status line is too long")
    match = _STATUS_LINE.fullmatch(content)
    if match is None:
        raise BadFraming("Bad status line", explain="the response is not HTTP/1.0 or HTTP/1.1")
    try:
        code, reason = parse_status(match[2].decode("latin-1"))
    except ValueError as error:
        raise BadFraming("Bad status line", explain=str(error)) from None
    status = (limits, match[1].decode("ascii"), code, reason or "")
    _remember(_status_lines, line, status)
    return status


def _field(line: bytes, limits: Limits) -> tuple[Limits, str, str, str, int | None]:
    if len(line) >= limits.max_field_line:
        raise HeaderFieldsTooLarge("Line too long", explain="a response header line is too long")
    [(name, value)] = parse_fields([line + b"\n"], strict=False)
    text, value_text = name.decode("latin-1"), value.decode("latin-1")
    lower = text.lower()
    length = content_length_value(value_text, limits) if lower == "content-length" else None
    field = (limits, text, value_text, lower, length)
    _remember(_field_lines, line, field)
    return field
