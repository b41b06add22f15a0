"""An application's response: ``start_response``, ``write`` and the body, checked and framed.

Rule 1: nothing an application returns reaches the wire unchecked.  The status and
headers are checked when ``start_response`` is called, so the error is raised inside
the application; the fields that manage the connection are the server's
(RFC 9110 §7.6.1: refused, except ``Connection`` and ``Upgrade`` on ``101``), and the
application's ``Content-Length`` is a promise the body is held to.
Rule 2: framing is the handler's (:meth:`~devserve.BaseHTTPRequestHandler.start_body`):
a known length (declared, or a single item), chunks to an HTTP/1.1 client, or the end
of the connection; the head waits for the first non-empty item (PEP 3333).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ..http11 import ProtocolError, check_field, content_length_value
from ..http11.response import CONNECTION_FIELDS, parse_status
from .file_wrapper import FileWrapper

if TYPE_CHECKING:
    from ..handler.base import BaseHTTPRequestHandler
    from ..handler.response_body import ResponseBody

__all__ = ["ClientGone", "WSGIResponse", "check_headers", "check_status"]


class ClientGone(Exception):
    """Writing to the client failed; nothing more can be sent."""


_checked_statuses: dict[str, int] = {}
_checked_fields: dict[tuple[str, str], str] = {}
_CHECKED_MAX = 512


def check_status(status: Any) -> int:
    """Return the code of a WSGI status (``"200 OK"``); raise for anything else.

    Only ``101`` of the 1xx statuses can end a response (the connection is then
    the application's).
    """
    if type(status) is not str:
        raise TypeError("status must be a str, not %s" % type(status).__name__)
    code = _checked_statuses.get(status)
    if code is None:
        code = _check_status_text(status)
        # An application sends a handful of statuses: each is checked once.
        if len(_checked_statuses) >= _CHECKED_MAX:
            _checked_statuses.clear()
        _checked_statuses[status] = code
    return code


def _check_status_text(status: str) -> int:
    code, _reason = parse_status(status)
    if len(status) > 3 and status[3] != " ":
        raise ValueError("status %r is not 'NNN Reason'" % status)
    status.encode("latin-1")
    if code < 200 and code != 101:
        raise ValueError("status %r cannot end a response; only 101 of the 1xx can" % status)
    return code


def check_headers(headers: Any, code: int) -> int | None:
    """Check an application's header list; return the ``Content-Length`` it declares."""
    if type(headers) is not list:
        raise TypeError("headers must be a list, not %s" % type(headers).__name__)
    length = None
    for item in headers:
        if type(item) is not tuple or len(item) != 2:
            raise TypeError("each header must be a (name, value) tuple, not %r" % (item,))
        name, value = item
        if type(name) is not str or type(value) is not str:
            raise TypeError("header names and values must be str: %r" % (item,))
        lower = _checked_fields.get(item)
        if lower is None:
            lower = _check_field(name, value)
        if lower in CONNECTION_FIELDS and not (code == 101 and lower in ("connection", "upgrade")):
            raise ValueError(
                "hop-by-hop header %r is set by the server, not the application" % name
            )
        if lower == "content-length":
            try:
                length = content_length_value(value)
            except ProtocolError:
                raise ValueError("invalid Content-Length %r" % value) from None
    return length


def _check_field(name: str, value: str) -> str:
    """Check one field of an application's; return its lower-cased name."""
    check_field(name, value)
    value.encode("latin-1")
    lower = name.lower()
    # Most fields repeat from response to response: each pair is checked once.
    if len(_checked_fields) >= _CHECKED_MAX:
        _checked_fields.clear()
    _checked_fields[(name, value)] = lower
    return lower


class WSGIResponse:
    """The response of one application call, sent through *handler*.

    *before_head* runs just before the head is sent (the handler refuses a body
    that failed, and closes a connection whose ``100-continue`` went unanswered).
    """

    __slots__ = (
        "_before_head", "_body", "_handler", "_headers", "_length", "code", "complete",
        "head_sent", "status",
    )  # fmt: skip

    def __init__(self, handler: BaseHTTPRequestHandler, before_head: Callable[[], None]) -> None:
        self._handler = handler
        self._before_head = before_head
        self.status: str | None = None
        #: The status code, once ``start_response`` was called.
        self.code = 0
        self._headers: list[tuple[str, str]] = []
        self._length: int | None = None
        self._body: ResponseBody | None = None
        #: Whether the head has been sent.
        self.head_sent = False
        #: Whether the whole body has been sent.
        self.complete = False

    @property
    def sent(self) -> int:
        """Bytes of body sent so far."""
        return 0 if self._body is None else self._body.sent

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], None]:
        """The ``start_response`` callable given to the application (PEP 3333).

        Raises :exc:`ValueError` or :exc:`TypeError` at once for a malformed
        status or header, a header the server alone may set, or an interim status.
        """
        if exc_info is not None:
            try:
                if self.head_sent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None  # PEP 3333: break the frame -> traceback cycle
        elif self.status is not None:
            raise RuntimeError("start_response() called again without exc_info")
        code = check_status(status)
        length = check_headers(headers, code)
        self.status, self.code, self._headers, self._length = status, code, headers, length
        return self.write

    def write(self, data: bytes) -> None:
        """The ``write`` callable ``start_response`` returns (PEP 3333)."""
        if self.status is None:
            raise RuntimeError("write() called before start_response()")
        if type(data) is not bytes:
            raise TypeError("write() takes bytes, not %s" % type(data).__name__)
        if not self.head_sent:
            self._send_head(None)
        self._write(data)

    def send(self, result: Iterable[bytes]) -> None:
        """Send the iterable the application returned, then end the body."""
        if type(result) is FileWrapper and self._sendfile(result):
            return
        for data in result:
            if type(data) is not bytes:
                raise TypeError("the application yielded %s, not bytes" % type(data).__name__)
            if not data:
                continue  # PEP 3333: the head waits for the first non-empty item
            if not self.head_sent:
                single = isinstance(result, (list, tuple)) and len(result) == 1
                self._send_head(len(data) if single else None)
            self._write(data)
        if not self.head_sent:
            self._send_head(0)
        self._finish()

    def _sendfile(self, wrapper: FileWrapper) -> bool:
        file = wrapper.filelike
        if (
            self.status is None
            or self._handler.socket_writer() is None
            or "b" not in getattr(file, "mode", "b")
        ):
            return False
        try:
            offset = file.tell()
            info = os.fstat(file.fileno())
        except (AttributeError, OSError, ValueError):
            return False
        if not stat.S_ISREG(info.st_mode):
            return False  # a pipe or a socket has no size to announce
        count = max(info.st_size - offset, 0)
        if self._length is not None:
            count = min(count, self._length)
        body = self._send_head(count)
        if body.can_sendfile():
            try:
                body.sendfile(file, offset, count, last=True)
            except OSError as error:
                raise ClientGone from error
        self._finish()
        return True

    def _send_head(self, total: int | None) -> ResponseBody:
        """Send the status line and headers; *total* is the body's length, if known."""
        self._before_head()
        handler = self._handler
        code = self.code
        handler.send_response_only(code, (self.status or "")[4:])
        has_server = has_date = False
        for name, value in self._headers:
            lower = name.lower()
            if lower == "server":
                has_server = True
            elif lower == "date":
                has_date = True
            elif lower == "content-length":
                continue  # the handler frames the body with it (start_body)
            handler.send_header(name, value)
        if not has_server:
            handler.send_header("Server", handler.version_string())
        if not has_date:
            handler.send_header("Date", handler.date_time_string())
        self.head_sent = True
        if code < 200:
            handler.close_connection = True  # 101: the connection is the application's now
        declared = self._length is not None
        body = handler.start_body(self._length if declared else total, declared=declared)
        self._body = body
        return body

    def _write(self, data: bytes) -> None:
        assert self._body is not None
        try:
            self._body.write(data)
        except OSError as error:
            raise ClientGone from error

    def _finish(self) -> None:
        assert self._body is not None
        try:
            complete = self._body.finish()
        except OSError as error:
            raise ClientGone from error
        if not complete:
            self._handler.abandon_response()
            return
        self.complete = True
