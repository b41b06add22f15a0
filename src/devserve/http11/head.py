"""Request heads: bytes in, values out.

Rule 1: wire data is parsed as bytes with explicit ASCII classes; text is made with
latin-1 only after validation.  No ``int()`` on unvalidated digits, no argument-less
``strip()``, no ``splitlines()``, no Unicode ``lower()``: each of those has let a
smuggled request through some Python server (see docs/http-support).
Rule 2: framing checks are never relaxed.  ``strict=False`` only keeps the leniencies
of :mod:`http.server` that code written for it relies on: bare LF line ends, runs of
blanks in the request line, leading zeros in the version, raw non-ASCII bytes in the
target, HTTP/0.9 and a missing ``Host``.
Rule 3: nothing here reads a socket; :func:`read_field_lines` pulls lines from any
binary file object, so the same code runs on a socket's reader or on test bytes.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

from .errors import (
    BadFraming,
    BadHeader,
    BadRequestLine,
    HeaderFieldsTooLarge,
    IncompleteMessage,
    UnsupportedHTTPVersion,
    URITooLong,
)
from .fields import line_content, parse_fields, read_field_lines
from .framing import content_length_value, transfer_coding_is_chunked
from .limits import DEFAULT_LIMITS, Limits

__all__ = [
    "RequestHead",
    "RequestLine",
    "parse_head",
    "parse_request_head",
    "parse_request_line",
]

_TCHAR = rb"!#$%&'*+\-.^_`|~0-9A-Za-z"
_TOKEN = re.compile(b"[" + _TCHAR + b"]+")
# RFC 9112 §3: method SP request-target SP HTTP-version, single spaces, DIGIT "." DIGIT.
# '#' is left out of the target class: a fragment is never sent (RFC 9112 §3.2).
_STRICT_REQUEST_LINE = re.compile(
    b"([" + _TCHAR + rb"]+) ([\x21\x22\x24-\x7e]+) HTTP/([0-9])\.([0-9])"
)
# Field line: the name class excludes ':' and the value class excludes CTLs other
# than HTAB, so matching is linear and cannot backtrack (waitress CVE-2020-5236).
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
_SPECIAL_FIELDS = {
    b"content-length": _CONTENT_LENGTH,
    b"transfer-encoding": _TRANSFER_ENCODING,
    b"host": _HOST_FIELD,
    b"connection": _CONNECTION,
    b"expect": _EXPECT,
}


@dataclass(slots=True)
class RequestLine:
    """A parsed request line; ``version`` is ``"HTTP/0.9"`` for a two-word line."""

    method: str
    target: str
    version: str
    version_info: tuple[int, int]


@dataclass(slots=True)
class RequestHead:
    """A parsed request head: the line, the fields, and the facts framing needs.

    ``fields`` keeps every header field in order, names in their original case,
    values latin-1 decoded with surrounding blanks removed.  ``content_length``
    is the declared body length and ``chunked`` whether the body is chunked; a
    request with neither has no body.  ``connection`` holds the lower-cased
    tokens of every ``Connection`` field.
    """

    line: RequestLine
    fields: list[tuple[str, str]]
    content_length: int | None = None
    chunked: bool = False
    connection: tuple[str, ...] = ()
    host: str | None = None
    expect: str | None = None


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
        if strict:
            _check_target_form(method, target)
        return RequestLine(
            method.decode("ascii"),
            target.decode("ascii"),
            "HTTP/%d.%d" % version_info,
            version_info,
        )
    line = _parse_lenient_request_line(content)
    if strict:
        raise BadRequestLine(
            "Bad request syntax (%r)" % content.decode("latin-1"),
            explain="devserve requires 'METHOD SP target SP HTTP/1.x' "
            "with single spaces and an ASCII target (RFC 9112 §3).",
            version=line.version if line.version != "HTTP/0.9" else None,
        )
    return line


def _unsupported_version(number: bytes) -> UnsupportedHTTPVersion:
    return UnsupportedHTTPVersion(
        "Invalid HTTP version (%s)" % number.decode("latin-1"),
        explain="Only HTTP/1.0 and HTTP/1.1 are served.",
    )


def _check_target_form(method: bytes, target: bytes) -> None:
    # RFC 9112 §3.2: origin-form, absolute-form, authority-form (CONNECT only)
    # and asterisk-form (OPTIONS only); anything else is a 400.
    if target.startswith(b"/"):
        return
    if target == b"*":
        if method == b"OPTIONS":
            return
    elif method == b"CONNECT":
        if _AUTHORITY_FORM.fullmatch(target):
            return
    elif _ABSOLUTE_FORM.fullmatch(target):
        return
    raise BadRequestLine(
        "Bad request target (%r)" % target.decode("latin-1"),
        explain="The target must be a path, an absolute URI, '*' for OPTIONS "
        "or host:port for CONNECT.",
        version="HTTP/1.1",
    )


def _parse_lenient_request_line(content: bytes) -> RequestLine:
    """The stdlib's algorithm: words split on blanks, the last one the version."""
    text = content.decode("latin-1")
    if _CONTROL.search(content.replace(b"\t", b" ")):
        raise BadRequestLine("Bad request syntax (%r)" % text)
    words = content.split()
    if not words:
        raise BadRequestLine("Bad request syntax (%r)" % text)
    version: str | None = None
    version_info = (0, 9)
    if len(words) >= 3:
        word = words[-1]
        version_info = _lenient_version(word)
        version = word.decode("latin-1")
    if len(words) not in (2, 3):
        raise BadRequestLine("Bad request syntax (%r)" % text, version=version)
    method = words[0]
    if len(words) == 2 and method != b"GET":
        raise BadRequestLine("Bad HTTP/0.9 request type (%r)" % method.decode("latin-1"))
    if not _TOKEN.fullmatch(method):
        raise BadRequestLine(
            "Bad request method (%r)" % method.decode("latin-1"), version=version
        )
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
        raise BadRequestLine("Bad request version (%r)" % word.decode("latin-1"))
    version_info = (int(parts[0]), int(parts[1]))
    if version_info >= (2, 0):
        raise _unsupported_version(number)
    return version_info


def parse_head(
    line: RequestLine, lines: list[bytes], *, strict: bool
) -> RequestHead:
    """Build a :class:`RequestHead` from a parsed request line and its field lines.

    This is where framing is decided: see :mod:`devserve.http11.framing`.
    """
    fields = []
    head = RequestHead(line, fields)
    lengths: list[bytes] = []
    codings: list[bytes] = []
    connection: list[str] = []
    special = _SPECIAL_FIELDS.get
    for name, value in parse_fields(lines, strict=strict):
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
        head.content_length = content_length_value(lengths[0])
    return head


def _tokens(value: bytes) -> list[str]:
    # RFC 9110 §5.6.1: a list; empty elements are ignored, tokens are case-insensitive.
    return [t.strip(_OWS).lower().decode("latin-1") for t in value.split(b",") if t.strip(_OWS)]


def parse_request_head(
    data: bytes, *, strict: bool = True, limits: Limits = DEFAULT_LIMITS
) -> tuple[RequestHead, int]:
    """Parse a whole request head from *data*; return it and the bytes it used.

    A convenience for tests and tools: servers read the request line and the
    field lines separately, as :class:`~devserve.BaseHTTPRequestHandler` does.
    """
    source = io.BytesIO(data)
    raw = source.readline(limits.max_request_line + 1)
    if len(raw) > limits.max_request_line:
        raise URITooLong("Request-URI Too Long")
    content = line_content(raw, strict=strict)
    if content is None:
        raise IncompleteMessage("Incomplete request line")
    line = parse_request_line(content, strict=strict)
    lines = read_field_lines(source, limits=limits, head_size=len(raw), strict=strict)
    return parse_head(line, lines, strict=strict), source.tell()
