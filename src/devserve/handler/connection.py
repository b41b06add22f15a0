"""The connection under a request handler: its streams, its waits, and parking.

Rule 1: a :class:`ConnectionHandler` serves one request at a time on one connection
(``handle_one_request`` is its subclass's); between requests, on a server that parks
idle connections (:class:`~devserve.net.contract.ConnectionHost`), it hands the
connection back instead of holding a thread, and is resumed when the next request
arrives (:class:`~devserve.net.contract.ParkableHandler`).
Rule 2: ``rfile`` reads through a :class:`~devserve.net.streams.SocketReader`, which owns
every wait on the client (idle, head deadline); ``wfile`` is a
:class:`~devserve.net.streams.SocketWriter`, unless the class asked for a buffered one.
Rule 3: on a server that can send a file's tail (:class:`~devserve.net.contract.TailHost`),
a response that ends with a file the client is slow to take is left to the server, and
the handler returns at once, parked or to be closed once the file is sent.
Rule 4: on a server that relays in its I/O thread
(:class:`~devserve.net.contract.RelayHost`), a tunnel
(:meth:`~devserve.BaseHTTPRequestHandler.tunnel`) or a response body from another
socket (:meth:`~devserve.BaseHTTPRequestHandler.relay_body`) is left to the server,
and the handler returns at once; the connection closes when the relay ends.
"""

from __future__ import annotations

import io
import socket
import socketserver
import sys
import time
from typing import Any, BinaryIO, cast

from ..net.contract import (
    Arrival,
    ConnectionHost,
    HeldStream,
    RelayedBody,
    RelayHost,
    StreamHost,
    TailHost,
    conforms,
)
from ..net.relay import Tunnel, relay_in_thread
from ..net.streams import (
    SocketReader,
    SocketWriter,
    Waited,
    is_tls,
    reset_connection,
    tune_connection,
)
from .given import GivenRequests

__all__ = ["ConnectionHandler"]

_DISCONNECTS = (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)


class ConnectionHandler(socketserver.StreamRequestHandler):
    """Serve the requests of one connection in turn, parking it between them where it can.

    The base of :class:`~devserve.BaseHTTPRequestHandler`; subclasses provide
    ``handle_one_request()`` and set ``close_connection``.

    .. versionadded:: 0.1
    """

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
    #: Seconds the server spends reading away a request body the handler left
    #: unread before the next request on the connection, or ``None`` (no limit,
    #: the stdlib's behaviour); past it the connection closes.
    #:
    #: .. versionadded:: 0.1
    drain_timeout: float | None = None
    #: Whether the connection closes after the current request.
    close_connection: bool = True

    #: Where requests come from when they arrive parsed (see :mod:`devserve.handler.given`),
    #: or ``None``: read from :attr:`rfile`.
    #:
    #: .. versionadded:: 0.1
    given_requests: GivenRequests | None = None

    _reader: SocketReader | None = None
    _writer: SocketWriter | None = None
    _parkable = False
    _parked = False
    _fresh = False

    def setup(self) -> None:
        """Make :attr:`rfile` and :attr:`wfile` for the connection."""
        sock = self.request
        if not isinstance(sock, socket.socket):
            # Tests build handlers around stand-in sockets, as the stdlib allows; a
            # connection may hand its requests over parsed (HandlerApp's).
            if isinstance(sock, GivenRequests):
                self.given_requests = sock
            super().setup()
            return
        self.connection = sock
        if self.timeout is not None:
            sock.settimeout(self.timeout)
        tune_connection(sock)
        reader = self._reader = SocketReader(sock)
        server = self.server
        if conforms(server, ConnectionHost):
            host = cast(ConnectionHost, server)
            reader.feed(host.adopt(self))
            self._parkable = host.parks_connections and self._may_park()
            self._fresh = self._parkable
        if self.rbufsize == 0:
            # Unbuffered, as the stdlib's rbufsize = 0 asks: nothing is read ahead
            # that a child process given the socket would then miss.
            self.rfile = cast(io.BufferedIOBase, reader)
        else:
            size = io.DEFAULT_BUFFER_SIZE if self.rbufsize < 0 else self.rbufsize
            self.rfile = io.BufferedReader(reader, size)
        if self.wbufsize == 0:
            tails = self._parkable and conforms(server, TailHost)
            hand_over = self._hand_over_tail if tails else None
            self.wfile = self._writer = SocketWriter(sock, hand_over)
        else:
            # A buffered wfile, as the stdlib makes one: the caller chose to flush.
            self.wfile = cast(io.BufferedIOBase, sock.makefile("wb", self.wbufsize))

    def _may_park(self) -> bool:
        # Parking hands the connection back between requests: only a handler whose
        # request loop and clean-up are these ones can be resumed later.
        cls = type(self)
        return (
            self.wbufsize == 0
            and cls.handle is ConnectionHandler.handle
            and cls.finish is ConnectionHandler.finish
        )

    def handle(self) -> None:
        """Handle requests on the connection until it is to be closed.

        On a server that parks idle connections
        (:class:`~devserve.net.contract.ConnectionHost`), it returns as soon as no
        further request has arrived, leaving the connection open; the server
        resumes it when the next request comes.
        """
        self.close_connection = True
        try:
            self.handle_one_request()
            self._fresh = False
            while not self.close_connection:
                if self._tail_handed_over():
                    self._park_behind_tail()
                    return
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

    # The parking contract (devserve.net.contract.ParkableHandler).

    @property
    def parked(self) -> bool:
        """Whether the handler returned with its connection idle and open.

        .. versionadded:: 0.1
        """
        return self._parked

    def resume(self, arrival: Arrival) -> None:
        """Serve what arrived on the parked connection, in this thread.

        .. versionadded:: 0.1
        """
        self._parked = False
        if self._reader is not None:
            self._reader.feed(arrival)
        if self._writer is not None:
            self._writer.handed_over = False
        self._fresh = True
        try:
            self.handle()
        finally:
            self.finish()

    def hold_stream(self) -> HeldStream | None:
        """Give the connection, its response started, to the server to keep and write to.

        For a response that lasts (an event stream): on a server that can hold one
        (a :class:`~devserve.net.contract.StreamHost`, devserve's bounded server) the
        handler then returns, and its worker is free, while the stream goes on through
        the returned object.  ``None`` where that cannot be done; the caller then
        streams in this thread.  The connection closes when the stream ends.

        .. versionadded:: 0.1
        """
        server = self.server
        if not self._parkable or not conforms(server, StreamHost):
            return None
        self.wfile.flush()
        held = cast(StreamHost, server).hold(self)
        if held is not None:
            self.close_connection = True
        return held

    def tunnel(self, peer: socket.socket, from_peer: bytes = b"") -> bool:
        """Relay the connection and *peer* both ways until either closes; then close both.

        For a connection that stopped speaking HTTP (a WebSocket through a proxy): what
        the handler wrote is sent, and *from_peer* (bytes already read from *peer*)
        goes first to the client, as what the client sent past the request head goes
        first to *peer*.  On a server that relays in its I/O thread
        (:class:`~devserve.net.contract.RelayHost`, devserve's bounded server) this
        returns ``True`` at once and the worker is free; elsewhere it relays in this
        thread and returns ``False`` when the tunnel has ended.

        .. versionadded:: 0.1
        """
        self.close_connection = True
        self.wfile.flush()
        to_peer = self._take_read_ahead()
        peer.setblocking(False)
        if self.relays_in_io_thread and cast(RelayHost, self.server).relay(
            self, peer, from_peer, to_peer
        ):
            return True
        sock: socket.socket = self.connection
        timeout = sock.gettimeout()
        sock.setblocking(False)
        try:
            relay_in_thread(Tunnel(sock, peer, from_peer, to_peer, self.timeout))
        finally:
            sock.settimeout(timeout)
        return False

    @property
    def relays_in_io_thread(self) -> bool:
        """Whether :meth:`tunnel` and :meth:`relay_body` leave the relay to the server.

        True on a server that relays in its I/O thread (devserve's bounded server),
        where the worker is then free at once; elsewhere they relay in this thread.

        .. versionadded:: 0.1
        """
        return self._parkable and conforms(self.server, RelayHost)

    def relay_body(self, peer: socket.socket, from_peer: bytes, body: RelayedBody) -> bool:
        """Send the response body *peer* sends, as it comes, up to its end; then close both.

        The handler has written the response's head, framed as *body* is (the same
        ``Content-Length``, or chunked, or no length and ``Connection: close``, as for
        a chunked body the client gets ``unframed``): the bytes pass unchanged (a
        chunked one's data alone when ``unframed``), *from_peer* (already read from
        *peer*) first, and nothing after the body's end.  What the client sends
        meanwhile is dropped; the connection closes after this response.  On a server
        that relays in its I/O thread this returns ``True`` at once and the worker is
        free; elsewhere it relays in this thread and returns ``False`` when the body
        has ended.

        .. versionadded:: 0.1
        """
        self.close_connection = True
        self.wfile.flush()
        peer.setblocking(False)
        if self.relays_in_io_thread and cast(RelayHost, self.server).relay(
            self, peer, from_peer, b"", body
        ):
            return True
        sock: socket.socket = self.connection
        timeout = sock.gettimeout()
        sock.setblocking(False)
        relay = Tunnel(sock, peer, from_peer, b"", self.timeout, body)
        try:
            relay_in_thread(relay)
        finally:
            sock.settimeout(timeout)
        if relay.cut:
            reset_connection(sock)  # a cut body must not look whole (relay Rule 5)
        return False

    def _take_read_ahead(self) -> bytes:
        # What the client sent past the request head and sits in the buffers above the
        # socket, read without waiting: the first frames of a WebSocket, say.
        reader = self._reader
        if reader is None:
            return b""
        rfile: Any = self.rfile
        buffered = reader.tell() - rfile.tell() if rfile is not reader else 0
        size = buffered + reader.pending()
        return bytes(rfile.read(size)) if size > 0 else b""

    def _hand_over_tail(self, file: BinaryIO, offset: int, count: int) -> bool:
        # Only when nothing of a next request waits in this handler's buffers: the
        # server, resuming the connection after the file, sees only the socket.
        if self._input_pending():
            return False
        return cast(TailHost, self.server).send_tail(self, file, offset, count)

    def _park_behind_tail(self) -> None:
        if self._input_pending():
            # A request pipelined behind an unread body, found while draining it: it
            # cannot be answered before the server has sent the file, and the server
            # reads only the socket.  Closing tells the client to send it again.
            self.log_error("pipelined request not served: the connection closes after the file")
            self.close_connection = True
            return
        self._parked = True

    def _tail_handed_over(self) -> bool:
        writer = self._writer
        return writer is not None and writer.handed_over

    @property
    def first_since_arrival(self) -> bool:
        """Whether the request being served is the first since the server gave the
        connection to this handler (or resumed it), on a server that parks connections:
        the one request whose head the server read, and can answer itself next time
        (:class:`~devserve.net.contract.AnswerHost`).

        .. versionadded:: 0.1
        """
        return self._fresh

    def release(self) -> None:
        """Close a parked connection's streams without serving it again.

        .. versionadded:: 0.1
        """
        self._parked = False
        self.finish()

    def _input_pending(self) -> bool:
        """Whether bytes of a next request already wait above the socket."""
        reader = self._reader
        if reader is None or reader.pending():
            return True
        rfile: Any = self.rfile
        if rfile is not reader and reader.tell() != rfile.tell():
            return True  # pipelined: in the buffered reader already
        sock: Any = self.connection
        return is_tls(sock) and bool(sock.pending())

    def socket_writer(self) -> SocketWriter | None:
        """Return the connection's own writer while :attr:`wfile` is still it, else ``None``.

        Through it a response can be sent with :meth:`~devserve.net.streams.SocketWriter.sendfile`
        and its bytes counted; a subclass that replaced :attr:`wfile` gets ``None``.

        .. versionadded:: 0.1
        """
        writer = self._writer
        return writer if writer is not None and self.wfile is writer else None

    def handle_one_request(self) -> None:
        """Serve one request (a subclass's)."""
        raise NotImplementedError

    def log_error(self, format: str, *args: Any) -> None:
        """Log an error about the connection (a subclass's, with its client and time)."""
        sys.stderr.write((format % args) + "\n")

    def _wait_for_input(self) -> Waited:
        """Wait for a request's first byte (:attr:`idle_timeout`); arm :attr:`head_timeout`."""
        reader = self._reader
        if reader is None or (self.idle_timeout is None and self.head_timeout is None):
            return Waited.REQUEST
        rfile = self.rfile if isinstance(self.rfile, io.BufferedReader) else None
        return reader.wait_for_request(rfile, self.idle_timeout, self.head_timeout)

    def _start_deadline(self, seconds: float, reason: str) -> None:
        if self._reader is not None:
            self._reader.start_deadline(time.monotonic() + seconds, reason)

    def _end_deadline(self) -> None:
        if self._reader is not None:
            self._reader.end_deadline(self.timeout)
