"""BaseHTTPRequestHandler: the stdlib's request handler API on devserve's HTTP/1.1 core.

Rule 1: the handler adapts, it does not parse.  :meth:`parse_request` keeps the stdlib
contract (returns a bool, sets ``requestline``, ``command``, ``path``,
``request_version``, ``headers`` and ``close_connection``) and turns one
:class:`~devserve.http11.errors.ProtocolError` from :mod:`devserve.http11` into one
:meth:`send_error`.
Rule 2: what differs from documented :mod:`http.server` behaviour is one class
attribute each, off here and on in what devserve's own entry points serve
(:attr:`strict_parsing`, :attr:`idle_timeout`, :attr:`head_timeout`).
Rule 3: a connection is never reused with an unread body in front of the next request:
the body is drained or the connection closed.
"""

from __future__ import annotations

import email.message
import html
import http.client
import io
import re
import socket
import socketserver
import sys
import time
from http import HTTPStatus
from typing import Any, ClassVar, cast

from ..http11 import (
    DEFAULT_LIMITS,
    ChunkedReader,
    LengthReader,
    Limits,
    ProtocolError,
    RequestHead,
    body_allowed,
    field_line,
    http_date,
    keep_alive,
    line_content,
    parse_head,
    parse_request_line,
    read_field_lines,
    status_line,
)
from ..net.streams import SocketReader, SocketWriter, tune_connection
from .bodies import RequestBodyMixin
from .deadlines import DeadlineMixin

__all__ = [
    "DEFAULT_ERROR_CONTENT_TYPE",
    "DEFAULT_ERROR_MESSAGE",
    "BaseHTTPRequestHandler",
]

DEFAULT_ERROR_MESSAGE = """\
<!DOCTYPE HTML>
<html lang="en">
    <head>
        <meta charset="utf-8">
        <style type="text/css">
            :root {
                color-scheme: light dark;
            }
        </style>
        <title>Error response</title>
    </head>
    <body>
        <h1>Error response</h1>
        <p>Error code: %(code)d</p>
        <p>Message: %(message)s.</p>
        <p>Error code explanation: %(code)s - %(explain)s.</p>
    </body>
</html>
"""

DEFAULT_ERROR_CONTENT_TYPE = "text/html;charset=utf-8"

# gh-100001: a request must not write terminal escapes into the log; '\' is escaped
# too, so an escaped byte and a literal backslash sequence stay distinguishable.
_LOG_ESCAPES = {c: "\\x%02x" % c for c in (*range(0x20), *range(0x7F, 0xA0))}
_LOG_ESCAPES[ord("\\")] = "\\\\"
_UNSAFE_REASON = re.compile(r"[\x00-\x1f\x7f]")
_DISCONNECTS = (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)


class BaseHTTPRequestHandler(RequestBodyMixin, DeadlineMixin, socketserver.StreamRequestHandler):
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
    #: bytes in the target, HTTP/0.9 and a missing ``Host`` on HTTP/1.1 all get a
    #: 400.  Off here; on in devserve's command line and :func:`~devserve.make_server`.
    #:
    #: .. versionadded:: 0.1
    strict_parsing = False
    #: Size limits for request heads and bodies (:class:`devserve.http11.Limits`).
    #:
    #: .. versionadded:: 0.1
    limits: ClassVar[Limits] = DEFAULT_LIMITS
    #: Seconds a persistent connection may sit idle between requests before it is
    #: closed, or ``None`` to wait forever (the stdlib's behaviour).
    #:
    #: .. versionadded:: 0.1
    idle_timeout: float | None = None
    #: Seconds a client has to send a whole request head once it has started,
    #: or ``None``; past it the answer is 408 and the connection closes.  A
    #: client trickling one byte a second cannot hold a thread past it.
    #:
    #: .. versionadded:: 0.1
    head_timeout: float | None = None
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
    _socket_reader: SocketReader | None = None
    _headers_buffer: list[bytes]
    _status_code: int | None = None
    _response_framed = False
    _connection_sent = False
    _body: LengthReader | ChunkedReader | None = None
    _body_start = 0
    _sent_before = 0
    _parkable = False
    _parked = False

    # -- connection -----------------------------------------------------------

    def setup(self) -> None:
        """Make :attr:`rfile` and :attr:`wfile` for the connection."""
        sock = self.request
        if not isinstance(sock, socket.socket):
            # Tests build handlers around stand-in sockets, as the stdlib allows.
            super().setup()
            return
        self.connection = sock
        if self.timeout is not None:
            sock.settimeout(self.timeout)
        tune_connection(sock)
        reader = SocketReader(sock)
        self._socket_reader = reader
        server = self.server
        early_input = getattr(server, "early_input", None)
        if early_input is not None:
            reader.feed(*early_input(self))
        self._parkable = (
            getattr(server, "parks_connections", False)
            and self.wbufsize == 0
            and type(self).handle is BaseHTTPRequestHandler.handle
            and type(self).finish is BaseHTTPRequestHandler.finish
        )
        if self.rbufsize == 0:
            # Unbuffered, as the stdlib's rbufsize = 0 asks: nothing is read ahead
            # that a child process given the socket would then miss.
            self.rfile = reader
        else:
            size = io.DEFAULT_BUFFER_SIZE if self.rbufsize < 0 else self.rbufsize
            self.rfile = io.BufferedReader(reader, size)
        if self.wbufsize == 0:
            self.wfile = SocketWriter(sock)
        else:
            # A buffered wfile, as the stdlib makes one: the caller chose to flush.
            self.wfile = cast(io.BufferedIOBase, sock.makefile("wb", self.wbufsize))

    def handle(self) -> None:
        """Handle requests on the connection until it is to be closed.

        On a server that parks idle connections (:class:`~devserve.net.bounded.BoundedHTTPServer`),
        it returns as soon as no further request has arrived, leaving the connection
        open; the server resumes it when the next request comes.
        """
        self.close_connection = True
        try:
            self.handle_one_request()
            while not self.close_connection:
                if self._parkable and not self._input_pending():
                    self._parked = True
                    return
                self.handle_one_request()
        except _DISCONNECTS:
            # The client went away; that is not the server's error to report.
            self.close_connection = True

    def finish(self) -> None:
        """Flush and close :attr:`wfile` and :attr:`rfile` (not while the connection is parked)."""
        if not self._parked:
            super().finish()

    def _resume(self) -> None:
        # The server's side of parking: serve the request that has now arrived.
        self._parked = False
        try:
            self.handle()
        finally:
            self.finish()

    def _input_pending(self) -> bool:
        """Whether bytes of a next request already wait above the socket."""
        reader = self._socket_reader
        if reader is None:
            return True
        if reader.pending():
            return True
        rfile: Any = self.rfile
        if rfile is not reader and reader.tell() != rfile.tell():
            return True  # pipelined: in the buffered reader already
        pending = getattr(self.connection, "pending", None)  # TLS: decrypted, unread
        return pending is not None and pending() > 0

    def handle_one_request(self) -> None:
        """Read one request, dispatch it to its ``do_*`` method, and finish it."""
        self._start_request()
        try:
            if not self._wait_for_request():
                return
            limit = self.limits.max_request_line
            self.raw_requestline = self.rfile.readline(limit + 1)
            if self.strict_parsing and self.raw_requestline == b"\r\n":
                # RFC 9112 §2.2: ignore one empty line before a request line.
                self.raw_requestline = self.rfile.readline(limit + 1)
            if len(self.raw_requestline) > limit:
                self.requestline = ""
                self.request_version = ""
                self.command = ""
                self.send_error(HTTPStatus.REQUEST_URI_TOO_LONG)
                return
            if not self.raw_requestline:
                self.close_connection = True
                return
            parsed = self.parse_request()
            self._end_head_deadline()
            if not parsed:
                return
            method_name = "do_" + self.command  # type: ignore[operator]
            if not hasattr(self, method_name):
                self.send_error(
                    HTTPStatus.NOT_IMPLEMENTED, "Unsupported method (%r)" % self.command
                )
                return
            self._dispatch(getattr(self, method_name))
            self.wfile.flush()
            if not self.close_connection:
                self._discard_unread_body()
        except TimeoutError as error:
            self._answer_timeout(error)

    def _start_request(self) -> None:
        self._status_code = None
        self._response_framed = False
        self._connection_sent = False
        self._body = None
        self.request_head = None
        wfile = self.wfile
        self._sent_before = wfile.bytes_sent if type(wfile) is SocketWriter else -1

    def _dispatch(self, method: Any) -> None:
        try:
            method()
        except ProtocolError as error:
            # A body the handler read was malformed (bad chunk, too large...).
            self.close_connection = True
            if not self._response_started():
                self._headers_buffer = []
                self._send_protocol_error(error)
        except _DISCONNECTS:
            raise
        except Exception:
            self.close_connection = True
            if not self._response_started():
                self._headers_buffer = []  # drop what the failed handler buffered
                self.send_error(HTTPStatus.INTERNAL_SERVER_ERROR)
            raise

    def _response_started(self) -> bool:
        """Whether any of the response reached the wire (or waits in the writer)."""
        wfile = self.wfile
        if type(wfile) is SocketWriter:
            return wfile.bytes_sent != self._sent_before or wfile.holding
        return self._status_code is not None

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
        strict = self.strict_parsing
        try:
            content = line_content(raw, strict=strict)
            if content is None:
                # The stdlib serves a request line that ends at the end of input.
                if strict:
                    return False
                content = raw
            if not strict and not content.split():
                return False
            line = parse_request_line(content, strict=strict)
            self.command = line.method
            if line.version_info >= (1, 0) or len(content.split()) == 3:
                # A two-word (HTTP/0.9) line keeps default_request_version, as in the stdlib.
                self.request_version = line.version
            path = line.target
            if path.startswith("//"):
                # gh-87389 (CVE-2021-28861): '//host' would be an open redirect.
                path = "/" + path.lstrip("/")
            self.path = path
            if line.version_info < (1, 0):
                # gh-70765: HTTP/0.9 has no header section to wait for.
                self.headers = self.MessageClass()
                return True
            lines = read_field_lines(
                self.rfile, limits=self.limits, head_size=len(raw), strict=strict
            )
            head = parse_head(line, lines, strict=strict, limits=self.limits)
        except ProtocolError as error:
            if error.version is not None:
                self.request_version = error.version
            elif strict or self.command is not None:
                self.request_version = "HTTP/1.1"
            self._send_protocol_error(error)
            return False
        self.request_head = head
        self.headers = self._make_message(head.fields)
        http11 = self.protocol_version >= "HTTP/1.1"
        self.close_connection = not keep_alive(
            line.version_info, head.connection, server_http11=http11
        )
        if head.content_length or head.chunked:
            self._body_start = self._rfile_position()
        if (
            head.expect is not None
            and head.expect.lower() == "100-continue"
            and http11
            and self.request_version >= "HTTP/1.1"
        ):
            return self.handle_expect_100()
        return True

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
        self.send_response_only(HTTPStatus.CONTINUE)
        self.end_headers()
        return True

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
        self.log_error("code %d, message %s", code, message)
        self.send_response(code, _UNSAFE_REASON.sub(" ", message))
        self.send_header("Connection", "close")
        body = None
        if code >= 200 and code not in (
            HTTPStatus.NO_CONTENT,
            HTTPStatus.RESET_CONTENT,
            HTTPStatus.NOT_MODIFIED,
        ):
            # bpo-1100201: message and explain may echo the request; escape both.
            content = self.error_message_format % {
                "code": code,
                "message": html.escape(message, quote=False),
                "explain": html.escape(explain, quote=False),
            }
            body = content.encode("UTF-8", "replace")
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
        """End the header section and write the buffered head (:meth:`flush_headers`)."""
        if self.request_version != "HTTP/0.9":
            code = self._status_code
            if code is not None and code >= 200 and not self._connection_sent:
                if self.close_connection:
                    if self.announce_close:
                        self.send_header("Connection", "close")
                elif not self._response_framed and body_allowed(code, self.command):
                    # No length and no chunking: only closing can end this body.
                    self.send_header("Connection", "close")
            if not hasattr(self, "_headers_buffer"):
                self._headers_buffer = []
            self._headers_buffer.append(b"\r\n")
            self.flush_headers()

    def flush_headers(self) -> None:
        """Write the buffered head in one write and empty the buffer."""
        if hasattr(self, "_headers_buffer"):
            data = b"".join(self._headers_buffer)
            self._headers_buffer = []
            wfile = self.wfile
            if type(wfile) is SocketWriter:
                wfile.hold(data)
                if self._status_code is not None and self._status_code < 200:
                    wfile.flush()  # an interim reply must not wait for the final one
            else:
                wfile.write(data)

    # -- logging --------------------------------------------------------------

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Log an accepted request: the request line, the status and the size."""
        if isinstance(code, HTTPStatus):
            code = code.value
        self.log_message('"%s" %s %s', self.requestline, str(code), str(size))

    def log_error(self, format: str, *args: Any) -> None:
        """Log an error; by default the same as :meth:`log_message`."""
        self.log_message(format, *args)

    def log_message(self, format: str, *args: Any) -> None:
        """Write ``address - - [date] message`` to :data:`sys.stderr`.

        Control characters in the message are written as ``\\xNN`` escapes.
        """
        message = (format % args).translate(_LOG_ESCAPES)
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
        year, month, day, hour, minute, second, *_ = time.localtime(time.time())
        return "%02d/%3s/%04d %02d:%02d:%02d" % (
            day,
            self.monthname[month],
            year,
            hour,
            minute,
            second,
        )

    def address_string(self) -> str:
        """Return the client's address as logged (no DNS lookup)."""
        return str(self.client_address[0])
