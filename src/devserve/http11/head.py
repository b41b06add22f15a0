"""Request heads: bytes in, values out.

Rule 1: wire data is parsed as bytes with explicit ASCII classes; text is made with
latin-1 only after validation.  No ``int()`` on unvalidated digits, no argument-less
``strip()``, no ``splitlines()``, no Unicode ``lower()``: each of those has let a
smuggled request through some Python server (see docs/http-support).
Rule 2: framing checks are never relaxed.  ``strict=False`` only keeps the leniencies
of :mod:`http.server` that code written for it relies on: bare LF line ends, runs of
blanks in the request line, leading zeros in the version, raw non-ASCII bytes in the
target, HTTP/0.9, a missing ``Host`` and a repeated ``Content-Type``.
Rule 3: nothing here reads a socket; :func:`~devserve.http11.read_field_lines` pulls lines from any
binary file object, so the same code runs on a socket's reader or on test bytes.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import NamedTuple

from .errors import (
    BadFraming,
    BadHeader,
    BadRequestLine,
    IncompleteMessage,
    UnsupportedHTTPVersion,
    URITooLong,
)
from .fields import (
    TCHAR,
    TOKEN,
    LineSource,
    check_given_fields,
    line_content,
    parse_fields,
    read_field_lines,
)
from .framing import content_length_value, transfer_coding_is_chunked
from .limits import DEFAULT_LIMITS, Limits
from .target import split_target

__all__ = [
    "RequestHead",
    "RequestLine",
    "check_request_line_length",
    "has_field_section",
    "head_from_fields",
    "parse_head",
    "parse_request",
    "parse_request_head",
    "parse_request_line",
    "read_request_line",
]

# RFC 9112 §3: method SP request-target SP HTTP-version, single spaces, DIGIT "." DIGIT.
# '#' is left out of the target class: a fragment is never sent (RFC 9112 §3.2).
_STRICT_REQUEST_LINE = re.compile(
    b"([" + TCHAR + rb"]+) ([\x21\x22\x24-\x7e]+) HTTP/([0-9])\.([0-9])"
)
# The lenient request line refuses every CTL but HTAB, as the strict one does.
_CONTROL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_ASCII_DIGITS = re.compile(rb"[0-9]{1,10}")
_ABSOLUTE_FORM = re.compile(rb"[A-Za-z][A-Za-z0-9+.\-]*://[\x21-\x7e]*")
_AUTHORITY_FORM = re.compile(rb"[A-Za-z0-9\-._~%!$&'()*+,;=]+:[0-9]+|\[[0-9A-Fa-f:.]+\]:[0-9]+")
_HOST = re.compile(
    rb"(?:\[[0-9A-Fa-f:.]+(?:%25[A-Za-z0-9\-._~]+)?\]|[A-Za-z0-9\-._~%!$&'()*+,;=]*)(?::[0-9]*)?"
)
_OWS = b" \t"

_CONTENT_LENGTH = 1
_TRANSFER_ENCODING = 2
_HOST_FIELD = 3
_CONNECTION = 4
_EXPECT = 5
_CONTENT_TYPE = 6
_SPECIAL_FIELDS = {
    b"content-length": _CONTENT_LENGTH,
    b"transfer-encoding": _TRANSFER_ENCODING,
    b"host": _HOST_FIELD,
    b"connection": _CONNECTION,
    b"expect": _EXPECT,
    b"content-type": _CONTENT_TYPE,
}


class RequestLine(NamedTuple):
    """A parsed request line; ``version`` is ``"HTTP/0.9"`` for a two-word line."""

    method: str
    target: str
    version: str
    version_info: tuple[int, int]


class RequestHead:
    """A parsed request head: the line, the fields, and the facts framing needs.

    ``fields`` keeps every header field in order, names in their original case,
    values latin-1 decoded with surrounding blanks removed.  ``content_length``
    is the declared body length and ``chunked`` whether the body is chunked; a
    request with neither has no body.  ``connection`` holds the lower-cased
    tokens of every ``Connection`` field.  ``host`` is the host the request is
    for: the authority of an absolute-form target, which replaces ``Host``
    (RFC 9112 §3.2.2), else the ``Host`` field's value, or ``None``.
    """

    __slots__ = ("chunked", "connection", "content_length", "expect", "fields", "host", "line")

    def __init__(
        self,
        line: RequestLine,
        fields: list[tuple[str, str]],
        content_length: int | None = None,
        chunked: bool = False,
        connection: tuple[str, ...] = (),
        host: str | None = None,
        expect: str | None = None,
    ) -> None:
        self.line = line
        self.fields = fields
        self.content_length = content_length
        self.chunked = chunked
        self.connection = connection
        self.host = host
        self.expect = expect

    def __repr__(self) -> str:
        return "RequestHead(%s)" % ", ".join(
            "%s=%r" % (name, getattr(self, name)) for name in _HEAD_FIELDS
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RequestHead):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in _HEAD_FIELDS)

    __hash__ = None  # type: ignore[assignment]  # mutable, as the dataclass was


_HEAD_FIELDS = ("line", "fields", "content_length", "chunked", "connection", "host", "expect")


def parse_request_line(content: bytes, *, strict: bool) -> RequestLine:
    """Parse a request line given without its line ending.

    Raises :class:`~devserve.http11.errors.ProtocolError` subclasses whose
    messages are the stdlib's own where the stdlib reports the same fault.
    """
    match = _STRICT_REQUEST_LINE.fullmatch(content)
    if match is not None:
        method, target, major, minor = match.groups()
        version_info = (major[0] - 48, minor[0] - 48)
        if version_info[0] >= 2 or (strict and version_info[0] == 0):
            raise _unsupported_version(major + b"." + minor)
        version = f"HTTP/{version_info[0]}.{version_info[1]}"
        if strict:
            _check_target_form(method, target, version)
        return RequestLine(method.decode("ascii"), target.decode("ascii"), version, version_info)
    if not strict:
        return _parse_lenient_request_line(content)
    try:
        version = _parse_lenient_request_line(content).version
    except UnsupportedHTTPVersion:
        # RFC 9112 §2.3: "HTTP/10.0" is not DIGIT "." DIGIT; a syntax error, not a
        # version to refuse with 505 as the stdlib does.
        version = "HTTP/0.9"
    raise BadRequestLine(
        f"Bad request syntax ({content.decode('latin-1')!r})",
        explain="devserve requires 'METHOD SP target SP HTTP/1.x' "
        "with single spaces and an ASCII target (RFC 9112 §3).",
        version=None if version == "HTTP/0.9" else version,
    )


def _unsupported_version(number: bytes) -> UnsupportedHTTPVersion:
    # No explanation of our own: http.server sends its default for 505.
    return UnsupportedHTTPVersion(f"Invalid HTTP version ({number.decode('latin-1')})")


def _check_target_form(method: bytes, target: bytes, version: str) -> None:
    # RFC 9112 §3.2: origin-form, absolute-form, authority-form (CONNECT, and
    # CONNECT only: RFC 9110 §9.3.6) and asterisk-form (OPTIONS only); else 400.
    if method == b"CONNECT":
        if _AUTHORITY_FORM.fullmatch(target):
            return
    elif target.startswith(b"/"):
        return
    elif target == b"*":
        if method == b"OPTIONS":
            return
    elif _ABSOLUTE_FORM.fullmatch(target):
        return
    raise BadRequestLine(
        f"Bad request target ({target.decode('latin-1')!r})",
        explain="The target must be a path, an absolute URI, '*' for OPTIONS "
        "or host:port for CONNECT.",
        version=version,
    )


def _parse_lenient_request_line(content: bytes) -> RequestLine:
    """The stdlib's algorithm: words split on blanks, the last one the version."""
    syntax = f"Bad request syntax ({content.decode('latin-1')!r})"
    # bytes.split() splits on ASCII whitespace only; the CTLs among it are refused
    # first, so words are separated by runs of SP and HTAB, as in http.server.
    if _CONTROL.search(content):
        raise BadRequestLine(syntax)
    words = content.split()
    if not words:
        raise BadRequestLine(syntax)
    version: str | None = None
    version_info = (0, 9)
    if len(words) >= 3:
        word = words[-1]
        version_info = _lenient_version(word)
        version = word.decode("latin-1")
    if len(words) not in (2, 3):
        raise BadRequestLine(syntax, version=version)
    method = words[0]
    if len(words) == 2 and method != b"GET":
        raise BadRequestLine(f"Bad HTTP/0.9 request type ({method.decode('latin-1')!r})")
    if not TOKEN.fullmatch(method):
        raise BadRequestLine(f"Bad request method ({method.decode('latin-1')!r})", version=version)
    return RequestLine(
        method.decode("latin-1"),
        words[1].decode("latin-1"),
        version or "HTTP/0.9",
        version_info,
    )


def _lenient_version(word: bytes) -> tuple[int, int]:
    # gh-103204: "HTTP/" then two runs of at most ten ASCII digits; leading zeros pass.
    number = word[5:] if word.startswith(b"HTTP/") else b""
    parts = number.split(b".")
    if len(parts) != 2 or not all(_ASCII_DIGITS.fullmatch(part) for part in parts):
        raise BadRequestLine(f"Bad request version ({word.decode('latin-1')!r})")
    version_info = (int(parts[0]), int(parts[1]))
    if version_info >= (2, 0):
        raise _unsupported_version(number)
    return version_info


def parse_head(
    line: RequestLine, lines: list[bytes], *, strict: bool, limits: Limits = DEFAULT_LIMITS
) -> RequestHead:
    """Build a :class:`RequestHead` from a parsed request line and its field lines.

    This is where framing is decided: see :mod:`devserve.http11.framing`.
    *limits* bounds the ``Content-Length`` digits.
    """
    return head_from_fields(line, parse_fields(lines, strict=strict), strict=strict, limits=limits)


def head_from_fields(
    line: RequestLine,
    pairs: list[tuple[bytes, bytes]],
    *,
    strict: bool,
    limits: Limits = DEFAULT_LIMITS,
) -> RequestHead:
    """Build a :class:`RequestHead` from a request line and its fields, valid already.

    *pairs* are ``(name, value)`` as :func:`~devserve.http11.parse_fields` returns them:
    a token and a value without CR, LF, NUL or surrounding blanks.  What
    :func:`parse_head` decides, this decides (it is its second half).
    """
    fields: list[tuple[str, str]] = []
    head = RequestHead(line, fields)
    lengths: list[bytes] = []
    codings: list[bytes] = []
    content_types = 0
    connection: list[str] = []
    special = _SPECIAL_FIELDS.get
    for name, value in pairs:
        text = value.decode("latin-1")
        fields.append((name.decode("latin-1"), text))
        kind = special(name.lower())
        if kind is None:
            continue
        if kind == _CONTENT_LENGTH:
            lengths.append(value)
        elif kind == _TRANSFER_ENCODING:
            codings.append(value)
        elif kind == _CONNECTION:
            connection.extend(_tokens(value))
        elif kind == _CONTENT_TYPE:
            # RFC 9110 §5.3: a singleton field sent twice has no single meaning; which
            # type the body has would depend on who reads it (gunicorn and waitress 400).
            if content_types and strict:
                raise BadHeader("Bad header", explain="Duplicate Content-Type header")
            content_types += 1
        elif kind == _HOST_FIELD:
            if head.host is not None:
                raise BadHeader("Bad header", explain="Duplicate Host header (RFC 9112 §3.2)")
            if not _HOST.fullmatch(value) or (strict and not value):
                raise BadHeader("Bad header", explain="Invalid Host header")
            head.host = text
        else:
            head.expect = text
    head.connection = tuple(connection)
    if strict and head.host is None and line.version_info >= (1, 1):
        raise BadHeader("Bad header", explain="Missing Host header (RFC 9112 §3.2)")
    if not line.target.startswith("/"):
        # RFC 9112 §3.2.2: the absolute form's authority is the host, whatever Host says.
        authority = split_target(line.target).authority
        if authority is not None:
            head.host = authority
    if codings:
        if lengths:
            raise BadFraming(
                "Bad framing",
                explain="Content-Length with Transfer-Encoding (RFC 9112 §6.1)",
            )
        if line.version_info < (1, 1):
            raise BadFraming(
                "Bad framing",
                explain="Transfer-Encoding in an HTTP/1.0 request (RFC 9112 §6.1)",
            )
        head.chunked = transfer_coding_is_chunked(codings)
    elif lengths:
        if len(lengths) > 1:
            raise BadFraming("Bad framing", explain="More than one Content-Length")
        head.content_length = content_length_value(lengths[0], limits)
    return head


def _tokens(value: bytes) -> list[str]:
    # RFC 9110 §5.6.1: a list; empty elements are ignored, tokens are case-insensitive.
    return [t.strip(_OWS).lower().decode("latin-1") for t in value.split(b",") if t.strip(_OWS)]


def has_field_section(content: bytes, *, strict: bool) -> bool:
    """Whether the request line *content* is followed by a header section.

    It is unless the line is HTTP/0.9 (lenient parsing only); a line that
    :func:`parse_request_line` refuses raises its error here too.  The common
    case costs one regular-expression match, because the connection's I/O thread
    asks it of every request line (:class:`~devserve.http11.scanning.HeadScanner`).
    """
    match = _STRICT_REQUEST_LINE.fullmatch(content)
    if match is not None and match[3] == b"1":
        method, target = match[1], match[2]
        if strict and not target.startswith(b"/"):
            _check_target_form(method, target, "HTTP/1." + chr(match[4][0]))
        return True
    return parse_request_line(content, strict=strict).version_info >= (1, 0)


def read_request_line(
    source: LineSource, *, strict: bool, limits: Limits = DEFAULT_LIMITS
) -> bytes:
    """Read a request line from *source* as a server does, its line ending included.

    A strict read skips one empty line before it (RFC 9112 §2.2).  Returns ``b""``
    at the end of input; raises :class:`~devserve.http11.URITooLong` for a line over
    :attr:`~devserve.http11.Limits.max_request_line`.
    """
    limit = limits.max_request_line
    raw = source.readline(limit + 1)
    if strict and raw == b"\r\n":
        raw = source.readline(limit + 1)
    check_request_line_length(raw, limits)
    return raw


def check_request_line_length(raw: bytes, limits: Limits = DEFAULT_LIMITS) -> None:
    """Raise :class:`~devserve.http11.URITooLong` for a request line over the limit.

    As :func:`read_request_line` checks a line it read; a line a server parsed already
    (:mod:`devserve.handler.given`) is checked alike.
    """
    if len(raw) > limits.max_request_line:
        raise URITooLong("Request-URI Too Long")


def parse_request(
    raw_line: bytes,
    source: LineSource,
    *,
    strict: bool,
    limits: Limits = DEFAULT_LIMITS,
    on_line: Callable[[RequestLine], None] | None = None,
    fields: list[tuple[bytes, bytes]] | None = None,
) -> RequestHead | None:
    """Parse the request whose line *raw_line* was read from *source*; read its fields from it.

    This is the request parser that serves: :meth:`BaseHTTPRequestHandler.parse_request
    <devserve.BaseHTTPRequestHandler.parse_request>` calls it, and so do
    :func:`parse_request_head`, the vectors and the fuzzer.  Returns ``None``
    when there is no request to answer: the input ended before a line ending
    (strict), or the line is blank (lenient, as :mod:`http.server` says nothing
    then).  Leniently, a line that ends with the input is parsed as it is.  An
    HTTP/0.9 request (lenient only) has no header section.  *on_line* is
    called with the request line as soon as it is parsed, before the header
    section is read (a server needs the method and version to answer whatever
    happens next: a bad field, a timeout).  *fields*, when given, are the request's
    fields parsed already (see :func:`head_from_fields`): nothing is read, and they
    are checked as lines read are, limits and syntax
    (:func:`~devserve.http11.fields.check_given_fields`).
    """
    content = line_content(raw_line, strict=strict)
    if content is None:
        if strict:
            return None
        content = raw_line
    if not strict and not content.split():
        return None
    line = parse_request_line(content, strict=strict)
    if on_line is not None:
        on_line(line)
    if line.version_info < (1, 0):
        return RequestHead(line, [])
    if fields is not None:
        check_given_fields(fields, limits=limits, head_size=len(raw_line))
        return head_from_fields(line, fields, strict=strict, limits=limits)
    lines = read_field_lines(source, limits=limits, head_size=len(raw_line), strict=strict)
    return parse_head(line, lines, strict=strict, limits=limits)


def parse_request_head(
    data: bytes | LineSource, *, strict: bool = True, limits: Limits = DEFAULT_LIMITS
) -> tuple[RequestHead, int]:
    """Parse a whole request head; return it and the number of bytes it used.

    *data* is the bytes of the head (anything after it is left alone) or a binary
    file object to read the head from, line by line, as a server does: it is
    left positioned at the first byte of the body.  It reads the line with
    :func:`read_request_line` and parses it with :func:`parse_request`, the
    handler's own path; where that finds no request to answer it raises
    :class:`~devserve.http11.IncompleteMessage`.
    """
    source = _CountingSource(io.BytesIO(data) if isinstance(data, bytes) else data)
    head = parse_request(
        read_request_line(source, strict=strict, limits=limits),
        source,
        strict=strict,
        limits=limits,
    )
    if head is None:
        raise IncompleteMessage("No request line")
    return head, source.used


class _CountingSource:
    """A line source that counts the bytes read through it."""

    def __init__(self, source: LineSource) -> None:
        self._readline = source.readline
        self.used = 0

    def readline(self, size: int = -1, /) -> bytes:
        line = self._readline(size)
        self.used += len(line)
        return line
