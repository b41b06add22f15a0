"""The WSGI bridge: :class:`WSGIHandler`, :class:`WSGIServer` and :func:`make_server`.

Rule 1: a WSGI application is one more thing a :class:`~devserve.BaseHTTPRequestHandler`
dispatches to: the request is parsed, limited, timed out, kept alive and logged by the
base handler, exactly as for a ``do_*`` method; this module only turns the parsed head
into an environ (:func:`~devserve.wsgi.environ.build_environ`) and the application's answer
into bytes.
Rule 2: nothing an application returns reaches the wire unchecked.  The status and
headers are checked when ``start_response`` is called, so the error is raised inside the
application; framing (``Content-Length``, chunked, close-delimited) is the server's
alone, so hop-by-hop headers from the application are refused.
Rule 3: the client can always tell a complete response from a failed one: an error
before the head is a 500 page; after it, the connection is reset, never ended cleanly.
Rule 4: ``close()`` on the application's iterable is called exactly once, whatever
happened, including a client that went away.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import socket
import stat
import struct
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator
from http import HTTPStatus
from importlib import metadata
from typing import Any, BinaryIO

from ..handler.base import BaseHTTPRequestHandler
from ..http11 import (
    ChunkedReader,
    ChunkedWriter,
    LengthReader,
    ProtocolError,
    RequestHead,
    RequestLine,
    body_allowed,
    check_field,
)
from ..http11.limits import DEFAULT_LIMITS
from ..http11.response import check_reason
from ..net.bounded import BoundedHTTPServer
from .environ import OutsideScriptName, build_environ

__all__ = [
    "FileWrapper",
    "WSGIApplication",
    "WSGIHandler",
    "WSGIInput",
    "WSGIRequestHandler",
    "WSGIServer",
    "make_server",
]

WSGIApplication = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
"""The type of a WSGI application (PEP 3333)."""

try:
    _VERSION = metadata.version("devserve")
except metadata.PackageNotFoundError:  # running from a source tree that is not installed
    _VERSION = "0.1.0"

# RFC 9110 §7.6.1: these describe one connection, which the server alone manages.
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
     "trailers", "transfer-encoding", "upgrade"}
)  # fmt: skip
_DISCONNECTS = (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)
_LINGER_RESET = struct.pack("ii", 1, 0)


class _ClientGone(Exception):
    """Writing to the client failed; nothing more can be sent."""


class FileWrapper:
    """``wsgi.file_wrapper``: wrap a file so the server can send it with :func:`os.sendfile`.

    Iterating yields blocks of *blksize* bytes, so any server can send it; when
    :class:`WSGIHandler` is given one whose file is a regular file opened in binary
    mode, it sends the rest of the file from its current position with
    :meth:`socket.socket.sendfile` instead, and sets ``Content-Length`` when the
    application did not.

    .. versionadded:: 0.1
    """

    def __init__(self, filelike: BinaryIO, blksize: int = 8192) -> None:
        self.filelike = filelike
        self.blksize = blksize

    def __iter__(self) -> Iterator[bytes]:
        read, size = self.filelike.read, self.blksize
        while data := read(size):
            yield data

    def close(self) -> None:
        """Close the wrapped file, if it can be closed."""
        close = getattr(self.filelike, "close", None)
        if close is not None:
            close()


class WSGIInput:
    """``wsgi.input``: the request body, decoded and ending where the body ends.

    The first read answers a pending ``Expect: 100-continue`` (once), so an
    application that refuses the body without reading it is never sent it.

    .. versionadded:: 0.1
    """

    __slots__ = ("_handler", "_reader")

    def __init__(self, handler: WSGIHandler) -> None:
        self._handler = handler
        self._reader: LengthReader | ChunkedReader | None = None

    def _open(self) -> LengthReader | ChunkedReader:
        reader = self._reader
        if reader is None:
            reader = self._reader = self._handler._open_body()
        return reader

    def read(self, size: int | None = -1) -> bytes:
        """Read up to *size* bytes; all that is left if *size* is negative or ``None``."""
        try:
            return self._open().read(-1 if size is None else size)
        except (ProtocolError, OSError) as error:
            self._handler._input_error = error
            raise

    def readline(self, size: int | None = -1) -> bytes:
        """Read one line, at most *size* bytes of it."""
        try:
            return self._open().readline(-1 if size is None else size)
        except (ProtocolError, OSError) as error:
            self._handler._input_error = error
            raise

    def readlines(self, hint: int | None = -1) -> list[bytes]:
        """Read lines until the end of the body, or until *hint* bytes have been read."""
        lines = []
        total = 0
        while line := self.readline():
            lines.append(line)
            total += len(line)
            if hint is not None and 0 < hint <= total:
                break
        return lines

    def __iter__(self) -> Iterator[bytes]:
        while line := self.readline():
            yield line


class WSGIHandler(BaseHTTPRequestHandler):
    """Serve the server's WSGI application (PEP 3333) on devserve's HTTP/1.1 core.

    Every request goes to the application returned by the server's
    :meth:`~WSGIServer.get_app`, except that a ``do_*`` method a subclass defines
    takes precedence for its method: a subclass with ``do_OPTIONS`` answers every
    ``OPTIONS`` request itself, and may call :meth:`run_wsgi` to hand one on.

    Responses are framed by ``Content-Length`` when the application set it or
    returned a single item (or nothing), otherwise chunked to HTTP/1.1 clients and
    ended by closing to HTTP/1.0 clients.  Bodies of replies to ``HEAD`` and of
    1xx, 204 and 304 replies are dropped.  Unlike :mod:`wsgiref`, connections
    persist, request bodies may be chunked, ``Expect: 100-continue`` is answered
    when the application first reads ``wsgi.input``, and an application error after
    the head was sent resets the connection so the client cannot mistake a
    truncated body for a whole one.

    .. versionadded:: 0.1
    """

    protocol_version = "HTTP/1.1"
    server_version = "devserve/" + _VERSION
    strict_parsing = True
    idle_timeout = 75.0
    head_timeout = 10.0
    #: Seconds any one read of the body or write of the response may block.
    timeout = 60.0
    #: Request bodies larger than 1 GiB are refused with 413.
    limits = dataclasses.replace(DEFAULT_LIMITS, max_body_size=1 << 30)

    _expect_pending = False
    _input_error: BaseException | None = None

    def __getattr__(self, name: str) -> Any:
        # Only reached for names the class lacks: every method the parser accepted
        # and no do_* method claims goes to the application.
        if name.startswith("do_"):
            return self.run_wsgi
        raise AttributeError(name)

    def handle_expect_100(self) -> bool:
        """Defer ``100 Continue`` until the application first reads the body.

        A request for a ``do_*`` method the subclass defines is answered at once,
        as :mod:`http.server` does.
        """
        if hasattr(type(self), "do_" + str(self.command)):
            return super().handle_expect_100()
        self._expect_pending = True
        return True

    def get_environ(self) -> dict[str, Any]:
        """Return the environ for the current request.

        See :func:`~devserve.wsgi.environ.build_environ`.
        """
        head = self.request_head
        if head is None:  # HTTP/0.9, served only when strict_parsing is off
            head = RequestHead(RequestLine(str(self.command), self.path, "HTTP/0.9", (0, 9)), [])
        server: Any = self.server
        ssl = sys.modules.get("ssl")  # a TLS socket exists only if ssl was imported
        tls = ssl is not None and isinstance(self.connection, ssl.SSLSocket)
        return build_environ(
            head,
            client_address=self.client_address,
            base=server.base_environ,
            wsgi_input=WSGIInput(self),
            connection=self.connection,
            url_scheme="https" if tls else "http",
            on_dropped=self._log_dropped,
        )

    def _log_dropped(self, name: str) -> None:
        self.log_message("dropped header %r: '_' in a name is ambiguous with '-'", name)

    def get_app(self) -> WSGIApplication:
        """Return the application to run: the server's :meth:`~WSGIServer.get_app`."""
        server: Any = self.server
        app: WSGIApplication = server.get_app()
        return app

    # -- one request ----------------------------------------------------------

    def run_wsgi(self) -> None:
        """Run the application for the current request and send its response."""
        self._status: str | None = None
        self._code = 0
        self._headers: list[tuple[str, str]] = []
        self._length: int | None = None
        self._head_sent = False
        self._complete = False
        self._chunked = False
        self._body_ok = True
        self._body_sent = 0
        self._input_error = None
        try:
            self._run_wsgi()
        finally:
            if self._expect_pending:
                # The client may or may not send the body it asked to send:
                # the connection's next bytes cannot be trusted to be a request.
                self._expect_pending = False
                self.close_connection = True

    def _run_wsgi(self) -> None:
        head = self.request_head
        limit = self.limits.max_body_size
        if head is not None and limit is not None and (head.content_length or 0) > limit:
            self.send_error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
            return
        try:
            environ = self.get_environ()
        except OutsideScriptName:
            self.send_error(HTTPStatus.NOT_FOUND, explain="Not under the application's prefix")
            return
        result = None
        try:
            try:
                result = self.get_app()(environ, self.start_response)
                self._send_result(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        except (_ClientGone, *_DISCONNECTS):
            self.close_connection = True
            self.log_request(self._code or "-", "%d (client disconnected)" % self._body_sent)
            return
        except Exception:
            self._fail(sys.exc_info())
            return
        self.log_request(self._code, self._body_sent)

    def _open_body(self) -> LengthReader | ChunkedReader:
        if self._expect_pending:
            self._expect_pending = False
            if self._head_sent:
                self.close_connection = True  # too late for 100; the client decides
            else:
                self._out(b"%s 100 Continue\r\n\r\n" % self.protocol_version.encode("ascii"))
                self.wfile.flush()
        return self.body_reader()

    # -- start_response and write ----------------------------------------------

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], None]:
        """The ``start_response`` callable given to the application (PEP 3333).

        Raises :exc:`ValueError` or :exc:`TypeError` at once for a malformed
        status or header, a header the server alone may set (``Connection``,
        ``Transfer-Encoding`` and the other hop-by-hop fields, except
        ``Connection`` and ``Upgrade`` on ``101``), or an interim status.
        """
        if exc_info is not None:
            try:
                if self._head_sent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None  # PEP 3333: break the frame -> traceback cycle
        elif self._status is not None:
            raise RuntimeError("start_response() called again without exc_info")
        code = _check_status(status)
        length = None
        for item in _check_headers(headers):
            name, value = item
            check_field(name, value)
            value.encode("latin-1")
            lower = name.lower()
            if lower in _HOP_BY_HOP and not (code == 101 and lower in ("connection", "upgrade")):
                raise ValueError(
                    "hop-by-hop header %r is set by the server, not the application" % name
                )
            if lower == "content-length":
                if not value.isdigit() or not value.isascii():
                    raise ValueError("invalid Content-Length %r" % value)
                length = int(value)
        self._status, self._code, self._headers, self._length = status, code, headers, length
        return self.write

    def write(self, data: bytes) -> None:
        """The ``write`` callable ``start_response`` returns (PEP 3333)."""
        if self._status is None:
            raise RuntimeError("write() called before start_response()")
        if type(data) is not bytes:
            raise TypeError("write() takes bytes, not %s" % type(data).__name__)
        if not self._head_sent:
            self._send_head(None)
        self._write_body(data)

    # -- the response ---------------------------------------------------------

    def _send_result(self, result: Iterable[bytes]) -> None:
        if type(result) is FileWrapper and self._sendfile(result):
            return
        for data in result:
            if type(data) is not bytes:
                raise TypeError("the application yielded %s, not bytes" % type(data).__name__)
            if not data:
                continue  # PEP 3333: the head waits for the first non-empty item
            if not self._head_sent:
                single = isinstance(result, (list, tuple)) and len(result) == 1
                self._send_head(len(data) if single else None)
            self._write_body(data)
        if not self._head_sent:
            self._send_head(0)
        self._finish_body()

    def _sendfile(self, wrapper: FileWrapper) -> bool:
        wfile = self.wfile
        file = wrapper.filelike
        if (
            self._status is None
            or not hasattr(wfile, "sendfile")
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
        self._send_head(count)
        if self._body_ok and count:
            try:
                sent = wfile.sendfile(file, offset, count)
            except OSError as error:
                raise _ClientGone from error
            self._body_sent += sent
            if self._length is not None:
                self._length -= sent
        self._finish_body()
        return True

    def _send_head(self, total: int | None) -> None:
        """Send the status line and headers; *total* is the body length, if known."""
        error = self._input_error
        if error is not None:
            raise error  # the body was bad: its error answers, not the application
        if self._expect_pending:
            # The body was never asked for (RFC 9110 §10.1.1): answer, then close.
            self.close_connection = True
        code = self._code
        command = self.command
        self._body_ok = body_ok = body_allowed(code, command)
        status = self._status or ""
        self.send_response_only(code, status[4:])
        has_server = has_date = False
        send_header = self.send_header
        for name, value in self._headers:
            lower = name.lower()
            if lower == "server":
                has_server = True
            elif lower == "date":
                has_date = True
            elif lower == "content-length" and (code < 200 or code == 204):
                continue  # RFC 9110 §8.6: never on 1xx or 204
            send_header(name, value)
        if not has_server:
            send_header("Server", self.version_string())
        if not has_date:
            send_header("Date", self.date_time_string())
        if code < 200:
            self.close_connection = True  # 101: the connection is the application's now
        elif self._length is None and body_ok:
            if total is not None:
                send_header("Content-Length", str(total))
                self._length = total
            elif self.request_version == "HTTP/1.1":
                send_header("Transfer-Encoding", "chunked")
                self._chunked = True
            else:
                # RFC 9112 §6.1: never chunked to HTTP/1.0; only closing ends the body.
                self.close_connection = True
        if code >= 200:
            if self.close_connection:
                send_header("Connection", "close")
            elif self.request_version == "HTTP/1.0":
                send_header("Connection", "keep-alive")
        self._head_sent = True
        self.end_headers()
        if not body_ok:
            self._length = None

    def _write_body(self, data: bytes) -> None:
        if not data or not self._body_ok:
            return
        remaining = self._length
        if remaining is not None:
            if len(data) > remaining:
                self.log_error("response longer than its Content-Length; extra bytes dropped")
                data = data[:remaining]
                if not data:
                    return
            self._length = remaining - len(data)
        self._out(ChunkedWriter.chunk(data) if self._chunked else data)
        self._body_sent += len(data)

    def _finish_body(self) -> None:
        if self._chunked:
            self._out(ChunkedWriter.last_chunk())
        elif self._length:
            self.log_error(
                "response shorter than its Content-Length (%d bytes missing)", self._length
            )
            self._reset_connection()
            return
        self._complete = True

    def _out(self, data: bytes) -> None:
        try:
            self.wfile.write(data)
        except OSError as error:
            raise _ClientGone from error

    # -- failures -------------------------------------------------------------

    def _fail(self, exc_info: Any) -> None:
        self.close_connection = True
        error = self._input_error
        if error is not None:
            # The request body failed (bad chunk, too large, too slow, cut off): that
            # is the answer, whatever the application made of it.
            if self._head_sent:
                self._reset_connection()
            elif isinstance(error, ProtocolError):
                self._send_error_quietly(error.status, error.message, error.explain)
            elif isinstance(error, TimeoutError):
                self._send_error_quietly(HTTPStatus.REQUEST_TIMEOUT)
            else:
                self.log_request("-", "- (client disconnected)")
            return
        self.log_exception(exc_info)
        if self._head_sent:
            if not self._complete:
                self._reset_connection()
            return
        self._send_error_quietly(HTTPStatus.INTERNAL_SERVER_ERROR)

    def _send_error_quietly(
        self, code: int, message: str | None = None, explain: str | None = None
    ) -> None:
        with contextlib.suppress(OSError):  # a client that is gone needs no page
            self.send_error(code, message, explain)

    def _reset_connection(self) -> None:
        # SO_LINGER 0: close with a reset, not a FIN, so a client reading a
        # close-delimited or chunked body sees an error, not an end.
        self.close_connection = True
        connection = self.connection
        if isinstance(connection, socket.socket):
            try:
                connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
                connection.close()
            except OSError:
                pass

    def log_exception(self, exc_info: Any) -> None:
        """Log an application error and its traceback to :data:`sys.stderr`."""
        self.log_error("Error in the WSGI application for %r", self.requestline)
        traceback.print_exception(*exc_info, file=sys.stderr)


#: :mod:`wsgiref.simple_server`'s name for the handler, so code written for it needs
#: only its import changed.
WSGIRequestHandler = WSGIHandler


def _check_status(status: Any) -> int:
    if type(status) is not str:
        raise TypeError("status must be a str, not %s" % type(status).__name__)
    code = status[:3]
    if not (code.isdigit() and code.isascii() and (len(status) == 3 or status[3] == " ")):
        raise ValueError("status %r is not 'NNN Reason'" % status)
    check_reason(status)
    status.encode("latin-1")
    number = int(code)
    if number < 100 or (number < 200 and number != 101):
        raise ValueError("status %r cannot end a response; only 101 of the 1xx can" % status)
    return number


def _check_headers(headers: Any) -> list[tuple[str, str]]:
    if type(headers) is not list:
        raise TypeError("headers must be a list, not %s" % type(headers).__name__)
    for item in headers:
        if type(item) is not tuple or len(item) != 2:
            raise TypeError("each header must be a (name, value) tuple, not %r" % (item,))
        if type(item[0]) is not str or type(item[1]) is not str:
            raise TypeError("header names and values must be str: %r" % (item,))
    return headers


class WSGIServer(BoundedHTTPServer):
    """An HTTP server that runs one WSGI application, like :mod:`wsgiref`'s.

    It is a :class:`~devserve.net.bounded.BoundedHTTPServer`: idle connections wait without a
    thread, requests are served by a bounded pool of threads (long-running ones get a
    thread of their own), and :meth:`~devserve.net.bounded.BoundedMixIn.shutdown` lets
    requests in flight finish.

    :attr:`script_name` is the prefix the application is mounted under (``""`` for
    the root); requests outside it get 404.  :attr:`base_environ` holds the keys
    every request shares and is built by :meth:`setup_environ` when the socket is
    bound.

    .. versionadded:: 0.1
    """

    multithread = True
    multiprocess = False
    script_name = ""
    application: WSGIApplication | None = None
    base_environ: dict[str, Any]

    def __init__(
        self,
        server_address: Any,
        RequestHandlerClass: Callable[..., Any] = WSGIHandler,
        bind_and_activate: bool = True,
        *,
        script_name: str = "",
        **kwargs: Any,
    ) -> None:
        if script_name.rstrip("/"):
            if not script_name.startswith("/"):
                raise ValueError("script_name must start with '/': %r" % script_name)
            self.script_name = script_name.rstrip("/")
        super().__init__(server_address, RequestHandlerClass, bind_and_activate, **kwargs)

    def server_bind(self) -> None:
        """Bind the socket, then build :attr:`base_environ`."""
        super().server_bind()
        self.setup_environ()

    def setup_environ(self) -> None:
        """Build :attr:`base_environ` from the server's name, port and settings."""
        software = getattr(self.RequestHandlerClass, "server_version", "devserve")
        self.base_environ = {
            "SERVER_NAME": str(self.server_name),
            "SERVER_PORT": str(self.server_port),
            "SERVER_SOFTWARE": software,
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SCRIPT_NAME": self.script_name,
            "wsgi.multithread": self.multithread,
            "wsgi.multiprocess": self.multiprocess,
            "wsgi.file_wrapper": FileWrapper,
        }

    def get_app(self) -> WSGIApplication:
        """Return the application :meth:`set_app` set."""
        if self.application is None:
            raise RuntimeError("no WSGI application: call set_app() first")
        return self.application

    def set_app(self, application: WSGIApplication) -> None:
        """Set the WSGI application to serve."""
        self.application = application


def make_server(
    host: str,
    port: int,
    app: WSGIApplication,
    server_class: type[WSGIServer] = WSGIServer,
    handler_class: type[BaseHTTPRequestHandler] = WSGIHandler,
) -> WSGIServer:
    """Return a server for *app* on *host* and *port*, as :func:`wsgiref.simple_server.make_server`.

    Unlike :mod:`wsgiref`, the server serves many connections at once on a bounded
    pool of threads, speaks HTTP/1.1 with strict parsing and timeouts, and an IPv6
    *host* (one holding ``:``) is bound as one.

    .. versionadded:: 0.1
    """
    if ":" in host and server_class.address_family == socket.AF_INET:
        server_class = type(
            server_class.__name__, (server_class,), {"address_family": socket.AF_INET6}
        )
    server = server_class((host, port), handler_class)
    server.set_app(app)
    return server
