"""What the handler writes, read by the core and handed to ``start_response`` and ``write``.

Rule: each distinct head is read once, by
:func:`~devserve.http11.response_head.parse_response_head`; the fields that manage a
connection, ``Date`` and ``Server`` are the WSGI server's; the body is passed on as it
is written, a chunked one decoded.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any, NamedTuple

from ...http11 import (
    DEFAULT_LIMITS,
    ProtocolError,
    body_allowed,
)
from ...http11.response import HOP_BY_HOP_FIELDS, Framing
from ...http11.response_head import HEAD_END, ResponseHead, parse_response_head
from ...http11.scanning import BodyScanner, Progress
from ...http11.target import below_prefix
from .errors import HandlerAppError

__all__ = ["Response"]

# Fields of the handler's response that are not passed on: those that manage the
# connection, Trailer (its trailers are dropped: WSGI cannot send them), and Date and
# Server, which the WSGI server sets (two would contradict).
_NOT_PASSED_ON = HOP_BY_HOP_FIELDS | {"date", "server"}
_MALFORMED_CHUNKS = (
    "the handler's chunked body is malformed or over a limit (RFC 9112 §7.1: a size line, "
    "CRLF after each chunk's data, trailer fields as header fields)"
)
# A response body is the application's: no size bound, its framing's lines bounded.
_RESPONSE_BODY_LIMITS = DEFAULT_LIMITS.replace(max_body_size=None)


class Response:
    """What the handler writes, turned into ``start_response`` and ``write`` calls.

    :meth:`send` takes the bytes as they are written: the head is kept until its
    blank line and parsed; interim (1xx) responses are dropped; the body is passed on
    at once, up to its ``Content-Length``, decoded if chunked.
    """

    __slots__ = (
        "_decoder", "_dropped", "_errors", "_head", "_method", "_remaining", "_script_name",
        "_start_response", "_write", "complete", "failure",
    )  # fmt: skip

    def __init__(
        self,
        start_response: Callable[..., Any],
        method: str | None,
        errors: Any,
        script_name: str = "",
    ) -> None:
        self._start_response = start_response
        self._method = method
        self._script_name = script_name
        self._errors = errors
        self._head = bytearray()
        self._write: Callable[[bytes], Any] | None = None
        self._decoder: BodyScanner | None = None
        self._remaining: int | None = None
        self._dropped = 0
        #: Whether the whole response has been given to the WSGI server.
        self.complete = False
        #: What the WSGI server's ``write`` raised (a client gone), if it did.
        self.failure: BaseException | None = None

    def send(self, data: Any, flags: int = 0) -> None:
        """Take the next bytes the handler wrote (``sendall`` of its connection)."""
        if not data:
            return
        if type(data) is not bytes:
            data = bytes(data)  # a memoryview or bytearray: WSGI's write takes bytes
        if self._write is None:
            self._take_head(data)
        elif self.complete:
            self._dropped += len(data)
        elif self._decoder is not None:
            self._take_chunks(self._decoder, data)
        else:
            self._take_body(data)

    def _take_head(self, data: bytes) -> None:
        head = self._head
        start = max(len(head) - 2, 0)  # a blank line may straddle two writes
        if head:
            head += data
        end = HEAD_END.search(head or data, start)
        if end is None:
            if not head:
                head += data
            if len(head) > DEFAULT_LIMITS.max_head_size:
                raise HandlerAppError("the handler's response head is larger than %d bytes"
                                      % DEFAULT_LIMITS.max_head_size)  # fmt: skip
            return
        if head:
            data = bytes(head)
            head.clear()
        read = _read_head(data[: end.end()], self._script_name)
        if read.status < 200:
            if read.status == HTTPStatus.SWITCHING_PROTOCOLS:
                raise HandlerAppError(
                    "101 Switching Protocols: a WSGI server does not hand its connection over"
                )
        else:
            self._start(read)
        # After an interim response (WSGI has no way to send one), the final one.
        self.send(data[end.end() :])

    def _start(self, head: _ReadHead) -> None:
        self._write = self._start_response(head.status_text, list(head.headers))
        if not body_allowed(head.status, self._method):
            self.complete = True
        elif head.framing is Framing.CHUNKED:
            # The core reads the framing, as it reads a chunked body it relays.
            self._decoder = BodyScanner(None, _RESPONSE_BODY_LIMITS, decode=True)
        elif head.framing is Framing.LENGTH:
            self._remaining = head.length
            self.complete = head.length == 0

    def _take_chunks(self, scanner: BodyScanner, data: bytes) -> None:
        used = scanner.feed(data)
        piece = scanner.take_data()
        if piece:
            self._pass_on(piece)
        if scanner.progress is Progress.READY:
            if scanner.failed:
                raise HandlerAppError(_MALFORMED_CHUNKS)
            self.complete = True  # the last chunk and the trailer section: trailers dropped
            self._dropped += len(data) - used

    def _take_body(self, data: bytes) -> None:
        remaining = self._remaining
        if remaining is not None:
            if len(data) >= remaining:
                self._dropped += len(data) - remaining
                data = data[:remaining]
                self.complete = True
            self._remaining = remaining - len(data)
        self._pass_on(data)

    def _pass_on(self, data: bytes) -> None:
        assert self._write is not None
        try:
            self._write(data)
        except Exception as error:
            # The handler may swallow it (devserve's do, on a client gone): the WSGI
            # server must still learn of its own error.
            self.failure = error
            raise

    def finish(self) -> list[bytes]:
        """Check the handler's response is whole; return the (empty) rest of the body."""
        if self.failure is not None:
            raise self.failure
        if self._write is None:
            if self._head:
                raise HandlerAppError("the handler's response head did not end")
            raise HandlerAppError("the handler wrote no response")
        decoder = self._decoder
        if decoder is not None and decoder.failed:
            # Raised in the handler already, which may have swallowed it: the WSGI server
            # must not end the cut body as a whole one.
            raise HandlerAppError(_MALFORMED_CHUNKS)
        if decoder is not None and decoder.progress is not Progress.READY:
            raise HandlerAppError("the handler's chunked body ended without its last chunk")
        if self._remaining:
            raise HandlerAppError(
                "the handler's body ended %d bytes short of its Content-Length" % self._remaining
            )
        if self._dropped:
            self._errors.write(
                "HandlerApp: %d bytes written after the end of the response were dropped\n"
                % self._dropped
            )
        return []


class _ReadHead(NamedTuple):
    """A response head the handler wrote, read, and what ``start_response`` is given."""

    status: int
    framing: Framing
    length: int | None
    status_text: str
    headers: list[tuple[str, str]]


# A handler's head is bounded as a whole (max_head_size), not line by line: it is the
# application's own, and 100 Set-Cookie fields are its business.
_HANDLER_HEAD_LIMITS = DEFAULT_LIMITS.replace(
    max_fields=DEFAULT_LIMITS.max_head_size, max_field_line=DEFAULT_LIMITS.max_head_size,
    max_request_line=DEFAULT_LIMITS.max_head_size,
)  # fmt: skip
# A handler writes the same head again and again (all of it but Date, within a
# second): each distinct one is read once, in a table dropped whole when full.
_read_heads: dict[tuple[bytes, str], _ReadHead] = {}
_READ_HEADS_MAX = 256
_READ_HEAD_SIZE = 4096  # larger ones are read each time: the table stays under 1 MiB


def _read_head(data: bytes, script_name: str) -> _ReadHead:
    """Read the response head the handler wrote (blank line included), remembered."""
    read = _read_heads.get((data, script_name))
    if read is not None:
        return read
    try:
        head = parse_response_head(data, None, _HANDLER_HEAD_LIMITS)
    except ProtocolError as error:
        raise HandlerAppError("the handler's response head: %s" % error.explain) from None
    status_text, headers = _start_response_args(head, script_name)
    read = _ReadHead(head.status, head.framing, head.length, status_text, headers)
    if len(data) <= _READ_HEAD_SIZE:
        if len(_read_heads) >= _READ_HEADS_MAX:
            _read_heads.clear()
        _read_heads[data, script_name] = read
    return read


def _start_response_args(head: ResponseHead, script_name: str) -> tuple[str, list[tuple[str, str]]]:
    """The status and fields for ``start_response``: without those that are not passed on."""
    not_passed_on = _NOT_PASSED_ON | head.connection if head.connection else _NOT_PASSED_ON
    if head.framing is Framing.CHUNKED:
        not_passed_on = not_passed_on | {"content-length"}  # RFC 9112 §6.3: TE overrides it
    headers = [field for field in head.fields if field[0].lower() not in not_passed_on]
    if script_name:
        headers = [_mounted_field(field, script_name) for field in headers]
    return "%d %s" % (head.status, head.reason or _phrase(head.status)), headers


def _phrase(code: int) -> str:
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return ""


def _mounted_field(field: tuple[str, str], script_name: str) -> tuple[str, str]:
    """A ``Location`` the handler built from its path, put back under *script_name*."""
    name, value = field
    if (
        name.lower() == "location"
        and value.startswith("/")
        and not value.startswith("//")  # another host, scheme-relative
        and below_prefix(value, script_name) is None
    ):
        return name, script_name + value
    return field
