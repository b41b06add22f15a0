"""BaseHTTPRequestHandler: the stdlib's request handler API on devserve's HTTP/1.1 core.

Rule 1: the handler adapts, it does not parse.  :meth:`parse_request` keeps the stdlib
contract (returns a bool, sets ``requestline``, ``command``, ``path``,
``request_version``, ``headers`` and ``close_connection``), calls the core's one request
parser (:func:`~devserve.http11.head.parse_request`) and turns one
:class:`~devserve.http11.errors.ProtocolError` into one :meth:`send_error`.  Framing
(:meth:`end_headers`, :meth:`start_body`) is the core's decision too.
Rule 2: what differs from documented :mod:`http.server` behaviour is one class
attribute each, off here and on in what devserve's own entry points serve
(:attr:`strict_parsing`, :attr:`idle_timeout`, :attr:`head_timeout`, ...).
Rule 3: a connection is never reused with an unread body in front of the next request:
the body (a :class:`~devserve.handler.body.RequestBody`) is drained or the connection
closed.
Rule 4: opt-in features reach a request through named hooks
(:mod:`devserve.handler.hooks`), and the server through the parking contract
(:mod:`devserve.net.contract`); nothing here knows which features exist.
"""

from __future__ import annotations

import contextlib
import email.message
import http.client
import io
import re
import socket
import sys
import time
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, ClassVar

from ..http11 import (
    DEFAULT_LIMITS,
    ChunkedReader,
    LengthReader,
    Limits,
    ProtocolError,
    RequestHead,
    RequestLine,
    URITooLong,
    field_line,
    http_date,
    keep_alive,
    status_line,
)
from ..http11.head import check_request_line_length, parse_request, read_request_line
from ..http11.response import Framing, can_chunk, choose_framing, connection_field
from ..http11.target import below_prefix
from ..net.streams import ClientTimeout, Waited, reset_connection
from ..net.unix import peer_host
from .body import RequestBody
from .connection import ConnectionHandler
from .given import GivenRequests
from .messages import (
    DEFAULT_ERROR_CONTENT_TYPE,
    DEFAULT_ERROR_MESSAGE,
    LOG_ESCAPES,
    Refusal,
    ResponseRecord,
    error_page,
    log_timestamp,
)
from .response_body import ResponseBody

if TYPE_CHECKING:
    from typing_extensions import Self

    from .hooks import RequestCheck, Responder, ResponseLog

__all__ = [
    "DEFAULT_ERROR_CONTENT_TYPE",
    "DEFAULT_ERROR_MESSAGE",
    "BaseHTTPRequestHandler",
]

_UNSAFE_REASON = re.compile(r"[\x00-\x1f\x7f]")
_DISCONNECTS = (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)
_NO_BODY = LengthReader(io.BytesIO(), 0)
_ERROR_LOG = "code %d, message %s"


class BaseHTTPRequestHandler(ConnectionHandler):
    """Handle HTTP requests that arrive at the server; dispatch them to ``do_*`` methods.

    This is :class:`http.server.BaseHTTPRequestHandler` with its documented
    attributes, methods and behaviour.  A request for method ``SPAM`` calls
    :meth:`!do_SPAM` with no arguments; the request is in :attr:`command`,
    :attr:`path`, :attr:`request_version` and :attr:`headers`, the body is read
    from :attr:`rfile` (or with :meth:`read_body`), and the response is written
    with :meth:`send_response`, :meth:`send_header`, :meth:`end_headers` and
    :attr:`wfile`.

    Beyond the stdlib, and on in every mode: Content-Length, Transfer-Encoding,
    chunk syntax and header bytes are checked strictly (400 and close); an unread
    request body is drained or the connection closed before the next request; a
    response without a length on a persistent connection is sent with
    ``Connection: close`` rather than leave the client waiting; :meth:`send_header`
    refuses CR and LF; ``Connection`` is read as a token list; a client that
    disconnects never prints a traceback; an exception in a ``do_*`` method
    answers 500 when nothing was sent yet.  See docs/differences for each.
    """

    #: The Python version, as sent in ``Server``.
    sys_version = "Python/" + sys.version.split()[0]
    #: The server software version, as sent in ``Server``.
    server_version = "BaseHTTP/0.6"
    #: The format of the body :meth:`send_error` sends.
    error_message_format = DEFAULT_ERROR_MESSAGE
    #: The ``Content-Type`` of that body.
    error_content_type = DEFAULT_ERROR_CONTENT_TYPE
    #: The version assumed until the request line's version has been read.
    default_request_version = "HTTP/0.9"
    #: The version this server speaks; ``HTTP/1.1`` allows persistent connections.
    protocol_version = "HTTP/1.0"
    #: The class of :attr:`headers`, an :class:`email.message.Message` subclass.
    MessageClass: ClassVar[type[Any]] = http.client.HTTPMessage
    #: Status codes mapped to ``(short message, long message)``.
    responses: ClassVar[dict[int, tuple[str, str]]] = {
        status: (status.phrase, status.description) for status in HTTPStatus
    }
    weekdayname: ClassVar[list[str]] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    monthname: ClassVar[list[str | None]] = [None, "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]  # fmt: skip

    #: Refuse the leniencies of :mod:`http.server`: bare LF line ends, runs of
    #: blanks in the request line, leading zeros in the version, raw non-ASCII
    #: bytes in the target, HTTP/0.9, a missing ``Host`` on HTTP/1.1 and a repeated
    #: ``Content-Type`` all get a 400.  Off here; on in devserve's command line and
    #: :func:`~devserve.make_server`.
    #:
    #: .. versionadded:: 0.1
    strict_parsing = False
    #: Size limits for request heads and bodies (:class:`devserve.http11.Limits`).
    #:
    #: .. versionadded:: 0.1
    limits: ClassVar[Limits] = DEFAULT_LIMITS
    #: Send ``Connection: close`` on a response after which the connection closes,
    #: when the handler did not send a ``Connection`` header itself (RFC 9112 §9.6
    #: says a server SHOULD; clients then do not try to reuse the connection).  Off
    #: here, as the stdlib sends nothing; on in devserve's command line.
    #:
    #: .. versionadded:: 0.1
    announce_close = False

    # Set per request; declared for type checkers and for handlers built by hand.
    #: The request method, e.g. ``"GET"``.
    command: str | None = None
    #: The request target as sent (not decoded), a leading ``//`` reduced to ``/``.
    path: str = ""
    #: The request's HTTP version, e.g. ``"HTTP/1.1"``.
    request_version: str = "HTTP/0.9"
    #: The request line as text, without its line ending, for logging.
    requestline: str = ""
    #: The request line as read, line ending included.
    raw_requestline: bytes = b""
    #: Whether the connection closes after this request; set by
    #: :meth:`parse_request` and by a ``Connection`` header sent with :meth:`send_header`.
    close_connection: bool = True
    #: The request's header fields, an instance of :attr:`MessageClass`.
    headers: Any = None
    #: The parsed head of the current request, or ``None`` before one is read.
    request_head: RequestHead | None = None

    #: Checks every parsed request must pass (:class:`~devserve.handler.hooks.RequestCheck`).
    #:
    #: .. versionadded:: 0.1
    request_checks: ClassVar[tuple[RequestCheck, ...]] = ()
    #: Objects that may answer a request before its ``do_*`` method
    #: (:class:`~devserve.handler.hooks.Responder`).
    #:
    #: .. versionadded:: 0.1
    responders: ClassVar[tuple[Responder, ...]] = ()
    #: Where complete responses are reported instead of the stdlib's log lines
    #: (:class:`~devserve.handler.hooks.ResponseLog`), or ``None``.
    #:
    #: .. versionadded:: 0.1
    response_log: ResponseLog | None = None
    #: Header fields added to every final response, after the handler's own
    #: (the command line's ``-H``).
    #:
    #: .. versionadded:: 0.1
    extra_fields: tuple[tuple[str, str], ...] = ()
    #: The URL prefix the handler is mounted under (``""``: the root).  A mounted
    #: handler sees the path below it in :attr:`path`; devserve's handlers put it back
    #: in the redirects and links they build (see :meth:`for_request_of`).
    #:
    #: .. versionadded:: 0.1
    mount_prefix = ""

    #: The last response head written, as bytes (the files handler offers it to the
    #: server again: :class:`~devserve.net.contract.QuickAnswer`).
    sent_head = b""
    _given_fields: list[tuple[bytes, bytes]] | None = None
    _headers_buffer: list[bytes]
    _status_code: int | None = None
    _response_framed = False
    _connection_sent = False
    _body: RequestBody | None = None
    _record: ResponseRecord | None = None
    _sent_before = 0

    # -- one request ----------------------------------------------------------

    def handle_one_request(self) -> None:
        """Read one request, dispatch it to its ``do_*`` method, and finish it."""
        self._start_request()
        try:
            waits = self.idle_timeout is not None or self.head_timeout is not None
            given = self.given_requests
            if given is None and waits and not self._wait_for_request():
                return
            try:
                if given is None:
                    self.raw_requestline = read_request_line(
                        self.rfile, strict=self.strict_parsing, limits=self.limits
                    )
                else:
                    self._take_given_request(given)
            except URITooLong:
                self.requestline = ""
                self.request_version = ""
                self.command = ""
                self.send_error(HTTPStatus.REQUEST_URI_TOO_LONG)
                return
            if not self.raw_requestline:
                self.close_connection = True
                return
            parsed = self.parse_request()
            if waits:
                self._end_deadline()
            if not parsed:
                return
            if self.responders:
                self._dispatch(self.answer_request)
            else:
                method = getattr(self, "do_" + str(self.command), None)
                if method is None:
                    self._unsupported_method()
                    return
                self._dispatch(method)
            self.wfile.flush()
            if self._body is not None and not self.close_connection:
                self._discard_unread_body()
        except TimeoutError as error:
            self._answer_timeout(error)
        finally:
            if self._record is not None:
                self._report_response()

    def _take_given_request(self, given: GivenRequests) -> None:
        """Take a request parsed already (:mod:`devserve.handler.given`), as one read."""
        request = given.take_request()
        self.raw_requestline, self._given_fields = request or (b"", None)
        check_request_line_length(self.raw_requestline, self.limits)

    def _start_request(self) -> None:
        self._status_code = None
        self._response_framed = False
        self._connection_sent = False
        self._body = None
        self.request_head = None
        writer = self._writer  # socket_writer(), inline: this runs for every request
        self._sent_before = writer.bytes_sent if writer is not None and self.wfile is writer else -1
        if self.response_log is not None:
            self._record = ResponseRecord(self.address_string(), "")

    @classmethod
    def for_request_of(cls, handler: BaseHTTPRequestHandler, mount_prefix: str = "") -> Self:
        """Return a handler of this class that serves *handler*'s current request.

        The request is already parsed; the new handler shares its connection, its
        streams, its body, its record and the HTTP version it answers with, and the
        hooks that see its response (:attr:`response_log`, :attr:`extra_fields`), so
        every response on a connection is logged and decorated alike; it is
        not set up or run: call :meth:`answer_request` (or a ``do_*`` method), then
        :meth:`hand_back` to *handler*.  A table of mounts serves a path prefix with
        another handler class this way, on the same connection and keep-alive loop.

        With a *mount_prefix* (``/static``, which *handler*'s path must be under), the
        new handler is mounted there: its :attr:`path` is the origin-form path below
        the prefix (``/static/a.css`` is ``/a.css``) and its :attr:`mount_prefix` is the
        prefix.

        .. versionadded:: 0.1
        """
        new = cls.__new__(cls)
        new.request, new.client_address, new.server = (
            handler.request, handler.client_address, handler.server
        )  # fmt: skip
        new.connection, new.rfile, new.wfile = handler.connection, handler.rfile, handler.wfile
        new._reader, new._writer = handler._reader, handler._writer
        new._parkable = handler._parkable  # so it can hold a stream or hand over a tunnel
        new.raw_requestline, new.requestline = handler.raw_requestline, handler.requestline
        new.command, new.path, new.request_version = (
            handler.command, handler.path, handler.request_version
        )  # fmt: skip
        new.headers, new.request_head = handler.headers, handler.request_head
        if mount_prefix:
            below = below_prefix(handler.path, mount_prefix)
            if below is None:
                raise ValueError("%r is not under %r" % (handler.path, mount_prefix))
            new.path, new.mount_prefix = below, mount_prefix
        new.close_connection = handler.close_connection
        new.protocol_version = handler.protocol_version
        new.response_log, new.extra_fields = handler.response_log, handler.extra_fields
        new._body, new._record, new._sent_before = (
            handler._body,
            handler._record,
            handler._sent_before,
        )
        return new

    def hand_back(self, handler: BaseHTTPRequestHandler) -> None:
        """Give *handler* back its request, served by this one (see :meth:`for_request_of`).

        .. versionadded:: 0.1
        """
        handler.close_connection = self.close_connection
        handler._status_code = self._status_code

    def answer_request(self) -> None:
        """Answer the parsed request: the :attr:`responders`, then its ``do_*`` method.

        The responders are asked in order; without a ``do_*`` method the answer is 501.
        :meth:`handle_one_request` calls it; so does a table of mounts for the handler
        it made with :meth:`for_request_of`.

        .. versionadded:: 0.1
        """
        for responder in self.responders:
            if responder.respond(self):
                return
        method = getattr(self, "do_" + str(self.command), None)
        if method is None:
            self._unsupported_method()
        else:
            method()

    def _unsupported_method(self) -> None:
        self.send_error(HTTPStatus.NOT_IMPLEMENTED, "Unsupported method (%r)" % self.command)

    def _dispatch(self, method: Any) -> None:
        try:
            method()
        except ProtocolError as error:
            # A body the handler read was malformed (bad chunk, too large...).
            self.close_connection = True
            if not self._response_started():
                self._headers_buffer = []
                self._send_protocol_error(error)
        except (ClientTimeout, *_DISCONNECTS):
            raise  # the client's failure, answered (408) or not at all, never a 500
        except Exception:
            self.close_connection = True
            if not self._response_started():
                self._headers_buffer = []  # drop what the failed handler buffered
                self.send_error(HTTPStatus.INTERNAL_SERVER_ERROR)
            raise

    def _response_started(self) -> bool:
        """Whether any of the response reached the wire (or waits in the writer)."""
        writer = self.socket_writer()
        if writer is not None:
            return writer.bytes_sent != self._sent_before or writer.holding
        return self._status_code is not None

    # -- deadlines ------------------------------------------------------------

    def _wait_for_request(self) -> bool:
        """Wait for the next request's first byte (idle timeout), then arm the head deadline."""
        waited = self._wait_for_input()
        if waited is Waited.IDLE:
            # An idle persistent connection: closing it is routine, not an error.
            self.close_connection = True
            return False
        if waited is Waited.TLS:
            # A browser sent to https:// on a plain port: its ClientHello has no line
            # feed, so reading a request line would wait out the head deadline.
            self.close_connection = True
            self.request_version = "HTTP/1.0"
            self.requestline = ""
            self.send_error(
                HTTPStatus.BAD_REQUEST,
                "Bad Request: TLS handshake on a plain HTTP port",
                "This server speaks plain HTTP: use an http:// URL, not https://.",
            )
            return False
        return True

    def _answer_timeout(self, error: TimeoutError) -> None:
        self.log_error("Request timed out: %r", error)
        self.close_connection = True
        self._end_deadline()
        late_request = isinstance(error, ClientTimeout) and not error.writing
        if late_request and not self._response_started():
            # A client too slow with its head or body is told so; one too slow to
            # read the response cannot be told anything.
            with contextlib.suppress(OSError):
                self.send_error(HTTPStatus.REQUEST_TIMEOUT)

    # -- request --------------------------------------------------------------

    def parse_request(self) -> bool:
        """Parse :attr:`raw_requestline` and the header lines that follow it.

        Sets :attr:`command`, :attr:`path`, :attr:`request_version`,
        :attr:`headers` and :attr:`close_connection`, answers ``Expect:
        100-continue`` through :meth:`handle_expect_100`, and returns ``True``;
        on a bad request it sends the error itself and returns ``False``.
        """
        self.command = None
        self.request_version = self.default_request_version
        self.close_connection = True
        raw = self.raw_requestline
        self.requestline = str(raw, "iso-8859-1").rstrip("\r\n")
        if self._record is not None:
            self._record.requestline = self.requestline
            self._record.seconds = time.perf_counter()
        strict = self.strict_parsing
        try:
            head = parse_request(
                raw, self.rfile, strict=strict, limits=self.limits,
                on_line=self._take_request_line,
                fields=self._given_fields,
            )  # fmt: skip
        except ProtocolError as error:
            if error.version is not None:
                self.request_version = error.version
            elif strict or self.command is not None:
                self.request_version = "HTTP/1.1"
            self._send_protocol_error(error)
            return False
        if head is None:
            return False
        line = head.line
        if line.version_info < (1, 0):
            # gh-70765: HTTP/0.9 has no header section to wait for.
            self.headers = self.MessageClass()
            return True
        self.request_head = head
        self.headers = self._make_message(head.fields)
        for check in self.request_checks:
            refusal = check(head)
            if refusal is not None:
                self.send_error(refusal.status, refusal.message, refusal.explain)
                return False
        http11 = self.protocol_version >= "HTTP/1.1"
        self.close_connection = not keep_alive(
            line.version_info, head.connection, server_http11=http11
        )
        if head.content_length or head.chunked:
            self._body = RequestBody(head, self.rfile, self.limits, self._rfile_position())
        if (
            head.expect is not None
            and head.expect.lower() == "100-continue"
            and http11
            and self.request_version >= "HTTP/1.1"
        ):
            refusal = self._refusal_before_continue(head)
            if refusal is not None:
                # RFC 9110 §10.1.1: a request that will be refused is refused before the
                # client is invited to send its body.
                self.send_error(refusal.status, refusal.message, refusal.explain)
                return False
            return self.handle_expect_100()
        return True

    def _refusal_before_continue(self, head: RequestHead) -> Refusal | None:
        limit = self.limits.max_body_size
        if limit is not None and (head.content_length or 0) > limit:
            return Refusal(413, "Content Too Large", "the request body is too large")
        if not self.responders and not hasattr(self, "do_" + str(self.command)):
            return Refusal(501, "Unsupported method (%r)" % self.command)
        return None

    def _take_request_line(self, line: RequestLine) -> None:
        self.command = line.method
        if line.version_info >= (1, 0) or len(self.raw_requestline.split()) == 3:
            # A two-word (HTTP/0.9) line keeps default_request_version, as in the stdlib.
            self.request_version = line.version
        target = line.target
        if target.startswith("//"):
            # gh-87389 (CVE-2021-28861): '//host' would be an open redirect.
            target = "/" + target.lstrip("/")
        self.path = target

    def _rfile_position(self) -> int:
        try:
            return int(self.rfile.tell())
        except (OSError, AttributeError, ValueError):
            return -1

    def _make_message(self, fields: list[tuple[str, str]]) -> Any:
        message = self.MessageClass()
        if isinstance(message, email.message.Message):
            # email.parser costs 7-21 µs a request; a Message keeps its fields as a
            # list of (name, value) in _headers, as it has since Python 2.
            message._headers = fields  # type: ignore[attr-defined]
        else:
            for name, value in fields:
                message[name] = value
        return message

    def _send_protocol_error(self, error: ProtocolError) -> None:
        self.close_connection = True
        self.send_error(error.status, error.message, error.explain)

    def handle_expect_100(self) -> bool:
        """Answer ``Expect: 100-continue`` with ``100 Continue``; return ``True`` to go on.

        Override it to refuse the body: send an error and return ``False``.
        """
        self.send_continue()
        return True

    def send_continue(self) -> None:
        """Send the interim ``100 Continue`` response at once.

        .. versionadded:: 0.1
        """
        self.send_response_only(HTTPStatus.CONTINUE)
        self.end_headers()

    # -- request bodies ---------------------------------------------------------

    def body_reader(self) -> LengthReader | ChunkedReader:
        """Return a reader for the current request's body.

        The same reader whether the body is framed by ``Content-Length`` or is
        chunked: ``read(n)``, ``readline(n)`` and iteration return decoded bytes
        and stop at the end of the body, never in the next request.  Malformed or
        oversized bodies raise :class:`~devserve.http11.errors.ProtocolError`,
        which the handler answers with 400 or 413 if nothing was sent yet.

        .. versionadded:: 0.1
        """
        body = self._body
        return _NO_BODY if body is None else body.reader()

    def read_body(self, size: int = -1) -> bytes:
        """Read and return up to *size* bytes of the request body (all of it by default).

        .. versionadded:: 0.1
        """
        return self.body_reader().read(size)

    def _discard_unread_body(self) -> None:
        """Drain what the handler left of the body, or close the connection."""
        body = self._body
        if body is None:
            return
        if self.drain_timeout is None:
            drained = body.discard()
        else:
            # The response is out: a client that never sends the body it announced
            # gets the connection closed, not a worker waiting on it.
            self._start_deadline(self.drain_timeout, "the unread request body took too long")
            try:
                drained = body.discard()
            finally:
                self._end_deadline()
        if not drained:
            self.close_connection = True

    # -- response -------------------------------------------------------------

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Send an error reply with status *code*, the *message* as its reason, and a page.

        The page is :attr:`error_message_format` filled with *code*, *message*
        and *explain* (both HTML-escaped); 1xx, 204, 205 and 304 replies have no
        page, and a reply to ``HEAD`` announces the page without sending it.  The
        connection is closed afterwards.
        """
        try:
            short, long = self.responses[code]
        except KeyError:
            short, long = "???", "???"
        if message is None:
            message = short
        if explain is None:
            explain = long
        if self._record is not None:
            self._record.note = message
        else:
            self.log_error(_ERROR_LOG, code, message)
        self.send_response(code, _UNSAFE_REASON.sub(" ", message))
        self.send_header("Connection", "close")
        body = None
        if code >= 200 and code not in (
            HTTPStatus.NO_CONTENT,
            HTTPStatus.RESET_CONTENT,
            HTTPStatus.NOT_MODIFIED,
        ):
            body = error_page(self.error_message_format, code, message, explain)
            self.send_header("Content-Type", self.error_content_type)
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def send_response(self, code: int, message: str | None = None) -> None:
        """Log the request and buffer a status line with ``Server`` and ``Date`` headers."""
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("Server", self.version_string())
        self.send_header("Date", self.date_time_string())

    def send_response_only(self, code: int, message: str | None = None) -> None:
        """Buffer the status line alone (nothing for an HTTP/0.9 request).

        Raises :exc:`ValueError` if *message* holds CR, LF or NUL.
        """
        code = int(code)
        self._status_code = code
        self._response_framed = False
        self._connection_sent = False
        if self.request_version != "HTTP/0.9":
            if message is None:
                message = self.responses[code][0] if code in self.responses else ""
            if not hasattr(self, "_headers_buffer"):
                self._headers_buffer = []
            self._headers_buffer.append(status_line(self.protocol_version, code, message))

    def send_header(self, keyword: str, value: Any) -> None:
        """Buffer one header field.

        A ``Connection`` header of ``close`` or ``keep-alive`` also sets
        :attr:`close_connection`.  Unlike :mod:`http.server`, a name that is not a
        token or a value holding CR, LF or NUL raises :exc:`ValueError` instead of
        splitting the response.
        """
        value = str(value)
        if self.request_version != "HTTP/0.9":
            if not hasattr(self, "_headers_buffer"):
                self._headers_buffer = []
            self._headers_buffer.append(field_line(keyword, value))
        name = keyword.lower()
        if name == "connection":
            self._connection_sent = True
            token = value.lower()
            if token == "close":
                self.close_connection = True
            elif token == "keep-alive":
                self.close_connection = False
        elif name == "content-length" or name == "transfer-encoding":
            self._response_framed = True

    def end_headers(self) -> None:
        """End the header section and write the buffered head (:meth:`flush_headers`).

        A final response whose body only the end of the connection can delimit
        (no ``Content-Length``, no ``Transfer-Encoding``) says ``Connection:
        close``; see :func:`~devserve.http11.response.connection_field`.
        """
        if self.request_version != "HTTP/0.9":
            code = self._status_code
            if code is not None and code >= 200:
                if self.extra_fields:
                    for name, extra in self.extra_fields:
                        self.send_header(name, extra)
                if not self._connection_sent and not self._persists_quietly():
                    self._announce_connection(code)
            if not hasattr(self, "_headers_buffer"):
                self._headers_buffer = []
            self._headers_buffer.append(b"\r\n")
            self.flush_headers()

    def _persists_quietly(self) -> bool:
        # The common case needs no call to the core: a framed response on a connection
        # that stays open says nothing (to HTTP/1.1, or whenever nothing is announced).
        return self._response_framed and (
            not self.announce_close
            or (not self.close_connection and self.request_version == "HTTP/1.1")
        )

    def _announce_connection(self, code: int) -> None:
        if self._response_framed:
            framing = Framing.LENGTH
        else:
            framing = choose_framing(code, self.command, length=None, chunked=False)
            if framing is Framing.CLOSE:
                self.close_connection = True
        value = connection_field(
            close=self.close_connection,
            framing=framing,
            announce=self.announce_close,
            request_version=self.request_version,
        )
        if value is not None:
            self.send_header("Connection", value)

    def start_body(self, length: int | None, *, declared: bool = True) -> ResponseBody:
        """End the head of the response being sent, framed for a body of *length* bytes.

        Call it after :meth:`send_response` (or :meth:`send_response_only`) and the
        fields, instead of :meth:`end_headers`, when this handler frames the body
        (as the WSGI and CGI bridges do).  *length* is ``None`` when unknown: the
        body is then chunked to an HTTP/1.1 client and delimited by closing
        otherwise.  A reply with no body (to ``HEAD``, or 304) still carries a
        *declared* length, as a ``GET`` would have; a length computed from a body
        that was never going to be sent is not declared.  Returns the
        :class:`~devserve.handler.response_body.ResponseBody` to write through.

        .. versionadded:: 0.1
        """
        code = self._status_code or HTTPStatus.OK
        chunked = can_chunk(self.request_version, self.protocol_version)
        framing = choose_framing(code, self.command, length=length, chunked=chunked)
        if framing is Framing.LENGTH or (
            framing is Framing.NONE and declared and length is not None and code >= 200
            and code != HTTPStatus.NO_CONTENT
        ):  # fmt: skip
            self.send_header("Content-Length", str(length))
        elif framing is Framing.CHUNKED:
            self.send_header("Transfer-Encoding", "chunked")
        elif framing is Framing.CLOSE:
            self.close_connection = True
        self.end_headers()
        return ResponseBody(
            self.wfile, framing, length, writer=self.socket_writer(), log_error=self.log_error
        )

    def abandon_response(self) -> None:
        """Give up a response whose head is sent but whose body cannot be finished.

        The connection is reset rather than closed, so a client reading a chunked
        or close-delimited body sees an error, never a clean but short end.

        .. versionadded:: 0.1
        """
        self.close_connection = True
        if isinstance(self.connection, socket.socket):
            reset_connection(self.connection)

    def flush_headers(self) -> None:
        """Write the buffered head in one write and empty the buffer."""
        if hasattr(self, "_headers_buffer"):
            data = self.sent_head = b"".join(self._headers_buffer)
            self._headers_buffer = []
            writer = self._writer  # socket_writer(), inline: this runs for every response
            if writer is not None and self.wfile is writer:
                writer.hold(data)
                if self._status_code is not None and self._status_code < 200:
                    writer.flush()  # an interim reply must not wait for the final one
            else:
                self.wfile.write(data)

    # -- logging --------------------------------------------------------------

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Log an accepted request: the request line, the status and the size.

        With a :attr:`response_log`, the status is recorded for it instead, and
        the line is written once the response is complete.
        """
        if isinstance(code, HTTPStatus):
            code = code.value
        record = self._record
        if record is not None:
            if record.status is None:
                record.status = code if isinstance(code, int) else 0
            return
        self.log_message('"%s" %s %s', self.requestline, str(code), str(size))

    def _report_response(self) -> None:
        record, self._record = self._record, None
        log = self.response_log
        if record is None or record.status is None or log is None:
            return
        writer = self.socket_writer()
        if writer is not None and self._sent_before >= 0:
            record.sent = writer.bytes_sent - self._sent_before
        if record.seconds is not None:
            record.seconds = time.perf_counter() - record.seconds
        log.write(record)

    def log_error(self, format: str, *args: Any) -> None:
        """Log an error; by default the same as :meth:`log_message`."""
        self.log_message(format, *args)

    def log_message(self, format: str, *args: Any) -> None:
        """Write ``address - - [date] message`` to :data:`sys.stderr`.

        Control characters in the message are written as ``\\xNN`` escapes.
        """
        message = (format % args).translate(LOG_ESCAPES)
        sys.stderr.write(
            "%s - - [%s] %s\n" % (self.address_string(), self.log_date_time_string(), message)
        )

    def version_string(self) -> str:
        """Return the ``Server`` header value: :attr:`server_version` and :attr:`sys_version`."""
        return self.server_version + " " + self.sys_version

    def date_time_string(self, timestamp: float | None = None) -> str:
        """Return *timestamp* (default: now) formatted for a ``Date`` header."""
        return http_date(timestamp)

    def log_date_time_string(self) -> str:
        """Return the current local time formatted for logging."""
        return log_timestamp(None, self.monthname)

    def address_string(self) -> str:
        """Return the client's address as logged (no DNS lookup); ``unix:`` for a Unix socket."""
        return peer_host(self.client_address)
