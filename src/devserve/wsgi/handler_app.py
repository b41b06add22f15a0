"""HandlerApp: a request handler class, devserve's or :mod:`http.server`'s, as a WSGI application.

Rule 1: the handler is served as a socket server serves it: made by its own class (or
the :func:`functools.partial` of one) for a connection, here one that carries the WSGI
call's request and then ends.  ``__init__``, ``setup``, ``handle``, ``parse_request``
and the ``do_*`` dispatch (501 without one) are the handler's own, so what a handler
does on its own server it does here.
Rule 2: the request reaches a handler on devserve's base class as the WSGI server
parsed it, a request line and fields (:mod:`devserve.handler.given`), and one on
:mod:`http.server`'s as HTTP/1.x bytes written back from the environ; either way its
body is framed by ``Content-Length`` alone: the WSGI server has already answered
``Expect`` and decoded a chunked body, which is spooled here to learn its length (413
past the limit).
Rule 3: what the handler writes is read by the core
(:func:`~devserve.http11.response_head.parse_response_head`, as the proxy reads a
backend's answer), once for each distinct head, and given to ``start_response``
(a fresh list each time); the fields that manage a connection, ``Date`` and
``Server`` are the WSGI server's.  The body goes to
PEP 3333's ``write`` callable as the handler writes it (a chunked one decoded first),
so it streams, in constant memory, without a thread.
Rule 4: what a WSGI server cannot carry is a :exc:`HandlerAppError`, never a guess: the
raw socket, ``101 Switching Protocols``, a response that is not HTTP/1.x.  An HTTP/0.9
request is answered 505 without running the handler.
"""

from __future__ import annotations

import functools
import io
import re
import socket
import sys
import tempfile
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any, NamedTuple
from urllib.parse import quote

from ..handler.base import BaseHTTPRequestHandler
from ..handler.connection import ConnectionHandler
from ..handler.defaults import DEVSERVE
from ..handler.given import GivenRequest, GivenRequests
from ..handler.messages import DEFAULT_ERROR_CONTENT_TYPE, DEFAULT_ERROR_MESSAGE
from ..handler.messages import error_page as _error_page
from ..http11 import (
    DEFAULT_LIMITS,
    ProtocolError,
    body_allowed,
    content_length_value,
)
from ..http11.fields import TCHAR
from ..http11.framing import chunk_size
from ..http11.response import CONNECTION_FIELDS, Framing
from ..http11.response_head import HEAD_END, ResponseHead, parse_response_head
from ..http11.target import below_prefix

__all__ = ["HandlerApp", "HandlerAppError"]

# The version the handler is told.  HTTP/2 and HTTP/3 carry HTTP/1.1's semantics; a
# WSGI server frames the response for its client whatever the handler says.
_VERSIONS = {
    "HTTP/1.0": "HTTP/1.0",
    "HTTP/1.1": "HTTP/1.1",
    "HTTP/2": "HTTP/1.1",
    "HTTP/2.0": "HTTP/1.1",
    "HTTP/3": "HTTP/1.1",
    "HTTP/3.0": "HTTP/1.1",
}
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
_PIECE = 1 << 16
# Fields of the handler's response that are not passed on: those that manage the
# connection, and Date and Server, which the WSGI server sets (two would contradict).
_NOT_PASSED_ON = CONNECTION_FIELDS | {"date", "server"}

_field_names: dict[str, bytes] = {}
# Names joined by ':' (which no token holds), each a token (RFC 9110 §5.1).
_NAMES = re.compile(b"[" + TCHAR + b"]+(?::[" + TCHAR + b"]+)*")
# What a field value may not hold: controls but HTAB (RFC 9110 §5.5).
_CONTROL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_FIELD_NAMES_MAX = 512


class HandlerAppError(RuntimeError):
    """The handler did something that a WSGI server cannot carry.

    Raised in the handler when it uses its socket other than through ``rfile`` and
    ``wfile``, or sends ``101 Switching Protocols``; raised by the application when
    the handler wrote no response, or one that is not HTTP/1.x, or ended a body before
    its end.  The WSGI server answers it with its own 500 (or, once the head is sent,
    closes the connection), and logs it.

    .. versionadded:: 0.1
    """


class HandlerApp:
    """Run a :class:`~devserve.BaseHTTPRequestHandler` subclass as a WSGI application (PEP 3333).

    *handler* is a handler class, devserve's or :mod:`http.server`'s, or a
    :func:`functools.partial` of one such as ``partial(SimpleHTTPRequestHandler,
    directory="public")``.  Each call makes a handler with it, as a socket server
    would for a new connection, and the handler reads the request from ``rfile`` and
    writes its response to ``wfile``; so the same class runs under gunicorn, waitress
    or any WSGI server::

        app = HandlerApp(MyHandler)  # gunicorn 'myhandlers:app'

    The handler sees the request as the client sent it (``command``, ``path``,
    ``request_version``, ``headers``), mounted at ``SCRIPT_NAME``: its ``path`` is the
    part below it, and a ``Location`` it sends under no ``SCRIPT_NAME`` (a redirect
    built from its path) gets it put back in front.  The WSGI server has answered
    ``Expect: 100-continue`` and decoded a chunked body: the handler sees that body's
    ``Content-Length`` and no ``Transfer-Encoding``.  ``client_address`` is the
    client's, and ``server.server_name`` and ``server.server_port`` the WSGI server's.
    :meth:`~devserve.BaseHTTPRequestHandler.log_message` is the handler's own: the
    stock one writes to ``sys.stderr``, which gunicorn and waitress keep as their
    error log.

    The status and fields the handler sends go to ``start_response`` without the fields
    that manage a connection and without ``Date`` and ``Server``, which are the WSGI
    server's; ``Content-Length`` stays.  The body is handed to the server as it is
    written, a chunked one decoded, so it streams.  A handler that uses its socket
    directly or switches protocols raises
    :exc:`~devserve.wsgi.handler_app.HandlerAppError`.

    .. versionadded:: 0.1
    """

    #: The largest chunked request body spooled to learn its length (413 beyond), when
    #: the handler class sets no ``limits.max_body_size`` of its own.
    max_spooled_body: int = DEVSERVE.limits.max_body_size or 1 << 30

    def __init__(self, handler: Any) -> None:
        cls, args, kwargs = _handler_class(handler)
        #: The handler class or partial, as given.
        self.handler = handler
        self._class: Any = cls
        self._args, self._kwargs = args, kwargs
        ours = issubclass(cls, BaseHTTPRequestHandler)
        self._body_limit = cls.limits.max_body_size if ours else None
        self._given = ours and _reads_as_devserve(cls)

    def __repr__(self) -> str:
        return "HandlerApp(%r)" % (self.handler,)

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        """Serve one request (PEP 3333)."""
        version = _VERSIONS.get(environ.get("SERVER_PROTOCOL", ""))
        if version is None:
            return _refuse(start_response, HTTPStatus.HTTP_VERSION_NOT_SUPPORTED)
        length = body = None
        if environ.get("CONTENT_LENGTH") or "HTTP_TRANSFER_ENCODING" in environ:
            try:
                length, body = _request_body(environ, self._spool_limit())
            except _Refusal as refusal:
                return _refuse(start_response, refusal.status)
        errors = environ.get("wsgi.errors") or sys.stderr
        script_name = environ.get("SCRIPT_NAME", "")
        response = _Response(start_response, environ.get("REQUEST_METHOD"), errors, script_name)
        try:
            if self._given:
                # devserve's handlers take the request parsed (devserve.handler.given).
                request = _environ_request(environ, version, length)
                if not _parser_accepts(request):
                    return _refuse(start_response, HTTPStatus.BAD_REQUEST)
                rfile = _rfile(b"", body, length, response)
                connection: _Connection = _GivenConnection(rfile, response, request)
            else:
                head = _request_head(_environ_request(environ, version, length))
                connection = _Connection(_rfile(head, body, length, response), response)
            self._serve(connection, _client_address(environ), _Server(environ))
        finally:
            if body is not None and body is not environ.get("wsgi.input"):
                body.close()  # the spool of a chunked body
        return response.finish()

    def _spool_limit(self) -> int:
        limit = self._body_limit
        return self.max_spooled_body if limit is None else limit

    def _serve(self, connection: _Connection, address: Any, server: _Server) -> None:
        # What socketserver does for a connection: the handler serves in __init__.
        self._class(*self._args, connection, address, server, **self._kwargs)


def _reads_as_devserve(cls: type[BaseHTTPRequestHandler]) -> bool:
    """Whether *cls* reads its requests with devserve's own methods (can take them parsed)."""
    # A class that reads its request itself (http.server's way, from rfile) is given
    # bytes to read, as http.server's classes are.
    return (
        cls.handle is ConnectionHandler.handle
        and cls.handle_one_request is BaseHTTPRequestHandler.handle_one_request
        and cls.parse_request is BaseHTTPRequestHandler.parse_request
    )


def _handler_class(handler: Any) -> tuple[type[Any], tuple[Any, ...], dict[str, Any]]:
    """Return the class, positional and keyword arguments that *handler* makes handlers with."""
    cls, args, kwargs = handler, (), {}
    if isinstance(handler, functools.partial):
        # partial flattens nested partials: func is the class itself.
        cls, args, kwargs = handler.func, handler.args, handler.keywords
    if not (isinstance(cls, type) and _is_handler_class(cls)):
        raise TypeError(
            "HandlerApp needs a BaseHTTPRequestHandler subclass (devserve's or "
            "http.server's) or a functools.partial of one, not %r" % (handler,)
        )
    return cls, tuple(args), dict(kwargs)


def _is_handler_class(cls: type[Any]) -> bool:
    if issubclass(cls, BaseHTTPRequestHandler):
        return True
    # A subclass of http.server's handler exists only once http.server is imported:
    # importing it here would cost every devserve handler its start-up time.
    stdlib = sys.modules.get("http.server")
    return stdlib is not None and issubclass(cls, stdlib.BaseHTTPRequestHandler)


# -- the request ------------------------------------------------------------------


class _Refusal(Exception):
    def __init__(self, status: HTTPStatus) -> None:
        super().__init__(status)
        self.status = status


def _refuse(start_response: Callable[..., Any], status: HTTPStatus) -> list[bytes]:
    """Answer a request that cannot reach the handler, as ``send_error`` would."""
    page = _error_page(DEFAULT_ERROR_MESSAGE, status, status.phrase, status.description)
    start_response(
        "%d %s" % (status, status.phrase),
        [("Content-Type", DEFAULT_ERROR_CONTENT_TYPE), ("Content-Length", str(len(page)))],
    )
    return [page]


def _request_body(environ: dict[str, Any], limit: int) -> tuple[int, Any]:
    """Return the length of the request's body and the file to read it from."""
    declared = environ.get("CONTENT_LENGTH")
    if declared:
        try:
            return content_length_value(declared), environ["wsgi.input"]
        except ProtocolError:
            raise _Refusal(HTTPStatus.BAD_REQUEST) from None
    # A chunked body, decoded by the WSGI server: its length is learnt by reading it.
    if not environ.get("wsgi.input_terminated"):
        raise _Refusal(HTTPStatus.LENGTH_REQUIRED)  # nothing says where it ends
    return _spool(environ["wsgi.input"], limit)


def _spool(source: Any, limit: int) -> tuple[int, tempfile.SpooledTemporaryFile[bytes]]:
    spool = tempfile.SpooledTemporaryFile(_SPOOL_IN_MEMORY)  # noqa: SIM115
    total = 0
    try:
        while piece := source.read(_PIECE):
            total += len(piece)
            if total > limit:
                raise _Refusal(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
            spool.write(piece)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return total, spool


def _environ_request(environ: dict[str, Any], version: str, length: int | None) -> GivenRequest:
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


def _parser_accepts(request: GivenRequest) -> bool:
    """Whether devserve's parser would take *request*'s fields: token names, no controls.

    A WSGI server's parser has checked them; one that let something through is
    answered as devserve's own parser would answer it.
    """
    fields = request[1]
    names = b":".join([name for name, _ in fields])
    if names and not _NAMES.fullmatch(names):
        return False
    return not _CONTROL.search(b"".join([value for _, value in fields]))


def _request_head(request: GivenRequest) -> bytes:
    """*request* written back as a head, for a handler that reads its own."""
    line, fields = request
    return line + b"".join([name + b": " + value + b"\r\n" for name, value in fields]) + b"\r\n"


def _rfile(head: bytes, body: Any, length: int | None, response: _Response) -> io.BufferedIOBase:
    return _HeadOnly(head) if body is None else _RequestReader(head, body, length, response)


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


def _field_name(key: str) -> bytes:
    """``HTTP_X_FORWARDED_FOR`` -> ``b"X-Forwarded-For"``, remembered."""
    # A client sends a few dozen names: each is made once, the cache dropped when full.
    name = key[5:].replace("_", "-").title().encode("latin-1", "replace")
    if len(_field_names) >= _FIELD_NAMES_MAX:
        _field_names.clear()
    _field_names[key] = name
    return name


def _client_address(environ: dict[str, Any]) -> tuple[str, int]:
    port = environ.get("REMOTE_PORT", "")
    return environ.get("REMOTE_ADDR", ""), int(port) if port.isdigit() else 0


class _Server:
    """What a handler may ask of its server: its name and port, as ``HTTPServer`` has them."""

    __slots__ = ("server_address", "server_name", "server_port")

    def __init__(self, environ: dict[str, Any]) -> None:
        port = environ.get("SERVER_PORT", "")
        self.server_name: str = environ.get("SERVER_NAME", "")
        self.server_port = int(port) if port.isdigit() else 0
        self.server_address = (self.server_name, self.server_port)


class _HeadOnly(io.BytesIO):
    """``rfile`` for a request without a body: its head, then the end."""

    def fileno(self) -> int:
        raise HandlerAppError(_NO_SOCKET % "rfile.fileno()")


class _RequestReader(io.BufferedIOBase):
    """``rfile``: the request head, then at most the body's length of ``wsgi.input``.

    Once the response is complete the request is over: a handler that reads on (the
    next request of a persistent connection, or the body it left) reads the end.
    """

    def __init__(self, head: bytes, body: Any, length: int | None, response: _Response) -> None:
        self._head = head
        self._at = 0  # in the head, then past it
        self._body = body
        self._left = length or 0
        self._response = response

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._at

    def fileno(self) -> int:
        raise HandlerAppError(_NO_SOCKET % "rfile.fileno()")

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            size = len(self._head) + self._left
        head = self._read_head(size, None)
        if len(head) == size:
            return head
        return head + self._read_body(size - len(head))

    def read1(self, size: int = -1) -> bytes:
        return self.read(_PIECE if size < 0 else size)

    def readinto(self, buffer: Any) -> int:
        with memoryview(buffer) as view:
            data = self.read(view.nbytes)
            view[: len(data)] = data
        return len(data)

    def readline(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            size = len(self._head) + self._left
        if self._at < len(self._head):
            return self._read_head(size, b"\n")
        if self._response.complete or self._left == 0 or size == 0:
            return b""
        line: bytes = self._body.readline(min(size, self._left))
        self._left -= len(line)
        self._at += len(line)
        return line

    def _read_head(self, size: int, until: bytes | None) -> bytes:
        head, start = self._head, self._at
        end = min(len(head), start + size)
        if until is not None:
            newline = head.find(until, start, end)
            if newline >= 0:
                end = newline + 1
        self._at = end if start < len(head) else start
        return head[start:end]

    def _read_body(self, size: int) -> bytes:
        if self._response.complete:
            return b""
        size = min(size, self._left)
        parts = []
        while size > 0:
            piece: bytes = self._body.read(min(size, _PIECE))
            if not piece:
                break
            parts.append(piece)
            size -= len(piece)
            self._left -= len(piece)
            self._at += len(piece)
        return b"".join(parts)


# -- the connection ---------------------------------------------------------------

_NO_SOCKET = (
    "%s: under HandlerApp the handler has no socket, a WSGI server owns the "
    "connection; read the request from rfile and write the response to wfile"
)


class _Connection:
    """The handler's ``request`` and ``connection``: its streams, and no socket.

    socketserver's ``setup`` makes ``rfile`` and ``wfile`` with :meth:`makefile` (and
    ``sendall``), sets a timeout and ``TCP_NODELAY``; every other use of a socket
    raises :exc:`HandlerAppError`.
    """

    __slots__ = ("_response", "_rfile", "_timeout", "sendall")

    def __init__(self, rfile: io.BufferedIOBase, response: _Response) -> None:
        self._rfile = rfile
        self._response = response
        self._timeout: float | None = None
        #: What ``wfile`` writes with: the response, without a call in between.
        self.sendall = response.send

    def makefile(self, mode: str = "r", buffering: int | None = None, **_ignored: Any) -> Any:
        if "w" not in mode:
            return self._rfile
        stream = _ResponseStream(self._response)
        if buffering == 0:
            return stream
        size = buffering if buffering is not None and buffering > 0 else io.DEFAULT_BUFFER_SIZE
        return io.BufferedWriter(stream, size)

    def settimeout(self, value: float | None) -> None:
        # The WSGI server times its client out; the handler's reads and writes are
        # in memory or through the server.
        self._timeout = value

    def gettimeout(self) -> float | None:
        return self._timeout

    def setsockopt(self, *args: Any) -> None:
        """Nothing to tune: the socket is the WSGI server's."""

    def __getattr__(self, name: str) -> Any:
        if hasattr(socket.socket, name):
            raise HandlerAppError(_NO_SOCKET % ("connection." + name))
        raise AttributeError(name)


class _GivenConnection(_Connection, GivenRequests):
    """A connection that hands devserve's handler its one request parsed."""

    __slots__ = ("_request",)

    def __init__(
        self, rfile: io.BufferedIOBase, response: _Response, request: GivenRequest
    ) -> None:
        super().__init__(rfile, response)
        self._request: GivenRequest | None = request

    def take_request(self) -> GivenRequest | None:
        request, self._request = self._request, None
        return request


class _ResponseStream(io.RawIOBase):
    """What ``wfile`` writes to when the handler class asks for a buffered one."""

    def __init__(self, response: _Response) -> None:
        self._response = response

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        with memoryview(data) as view:
            size = view.nbytes
        self._response.send(data)
        return size


# -- the response -----------------------------------------------------------------


class _Response:
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
        self._decoder: _ChunkDecoder | None = None
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
            self._decoder.feed(data)
            self.complete = self._decoder.done
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
            self._decoder = _ChunkDecoder(self._pass_on)
        elif head.framing is Framing.LENGTH:
            self._remaining = head.length
            self.complete = head.length == 0

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
        if self._decoder is not None and not self._decoder.done:
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


class _ChunkDecoder:
    """Decode a chunked body as it is written (RFC 9112 §7.1), passing the data on.

    Chunk-size lines are read by the core's :func:`~devserve.http11.framing.chunk_size`;
    trailer fields are dropped, as WSGI has no way to send them.
    """

    __slots__ = ("_left", "_line", "_pass_on", "_state", "done")

    def __init__(self, pass_on: Callable[[bytes], None]) -> None:
        self._pass_on = pass_on
        self._line = bytearray()
        self._left = 0
        self._state = _SIZE
        #: Whether the last chunk and the trailer section were written.
        self.done = False

    def feed(self, data: bytes) -> None:
        at = 0
        while at < len(data) and not self.done:
            if self._state == _DATA:
                end = min(len(data), at + self._left)
                self._pass_on(data[at:end])
                self._left -= end - at
                at = end
                if self._left == 0:
                    self._state = _DATA_END
            else:
                at = self._take_line(data, at)

    def _take_line(self, data: bytes, at: int) -> int:
        newline = data.find(b"\n", at)
        end = len(data) if newline < 0 else newline + 1
        self._line += data[at:end]
        if len(self._line) > DEFAULT_LIMITS.max_field_line:
            raise HandlerAppError("the handler's chunked body has a line that never ends")
        if newline >= 0:
            line, self._line = bytes(self._line), bytearray()
            self._end_of_line(line)
        return end

    def _end_of_line(self, line: bytes) -> None:
        if self._state == _DATA_END:
            if line != b"\r\n":
                raise HandlerAppError("the handler's chunk data is not followed by CRLF")
            self._state = _SIZE
        elif self._state == _SIZE:
            try:
                size = chunk_size(line)
            except ProtocolError as error:
                raise HandlerAppError("the handler's chunked body: %s" % error) from None
            self._state, self._left = (_TRAILER, 0) if size == 0 else (_DATA, size)
        elif line in (b"\r\n", b"\n"):
            self.done = True  # the trailer section's end; its fields are dropped


_SIZE, _DATA, _DATA_END, _TRAILER = range(4)
