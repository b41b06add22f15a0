"""Field lines: reading header and trailer sections, and validating each field.

Rule 1: a field line is ``token ":" OWS value OWS CRLF`` (RFC 9112 §5); obs-fold,
whitespace before the colon, and NUL, CR, LF or other control bytes in a value are
400s, whatever mode the caller is in.
Rule 2: the regular expression cannot backtrack: the name class excludes ':' and the
value class is one flat class (waitress CVE-2020-5236 was a backtracking header regex).
"""

from __future__ import annotations

import re
from typing import Protocol

from .errors import BadHeader, HeaderFieldsTooLarge, IncompleteMessage
from .limits import DEFAULT_LIMITS, Limits

__all__ = [
    "TCHAR",
    "TOKEN",
    "TOKEN_TEXT",
    "LineSource",
    "check_field_limits",
    "check_given_fields",
    "line_content",
    "parse_fields",
    "read_field_lines",
]

#: RFC 9110 §5.6.2 tchar, the one definition of a token in devserve (bytes and text).
TCHAR = rb"!#$%&'*+\-.^_`|~0-9A-Za-z"
TOKEN = re.compile(b"[" + TCHAR + b"]+")
TOKEN_TEXT = "[" + TCHAR.decode("ascii") + "]+"
_FIELD_LINE = re.compile(b"([" + TCHAR + rb"]+):([\t\x20-\x7e\x80-\xff]*)")
# Field names joined by ':', each a token; what a field value may not hold (CTLs but HTAB).
_NAMES = re.compile(b"[" + TCHAR + b"]+(?::[" + TCHAR + b"]+)*")
_VALUE_CONTROL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_OWS = b" \t"


class LineSource(Protocol):
    """What the readers need of a file object: :meth:`io.BufferedIOBase.readline`."""

    def readline(self, size: int = -1, /) -> bytes: ...


def line_content(line: bytes, *, strict: bool) -> bytes | None:
    """Return *line* without its line ending, or ``None`` if it has none.

    A line that ends in a bare LF is accepted only when *strict* is false
    (RFC 9112 §2.2 makes it a MAY; waitress CVE-2019-16785 shows the risk).
    """
    if line.endswith(b"\r\n"):
        return line[:-2]
    if line.endswith(b"\n"):
        if strict:
            raise BadHeader("Bare LF line ending", explain="Lines must end with CRLF.")
        return line[:-1]
    return None


def read_field_lines(
    source: LineSource,
    *,
    limits: Limits = DEFAULT_LIMITS,
    head_size: int = 0,
    strict: bool = True,
    must_end: bool | None = None,
) -> list[bytes]:
    """Read header (or trailer) lines up to and including the blank line.

    Returns the lines with their endings, the blank line left out.  *head_size*
    is what the head already used (the request line), counted against
    :attr:`Limits.max_head_size`.  End of input before the blank line raises
    :class:`IncompleteMessage` when *must_end* (by default: when *strict*);
    otherwise it ends the head, as :func:`http.client.parse_headers` does.
    """
    if must_end is None:
        must_end = strict
    lines: list[bytes] = []
    max_line = limits.max_field_line
    max_fields = limits.max_fields
    budget = limits.max_head_size - head_size
    readline = source.readline
    while True:
        line = readline(max_line + 1)
        if len(line) > max_line:
            raise _line_too_long(max_line)
        if line == b"\r\n" or line == b"\n" or not line:
            if line == b"\n" and strict:
                # Raised here, not when the lines are parsed: reading on past a
                # bare-LF end of head would swallow the body or block on the socket.
                raise BadHeader("Bare LF line ending", explain="Lines must end with CRLF.")
            if not line and must_end:
                raise IncompleteMessage("Incomplete request head")
            return lines
        lines.append(line)
        budget -= len(line)
        # http.client counts the blank line too: 100 lines is already "more than
        # 100 headers", and 99 fields are the most it accepts.
        if len(lines) >= max_fields:
            raise _too_many_fields(max_fields)
        if budget < 0:
            raise _head_too_large(limits)


def check_field_limits(
    fields: list[tuple[bytes, bytes]], *, limits: Limits = DEFAULT_LIMITS, head_size: int = 0
) -> None:
    """Apply :func:`~devserve.http11.read_field_lines`' limits to *fields* a server has split.

    Each field counts as the line ``name: value CRLF`` it would have been.
    """
    if len(fields) >= limits.max_fields:
        raise _too_many_fields(limits.max_fields)
    budget = limits.max_head_size - head_size
    for name, value in fields:
        size = len(name) + len(value) + 4
        if size > limits.max_field_line:
            raise _line_too_long(limits.max_field_line)
        budget -= size
    if budget < 0:
        raise _head_too_large(limits)


def check_given_fields(
    fields: list[tuple[bytes, bytes]], *, limits: Limits = DEFAULT_LIMITS, head_size: int = 0
) -> None:
    """Check *fields* a server has split as lines read are checked: limits, then syntax.

    The limits are :func:`check_field_limits`'; each ``(name, value)`` must be what
    :func:`~devserve.http11.parse_fields` would have made of a line (a token, a value
    without controls but HTAB), else :class:`~devserve.http11.BadHeader` says why, as
    for the line.
    """
    check_field_limits(fields, limits=limits, head_size=head_size)
    if not fields:
        return
    # One match over all names and one search over all values: the common case, whole.
    names = b":".join([name for name, _ in fields])  # ':' is in no token
    values = b"".join([value for _, value in fields])
    if _NAMES.fullmatch(names) and not _VALUE_CONTROL.search(values):
        return
    for name, value in fields:
        line = name + b":" + value
        if not _FIELD_LINE.fullmatch(line):
            raise _field_error(line)


def _line_too_long(max_line: int) -> HeaderFieldsTooLarge:
    # http.client's LineTooLong text, which http.server sends as the explanation.
    return HeaderFieldsTooLarge(
        "Line too long", explain=f"got more than {max_line} bytes when reading header line"
    )


def _too_many_fields(max_fields: int) -> HeaderFieldsTooLarge:
    return HeaderFieldsTooLarge("Too many headers", explain=f"got more than {max_fields} headers")


def _head_too_large(limits: Limits) -> HeaderFieldsTooLarge:
    return HeaderFieldsTooLarge(
        "Request header fields too large",
        explain=f"the request head is larger than {limits.max_head_size} bytes",
    )


def parse_fields(lines: list[bytes], *, strict: bool) -> list[tuple[bytes, bytes]]:
    """Validate field lines and split them into ``(name, value)`` byte pairs.

    Values lose their surrounding SP/HTAB and nothing else.  Raises
    :class:`BadHeader` for obs-fold, whitespace before the colon, bad name bytes,
    and NUL, CR, LF or other control characters in a value (RFC 9110 §5.5).
    """
    pairs = []
    match_field = _FIELD_LINE.fullmatch
    for line in lines:
        content = line_content(line, strict=strict)
        if content is None:
            raise IncompleteMessage("Incomplete header line")
        match = match_field(content)
        if match is None:
            raise _field_error(content)
        pairs.append((match[1], match[2].strip(_OWS)))
    return pairs


def _field_error(content: bytes) -> BadHeader:
    name, colon, value = content.partition(b":")
    if content[:1] in (b" ", b"\t"):
        reason = "Obsolete line folding is not accepted (RFC 9112 §5.2)"
    elif not colon:
        reason = "Header line without a colon"
    elif not name:
        reason = "Empty header name"
    elif name.rstrip(_OWS) != name:
        reason = "Whitespace before the colon (RFC 9112 §5.1)"
    elif not TOKEN.fullmatch(name):
        reason = "Invalid character in header name"
    elif b"\r" in value:
        reason = "Bare CR in header value (RFC 9112 §2.2)"
    else:
        reason = "Invalid character in header value (RFC 9110 §5.5)"
    return BadHeader("Bad header", explain=reason)
