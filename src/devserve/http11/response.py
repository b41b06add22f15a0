"""Responses: status lines, header fields, dates, and how a body is framed.

Rule 1: nothing an application hands in reaches the wire unchecked: a CR or LF in a
name, value or reason phrase would start a second response (gunicorn
CVE-2018-1000164), so it raises :class:`ValueError` here instead.
Rule 2: bytes out are latin-1, as :mod:`http.server` encodes them.
Rule 3: framing is decided here, for every kind of response (a ``do_*`` method, a
WSGI application, a CGI script): a known length is sent as ``Content-Length``, an
unknown one chunked between HTTP/1.1 parties and delimited by closing otherwise
(RFC 9112 §6.3, §7); and the ``Connection`` field that goes with it.  The fields that
manage a connection are the server's alone (RFC 9110 §7.6.1).
"""

from __future__ import annotations

import enum
import re
import time
from email.utils import formatdate

from .fields import TOKEN_TEXT

__all__ = [
    "CONNECTION_FIELDS",
    "HOP_BY_HOP_FIELDS",
    "Framing",
    "body_allowed",
    "can_chunk",
    "check_field",
    "check_reason",
    "choose_framing",
    "connection_field",
    "connection_options",
    "field_line",
    "http_date",
    "parse_status",
    "status_line",
]

#: RFC 9110 §7.6.1: fields that describe one connection, which the server alone manages
#: (an application or a script setting one is refused or dropped).
CONNECTION_FIELDS = frozenset(
    {"connection", "proxy-connection", "keep-alive", "te", "transfer-encoding", "upgrade"}
)
#: RFC 9110 §7.6.1: what a proxy never forwards: the connection fields and ``Trailer``.
HOP_BY_HOP_FIELDS = CONNECTION_FIELDS | {"trailer"}
_STATUS = re.compile(r"([1-5][0-9][0-9])(?:[ \t]+(.*))?", re.DOTALL)


def connection_options(value: str) -> set[str]:
    """Return the lower-cased names a ``Connection`` field's *value* lists (RFC 9110 §7.6.1).

    Fields of those names belong to the connection too, as the hop-by-hop ones do;
    empty list elements are ignored.
    """
    return {name for token in value.split(",") if (name := token.strip(" \t").lower())}


class Framing(enum.Enum):
    """How the end of a response body is known."""

    #: No body: a reply to ``HEAD``, or a 1xx, 204, 205 or 304 status.
    NONE = "none"
    #: ``Content-Length``.
    LENGTH = "length"
    #: ``Transfer-Encoding: chunked``.
    CHUNKED = "chunked"
    #: The connection closes after the body.
    CLOSE = "close"


_TOKEN = re.compile(TOKEN_TEXT)
_UNSAFE_VALUE = re.compile(r"[\x00\r\n]")

_date_cache: tuple[int, str] = (0, "")


def http_date(timestamp: float | None = None) -> str:
    """Return *timestamp* (default: now) as an IMF-fixdate, e.g. ``Thu, 01 Jan 1970 00:00:00 GMT``.

    The current date is formatted once a second and cached: every response
    carries one, and :func:`email.utils.formatdate` costs more than the rest of a
    small response head.
    """
    global _date_cache
    if timestamp is not None:
        return formatdate(timestamp, usegmt=True)
    now = int(time.time())
    cached_second, text = _date_cache
    if cached_second != now:
        text = formatdate(now, usegmt=True)
        _date_cache = (now, text)
    return text


def check_field(name: str, value: str) -> None:
    """Raise :class:`ValueError` unless *name* is a token and *value* has no CR, LF or NUL."""
    if not _TOKEN.fullmatch(name):
        raise ValueError(f"invalid header name {name!r}")
    if _UNSAFE_VALUE.search(value):
        raise ValueError(
            f"invalid header value {value!r} for {name}: CR, LF and NUL are not allowed"
        )


def check_reason(reason: str) -> None:
    """Raise :class:`ValueError` if a reason phrase holds CR, LF or NUL."""
    if _UNSAFE_VALUE.search(reason):
        raise ValueError(f"invalid reason phrase {reason!r}: CR, LF and NUL are not allowed")


def status_line(version: str, code: int, reason: str) -> bytes:
    """Return the status line ``VERSION CODE REASON CRLF`` as bytes."""
    check_reason(reason)
    return f"{version} {code} {reason}\r\n".encode("latin-1", "strict")


_field_lines: dict[tuple[str, str], bytes] = {}
_FIELD_LINES_MAX = 512


def field_line(name: str, value: str) -> bytes:
    """Return one checked header field line, ``name: value CRLF``, as bytes."""
    key = (name, value)
    line = _field_lines.get(key)
    if line is None:
        # Most fields repeat (Server, Date within a second, Content-Type...): check and
        # encode each pair once.  The cache is dropped whole when full, never grown.
        check_field(name, value)
        line = f"{name}: {value}\r\n".encode("latin-1", "strict")
        if len(_field_lines) >= _FIELD_LINES_MAX:
            _field_lines.clear()
        _field_lines[key] = line
    return line


def body_allowed(code: int, method: str | None = None) -> bool:
    """Whether a response with status *code* to *method* carries a body.

    1xx, 204 and 304 never do (RFC 9110 §6.4.1), nor does 205 (RFC 9110
    §15.3.6), nor any answer to HEAD.
    """
    if method == "HEAD":
        return False
    return code >= 200 and code != 204 and code != 205 and code != 304


def can_chunk(request_version: str, protocol_version: str) -> bool:
    """Whether a response may be chunked: both the request and the server are HTTP/1.1.

    RFC 9112 §7: chunked is HTTP/1.1's, and a server must not send it to an
    HTTP/1.0 client (§6.1), nor in a response that says it is HTTP/1.0.
    """
    return request_version >= "HTTP/1.1" and protocol_version >= "HTTP/1.1"


def choose_framing(code: int, method: str | None, *, length: int | None, chunked: bool) -> Framing:
    """Frame a response with status *code* to *method* whose body has *length* bytes.

    *length* is ``None`` when the length is not known before the body is sent;
    *chunked* says whether chunking is possible (:func:`can_chunk`, and a sender
    that can chunk).
    """
    if not body_allowed(code, method):
        return Framing.NONE
    if length is not None:
        return Framing.LENGTH
    return Framing.CHUNKED if chunked else Framing.CLOSE


def connection_field(
    *, close: bool, framing: Framing, announce: bool, request_version: str
) -> str | None:
    """Return the ``Connection`` value a final response needs, or ``None`` for none.

    A body delimited by closing always says ``close``, so the client does not
    wait for more; otherwise *announce* (RFC 9112 §9.6's SHOULD, off in the
    drop-in classes) says ``close`` before a close and ``keep-alive`` to an
    HTTP/1.0 client whose connection persists (RFC 9112 §C.2.2).
    """
    if framing is Framing.CLOSE:
        return "close"
    if not announce:
        return None
    if close:
        return "close"
    return "keep-alive" if request_version == "HTTP/1.0" else None


def parse_status(text: str) -> tuple[int, str | None]:
    """Split a status given as text (``"404 Not Found"``) into its code and reason.

    The code is three digits from 100 to 599; the reason, after spaces or tabs,
    may be absent (``None``).  Raises :class:`ValueError` for anything else,
    including CR, LF and NUL anywhere.
    """
    match = _STATUS.fullmatch(text)
    if match is None:
        raise ValueError("status %r is not 'NNN Reason'" % text)
    check_reason(text)
    return int(match[1]), match[2]
