"""The WSGI call's request, as a handler takes it: parsed (a line and fields) or as bytes.

Rule: the WSGI server has answered ``Expect`` and decoded a chunked body; the handler
sees a body framed by ``Content-Length`` alone (a chunked one spooled to learn it).
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from ...handler.given import GivenRequest
from ...handler.messages import DEFAULT_ERROR_CONTENT_TYPE, DEFAULT_ERROR_MESSAGE
from ...handler.messages import error_page as _error_page
from ...http11 import (
    ProtocolError,
    content_length_value,
)
from ...http11.target import below_prefix

__all__ = [
    "PIECE", "Refusal", "ServerView", "client_address", "environ_request",
    "refuse", "request_body", "request_head",
]  # fmt: skip

# Request fields the WSGI server has acted on already: it answered Expect and decoded
# the chunked body (whose length the handler is given instead).
_ACTED_ON = frozenset({"HTTP_EXPECT", "HTTP_TRANSFER_ENCODING", "HTTP_CONTENT_LENGTH"})
# What a raw target may hold to be sent to the handler as it came (no blanks, no CTLs).
_RAW_TARGET = re.compile(r"[\x21-\x7e\x80-\xff]+")
# RFC 3986 pchar and "/": what a path keeps unescaped when it is written back.
_PATH_SAFE = "/!$&'()*+,;=:@~"
# PEP 3333 leaves reading wsgi.input at once unbounded; a spooled body stays in memory
# up to this, then goes to a temporary file.
_SPOOL_IN_MEMORY = 1 << 20
PIECE = 1 << 16


_field_names: dict[str, bytes] = {}
_FIELD_NAMES_MAX = 512


class Refusal(Exception):
    def __init__(self, status: HTTPStatus) -> None:
        super().__init__(status)
        self.status = status


def refuse(start_response: Callable[..., Any], status: HTTPStatus) -> list[bytes]:
    """Answer a request that cannot reach the handler, as ``send_error`` would."""
    page = _error_page(DEFAULT_ERROR_MESSAGE, status, status.phrase, status.description)
    start_response(
        "%d %s" % (status, status.phrase),
        [("Content-Type", DEFAULT_ERROR_CONTENT_TYPE), ("Content-Length", str(len(page)))],
    )
    return [page]


def request_body(environ: dict[str, Any], limit: int) -> tuple[int, Any]:
    """Return the length of the request's body and the file to read it from."""
    declared = environ.get("CONTENT_LENGTH")
    if declared:
        try:
            return content_length_value(declared), environ["wsgi.input"]
        except ProtocolError:
            raise Refusal(HTTPStatus.BAD_REQUEST) from None
    # A chunked body, decoded by the WSGI server: its length is learnt by reading it.
    if not environ.get("wsgi.input_terminated"):
        raise Refusal(HTTPStatus.LENGTH_REQUIRED)  # nothing says where it ends
    return _spool(environ["wsgi.input"], limit)


def _spool(source: Any, limit: int) -> tuple[int, tempfile.SpooledTemporaryFile[bytes]]:
    spool = tempfile.SpooledTemporaryFile(_SPOOL_IN_MEMORY)  # noqa: SIM115
    total = 0
    try:
        while piece := source.read(PIECE):
            total += len(piece)
            if total > limit:
                raise Refusal(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
            spool.write(piece)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return total, spool


def environ_request(environ: dict[str, Any], version: str, length: int | None) -> GivenRequest:
    """The request line and header fields of *environ*, as bytes (PEP 3333: latin-1)."""
    line = "%s %s %s\r\n" % (environ.get("REQUEST_METHOD", "GET"), _target(environ), version)
    names = _field_names
    fields = [
        (names.get(key) or _field_name(key), value.strip(" \t").encode("latin-1", "replace"))
        for key, value in environ.items()
        if key[:5] == "HTTP_" and key not in _ACTED_ON
    ]
    content_type = environ.get("CONTENT_TYPE")
    if content_type:
        fields.append((b"Content-Type", content_type.encode("latin-1", "replace")))
    if length is not None:
        fields.append((b"Content-Length", b"%d" % length))
    return line.encode("latin-1", "replace"), fields


def request_head(request: GivenRequest) -> bytes:
    """*request* written back as a head, for a handler that reads its own."""
    line, fields = request
    return line + b"".join([name + b": " + value + b"\r\n" for name, value in fields]) + b"\r\n"


def _target(environ: dict[str, Any]) -> str:
    # The target as the client sent it, when the server kept it (gunicorn's RAW_URI,
    # waitress's REQUEST_URI): %2F and / stay apart.  Under a SCRIPT_NAME, the part
    # below it: the handler is mounted there, as a table of mounts mounts one.
    script_name = environ.get("SCRIPT_NAME", "")
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw and _RAW_TARGET.fullmatch(raw):
        below = below_prefix(raw, script_name) if script_name else str(raw)
        if below is not None:
            return below
    path = environ.get("PATH_INFO", "") or "/"
    target = quote(path.encode("latin-1", "replace"), safe=_PATH_SAFE) or "/"
    query = environ.get("QUERY_STRING")
    return target + "?" + query if query else target


def _field_name(key: str) -> bytes:
    """``HTTP_X_FORWARDED_FOR`` -> ``b"X-Forwarded-For"``, remembered."""
    # A client sends a few dozen names: each is made once, the cache dropped when full.
    name = key[5:].replace("_", "-").title().encode("latin-1", "replace")
    if len(_field_names) >= _FIELD_NAMES_MAX:
        _field_names.clear()
    _field_names[key] = name
    return name


def client_address(environ: dict[str, Any]) -> tuple[str, int]:
    port = environ.get("REMOTE_PORT", "")
    return environ.get("REMOTE_ADDR", ""), int(port) if port.isdigit() else 0


class ServerView:
    """What a handler may ask of its server: its name and port, as ``HTTPServer`` has them."""

    __slots__ = ("server_address", "server_name", "server_port")

    def __init__(self, environ: dict[str, Any]) -> None:
        port = environ.get("SERVER_PORT", "")
        self.server_name: str = environ.get("SERVER_NAME", "")
        self.server_port = int(port) if port.isdigit() else 0
        self.server_address = (self.server_name, self.server_port)
