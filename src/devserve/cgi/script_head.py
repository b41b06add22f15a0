"""The header block a CGI script writes before its body (RFC 3875 §6), parsed.

Rule 1: the script asks, the server decides: ``Status``, ``Location`` and
``Content-Length`` are read with the core's own rules
(:func:`~devserve.http11.response.parse_status`,
:func:`~devserve.http11.framing.content_length_value`); every other field is checked as
:meth:`~devserve.BaseHTTPRequestHandler.send_header` checks it; the fields that manage
the connection (RFC 9110 §7.6.1), and ``Date``, ``Server`` and ``Trailer``, which the
server writes or never sends, are dropped.
Rule 2: anything that is not a header block is :exc:`BadScriptResponse`, answered 500.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..http11 import ProtocolError, check_field, content_length_value
from ..http11.response import CONNECTION_FIELDS, parse_status

__all__ = ["BadScriptResponse", "ScriptHead", "parse_script_head"]

# The server frames the message and owns the connection, its Date and its Server; it
# sends no trailers, so a script's Trailer field would announce none.
_SERVER_FIELDS = CONNECTION_FIELDS | {"date", "server", "trailer"}


class BadScriptResponse(ValueError):
    """A CGI script's output is not a CGI response (RFC 3875 §6); answered with 500."""


@dataclass
class ScriptHead:
    """The header block of a CGI response: what the script asked the server to send."""

    status: int | None = None
    reason: str | None = None
    location: str | None = None
    content_length: int | None = None
    fields: list[tuple[str, str]] = field(default_factory=list)

    @property
    def local_redirect(self) -> bool:
        """Whether this is RFC 3875 §6.2.2's local redirect: a ``Location`` path, no status."""
        location = self.location
        return (
            self.status is None
            and location is not None
            and location.startswith("/")
            and not location.startswith("//")
        )


def parse_script_head(block: bytes) -> ScriptHead:
    """Parse a CGI script's header block (the bytes before its blank line).

    Lines may end in LF or CRLF.  ``Status`` gives the status (100-599) and
    reason, ``Location`` a redirect, ``Content-Length`` the body's length;
    ``Connection``, ``Transfer-Encoding`` and the other fields the server owns
    are dropped; every other field is kept in order.  Raises
    :exc:`BadScriptResponse` for anything that is not a valid header field.
    """
    head = ScriptHead()
    for raw in block.split(b"\n") if block else ():
        text = (raw[:-1] if raw.endswith(b"\r") else raw).decode("latin-1")
        if not text or text[0] in " \t":
            raise BadScriptResponse("continuation lines are not allowed: %r" % text)
        name, colon, value = text.partition(":")
        value = value.strip(" \t")
        if not colon:
            raise BadScriptResponse("not a header line: %r" % text)
        try:
            check_field(name, value)
        except ValueError as error:
            raise BadScriptResponse(str(error)) from None
        lowered = name.lower()
        if lowered == "status":
            try:
                code, reason = parse_status(value)
            except ValueError:
                code, reason = 0, None
            if head.status is not None or code < 200:
                raise BadScriptResponse("bad or repeated Status: %r" % value)
            head.status, head.reason = code, reason or None
        elif lowered == "location":
            if head.location is not None:
                raise BadScriptResponse("repeated Location")
            head.location = value
        elif lowered == "content-length":
            try:
                length = content_length_value(value)
            except ProtocolError:
                length = -1
            if length < 0 or head.content_length not in (None, length):
                raise BadScriptResponse("bad Content-Length: %r" % value)
            head.content_length = length
        elif lowered not in _SERVER_FIELDS:
            head.fields.append((name, value))
    return head
