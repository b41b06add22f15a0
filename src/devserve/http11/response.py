"""Serialising responses: status lines, header fields, dates, and body rules.

Rule 1: nothing an application hands in reaches the wire unchecked: a CR or LF in a
name, value or reason phrase would start a second response (gunicorn
CVE-2018-1000164), so it raises :class:`ValueError` here instead.
Rule 2: bytes out are latin-1, as :mod:`http.server` encodes them.
"""

from __future__ import annotations

import re
import time
from email.utils import formatdate

from .fields import TOKEN_TEXT

__all__ = [
    "body_allowed",
    "check_field",
    "check_reason",
    "field_line",
    "http_date",
    "status_line",
]

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
