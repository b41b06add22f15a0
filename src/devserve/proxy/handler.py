"""The proxy on a request handler: forward one request to a backend and relay its answer.

Rule 1: the request's body is read through the handler's body reader (decoded, bounded,
never past its end) and sent on with ``Content-Length`` or chunked, as it came; the
response is framed for the client by :meth:`~devserve.BaseHTTPRequestHandler.start_body`,
so a client gets a framing it can read whatever the backend chose.
Rule 2: a body is relayed as it arrives, piece by piece (a chunk, or what one read
returns), never gathered: an event stream reaches the client event by event and a long
download passes in constant memory.
Rule 2a: a body that streams is relayed
(:meth:`~devserve.BaseHTTPRequestHandler.relay_body`) once the head is sent: a chunked
one or one delimited by closing on every server, and on a server that relays in its
I/O thread (devserve's bounded server) also ``text/event-stream`` and a
``Content-Length`` over 1 MiB, the worker then returning at once.  The client gets the
body in the backend's own framing, byte for byte, ended where the core's
:class:`~devserve.http11.scanning.BodyScanner` says it ends, with ``Connection:
close``; the backend's connection is closed with it, never pooled, and a client that
leaves ends it at once.  A chunked body to an HTTP/1.0 client, which cannot read chunks,
reaches it as its data alone, delimited by the close.  A body framed by its length is
otherwise copied on the worker as Rule 2 says, each wait on the backend bounded.
Rule 3: the backend's failures are the backend's: refused, unreachable or a bad answer
is a 502 page naming it, a timeout a 504, one log line each, never a traceback; once a
response has started, a failing backend resets the client's connection, so a cut body is
never taken for a whole one.  The client's failures (a bad body, leaving) stay the
client's, answered as the handler answers them.
Rule 4: a WebSocket handshake the backend accepts (``101``) turns the two connections
into a tunnel (:meth:`~devserve.handler.connection.ConnectionHandler.tunnel`): on
devserve's bounded server the I/O thread relays it, and no worker is held.
"""

from __future__ import annotations

import html
import io
import time
from collections.abc import Iterator
from http import HTTPStatus
from typing import Any

from ..handler.base import BaseHTTPRequestHandler
from ..http11 import ChunkedReader, ChunkedWriter, LengthReader, ProtocolError, field_line
from ..http11.response import Framing, can_chunk, connection_options
from ..http11.response_head import ResponseHead, read_response_head
from ..net.contract import RelayedBody
from ..net.streams import is_tls
from .backend import BackendConnection, BackendPool
from .headers import backend_target, parse_backend, request_fields, response_fields

__all__ = ["Proxy", "ProxyHandler"]

_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})
_PIECE = 65536
# A body this long, or longer, is a download the I/O thread relays (Rule 2a).
_RELAYED_LENGTH = 1 << 20


class BackendFailure(Exception):
    """The backend failed before its response started: answered with *status*."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class Proxy:
    """A development backend, such as a Flask API on ``http://127.0.0.1:5000``.

    Mount it to forward every request under a prefix (:class:`~devserve.MountTable`,
    ``--proxy PREFIX=URL``)::

        table.mount("/api", Proxy("http://127.0.0.1:5000"))

    A *url* without a path keeps the request's path (``/api/x`` is asked for as
    ``/api/x``); with one, that path replaces the prefix (``http://127.0.0.1:5000/v1``
    is asked for ``/v1/x``).  *change_origin* sends the backend's own ``Host`` rather
    than the client's; *allow_remote* allows a backend that is not on this machine;
    *timeout* bounds connecting, waiting for the response's head, and each wait for
    more of a body with a length (a chunked or close-delimited body, an event stream,
    may pause as long as it likes).  Up to *max_idle* connections are kept alive
    between requests.

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        url: str,
        *,
        change_origin: bool = False,
        allow_remote: bool = False,
        timeout: float = 60.0,
        max_idle: int = 16,
    ) -> None:
        self.backend = parse_backend(url, allow_remote=allow_remote)
        self.change_origin = change_origin
        self.timeout = timeout
        self.pool = BackendPool(self.backend, max_idle=max_idle, connect_timeout=timeout)

    def __repr__(self) -> str:
        return "Proxy(%r)" % self.backend.url

    def close(self) -> None:
        """Close the idle connections kept to the backend (a later request opens new ones)."""
        self.pool.close()


class ProxyHandler(BaseHTTPRequestHandler):
    """Forward every request, whatever its method, to :attr:`proxy`'s backend.

    Made by a table of mounts for the requests under a prefix
    (:meth:`~devserve.BaseHTTPRequestHandler.for_request_of`), which sets :attr:`proxy`.

    .. versionadded:: 0.1
    """

    #: The backend requests go to.
    proxy: Proxy | None = None
    _scheme = "http"  # the client's, once a request is read

    def answer_request(self) -> None:
        """Forward the request; relay the backend's answer (or a 502/504 page)."""
        proxy = self.proxy
        head = self.request_head
        if proxy is None or head is None:  # HTTP/0.9 has no head to forward
            self.send_error(HTTPStatus.BAD_GATEWAY, "No backend for this request")
            return
        websocket = "upgrade" in head.connection and any(
            name.lower() == "upgrade" and "websocket" in connection_options(value)
            for name, value in head.fields
        )  # Upgrade is a list of protocols, as Connection is of options
        self._scheme = "https" if is_tls(self.connection) else "http"
        fields = request_fields(
            head.fields,
            head.connection,
            backend=proxy.backend,
            client=self.address_string(),
            proto=self._scheme,
            change_origin=proxy.change_origin,
            websocket=websocket,
        )
        if head.chunked:
            fields.append(("Transfer-Encoding", "chunked"))
        elif head.content_length is not None:
            fields.append(("Content-Length", str(head.content_length)))
        target = backend_target(proxy.backend, self.mount_prefix, head.line.target)
        lines = [field_line(name, value) for name, value in fields]
        line = ("%s %s HTTP/1.1\r\n" % (self.command, target)).encode("latin-1")
        request = line + b"".join(lines) + b"\r\n"
        try:
            connection, response = self._exchange(proxy, request)
        except BackendFailure as failure:
            self._bad_gateway(proxy, failure)
            return
        if response.status == HTTPStatus.SWITCHING_PROTOCOLS:
            if websocket:
                self._tunnel(proxy, connection, response)
                return
            connection.close()
            self._bad_gateway(proxy, BackendFailure(502, "switched protocols unasked"))
            return
        self._relay_response(proxy, connection, response)

    # -- asking -------------------------------------------------------------------

    def _exchange(self, proxy: Proxy, request: bytes) -> tuple[BackendConnection, ResponseHead]:
        """Send *request* (and the body) on a pooled connection; read the answer's head."""
        head = self.request_head
        assert head is not None
        has_body = bool(head.content_length or head.chunked)
        retry = not has_body and self.command in _IDEMPOTENT
        while True:
            try:
                connection = proxy.pool.take()
            except TimeoutError:
                raise BackendFailure(504, "did not accept a connection in time") from None
            except OSError as error:
                raise BackendFailure(502, error.strerror or str(error)) from None
            try:
                connection.wait_at_most(proxy.timeout)  # after a body without a bound
                self._send(connection, request, has_body)
                response = self._read_head(connection, proxy.timeout)
            except BackendFailure:
                connection.close()
                if retry and connection.reused:
                    retry = False  # a pooled connection the backend closed meanwhile
                    continue
                raise
            except BaseException:
                connection.close()  # the client's failure: the backend's answer is unread
                raise
            return connection, response

    def _send(self, connection: BackendConnection, request: bytes, has_body: bool) -> None:
        try:
            connection.send(request)
        except OSError as error:
            raise _failure(error) from None
        if not has_body:
            return
        head = self.request_head
        assert head is not None
        reader = self.body_reader()
        # Read on the client's side (its faults are its own), then send on; a chunked
        # upload goes on chunk by chunk, as it comes.
        pieces = iter(reader) if isinstance(reader, ChunkedReader) else _length_pieces(reader)
        while True:
            piece = next(pieces, b"")
            data = ChunkedWriter.chunk(piece) if head.chunked and piece else piece
            if not piece and head.chunked:
                data = ChunkedWriter.last_chunk()
            try:
                connection.send(data)
            except OSError as error:
                raise _failure(error) from None
            if not piece:
                return

    def _read_head(self, connection: BackendConnection, timeout: float | None) -> ResponseHead:
        rfile = connection.rfile
        # The whole head within the timeout (give or take one wait), not each piece of it.
        connection.read_by(None if timeout is None else time.monotonic() + timeout)
        try:
            while True:
                if not rfile.peek(1):
                    raise ConnectionResetError("the backend closed the connection unanswered")
                response = read_response_head(rfile, str(self.command), self.limits)
                # 100 Continue was this server's to send; other interim answers go too.
                if response.status >= 200 or response.status == 101:
                    return response
        except (OSError, ProtocolError) as error:
            raise _failure(error) from None
        finally:
            connection.read_by(None)

    # -- answering ----------------------------------------------------------------

    def _origin(self) -> str:
        head = self.request_head
        host = head.host if head is not None and head.host else None
        if host is None:
            return ""
        return "%s://%s" % (self._scheme, host)

    def _send_head(self, proxy: Proxy, response: ResponseHead, upgrade: bool = False) -> None:
        self.log_request(response.status)
        self.send_response_only(response.status, response.reason or None)
        fields = response_fields(
            response.fields,
            response.connection,
            backend=proxy.backend,
            prefix=self.mount_prefix,
            origin=self._origin(),
            upgrade=upgrade,
        )
        dated = False
        for name, value in fields:
            self.send_header(name, value)
            dated = dated or name.lower() == "date"
        if not dated:
            self.send_header("Date", self.date_time_string())

    def _streams(self, response: ResponseHead) -> bool:
        """Whether *response*'s body is relayed (:meth:`relay_body`), not copied (Rule 2a)."""
        framing = response.framing
        if framing is Framing.NONE:
            return False
        if framing is not Framing.LENGTH:
            return True  # chunked, or delimited by the close: a stream, on every server
        if not self.relays_in_io_thread:
            return False  # a framed body, copied on the worker with bounded waits
        if (response.length or 0) > _RELAYED_LENGTH:
            return True
        for name, value in response.fields:
            if name.lower() == "content-type":
                return value.partition(";")[0].strip().lower() == "text/event-stream"
        return False

    def _relay_response(
        self, proxy: Proxy, connection: BackendConnection, response: ResponseHead
    ) -> None:
        if self._streams(response):
            self._relay_stream(proxy, connection, response)
            return
        self._send_head(proxy, response)
        framing = response.framing
        body = self.start_body(response.length, declared=response.length is not None)
        rfile = connection.rfile
        whole = True
        # Read whole, a connection is reusable: it is given back before the client has
        # the body's last byte, or the client's next request may find the pool empty
        # and open a second connection.
        reusable = not response.closes
        given_back = False
        try:
            # Only a body framed by its length is copied here (_streams relays the rest);
            # an answer to HEAD, a 204 or a 304 has none, whatever length it declares.
            remaining = (response.length or 0) if framing is Framing.LENGTH else 0
            while remaining:
                piece = _read(rfile, min(remaining, _PIECE))
                if not piece:
                    raise ConnectionResetError("the backend closed before the body's end")
                remaining -= len(piece)
                if not remaining and reusable:
                    proxy.pool.give_back(connection)
                    given_back = True
                body.write(piece)
        except _BackendBroke as broke:
            self.log_error("backend %s broke off its response: %s", proxy.backend.url, broke)
            whole = False
        except BaseException:
            if not given_back:
                connection.close()  # the client left: the rest of the answer is never read
            raise
        if not given_back and whole and reusable:
            proxy.pool.give_back(connection)  # an empty body: before the head is sent
        elif not given_back:
            connection.close()
        if not whole:
            self.abandon_response()
            return
        body.finish()

    def _relay_stream(
        self, proxy: Proxy, connection: BackendConnection, response: ResponseHead
    ) -> None:
        # The client gets the backend's framing, so the body passes as it is; a client
        # that cannot read chunks gets a chunked body's data, ended by the close.
        self._send_head(proxy, response)
        chunked = response.framing is Framing.CHUNKED
        unframed = chunked and not can_chunk(str(self.request_version), self.protocol_version)
        if chunked and not unframed:
            self.send_header("Transfer-Encoding", "chunked")
        elif response.framing is Framing.LENGTH:
            self.send_header("Content-Length", str(response.length))
        self.send_header("Connection", "close")
        self.end_headers()
        sock = connection.sock
        sock.setblocking(False)
        ahead = connection.rfile.read1(_PIECE) or b""  # the body's start, read with the head
        connection.rfile.close()
        self.relay_body(sock, ahead, RelayedBody(response.length, chunked, unframed))

    def _tunnel(self, proxy: Proxy, connection: BackendConnection, response: ResponseHead) -> None:
        self._send_head(proxy, response, upgrade=True)
        self.end_headers()
        self.close_connection = True
        sock = connection.sock
        sock.setblocking(False)
        ahead = connection.rfile.read1(_PIECE)  # what the backend sent after its 101
        connection.rfile.close()
        self.tunnel(sock, ahead)

    def _bad_gateway(self, proxy: Proxy, failure: BackendFailure) -> None:
        url = proxy.backend.url
        self.send_error(
            failure.status,
            "Bad Gateway" if failure.status == 502 else "Gateway Timeout",
            "The backend %s %s." % (html.escape(url), html.escape(failure.reason)),
        )
        self.log_error("backend %s %s", url, failure.reason)


class _BackendBroke(Exception):
    """The backend failed in the middle of a body."""


def _failure(error: BaseException) -> BackendFailure:
    if isinstance(error, TimeoutError):
        return BackendFailure(504, "did not answer in time")
    if isinstance(error, ProtocolError):
        return BackendFailure(502, "sent a response that is not valid HTTP/1.1")
    if isinstance(error, ConnectionRefusedError):
        return BackendFailure(502, "refused the connection (is it running?)")
    if isinstance(error, OSError) and error.strerror:
        return BackendFailure(502, "failed: %s" % error.strerror)
    return BackendFailure(502, "closed the connection without answering")


def _length_pieces(reader: LengthReader) -> Iterator[bytes]:
    while piece := reader.read(_PIECE):
        yield piece


def _read(rfile: io.BufferedReader[Any], size: int) -> bytes:
    try:
        return rfile.read1(size)
    except OSError as error:
        raise _BackendBroke(str(error)) from None
