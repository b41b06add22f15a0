"""The bounded server: thousands of connections on a bounded number of threads.

Rule 1: one I/O thread (the one running :meth:`~BoundedMixIn.serve_forever`) accepts
connections and watches every idle one; a worker thread is taken only when a request
is ready, so idle keep-alive connections and clients that trickle their heads cost a
file descriptor, not a thread.
Rule 2: the I/O thread reads a request's head as it arrives, without blocking, until
the head is complete, the head deadline passes or the size limit is reached; only then
does a worker get the connection, the bytes read so far going first to the handler's
reader.  TLS connections are the exception: a TLS record cannot be read without
blocking, so their heads are read by a worker, under the same deadline.
Rule 3: past :attr:`~BoundedMixIn.connection_limit` connections, a new client gets a
short ``503`` at once, rather than an ever-growing count of sockets and threads.
Rule 4: stopping is graceful: no new connections, idle ones closed, requests in
flight given :attr:`~BoundedMixIn.graceful_timeout` seconds, then their connections
shut, so a body being read ends in an error, never a silent truncation.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import sys
import threading
import time
import types
from collections.abc import Iterator
from typing import Any

from .connections import Connection, Poller, WorkerPool, make_poller
from .servers import HTTPServer, HTTPSServer, WorkerThreadsMixIn

__all__ = ["BoundedHTTPSServer", "BoundedHTTPServer", "BoundedMixIn", "stop_on_signals"]

_DONTWAIT = getattr(socket, "MSG_DONTWAIT", 0)
_TICK = 0.25  # seconds between checks for deadlines, idle connections and long requests
_LINGER = 2.0  # seconds a refused client has to read its 503 before the socket closes
# A request line starts with a method (a token) or, once, with an empty line.
_REQUEST_START = frozenset(b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                           b"abcdefghijklmnopqrstuvwxyz\r\n")  # fmt: skip
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Length: 45\r\n"
    b"Retry-After: 1\r\n"
    b"Connection: close\r\n"
    b"\r\n"
    b"The server is at its connection limit; retry.\n"
)


def _head_ready(buffer: bytearray, limit: int) -> bool:
    """Whether a worker should take over reading this (possibly partial) request head."""
    if buffer[0] not in _REQUEST_START:
        return True  # not HTTP (TLS, garbage): the handler answers at once
    if b"\n\r\n" in buffer or b"\n\n" in buffer or len(buffer) >= limit:
        return True
    end = buffer.find(b"\n")
    # A complete first line without a version (HTTP/0.9, or an error) has no header
    # section to wait for.
    return end >= 0 and b"HTTP/" not in buffer[:end]


def _streaming(handler: Any) -> bool:
    """Whether *handler*'s request asked for an endless event stream (``EventSource``)."""
    headers = getattr(handler, "headers", None)
    accept = "" if headers is None else headers.get("Accept") or ""
    return "text/event-stream" in accept


class BoundedMixIn(WorkerThreadsMixIn):
    """Mix-in that serves connections with a bounded pool of threads and parks idle ones.

    See :class:`BoundedHTTPServer`.

    .. versionadded:: 0.1
    """

    #: Worker threads for ordinary requests (started on demand).
    threads = 8
    #: The most worker threads, counting those given to long-running requests.
    max_threads = 128
    #: Seconds after which a request counts as long-running (server-sent events, a
    #: slow upload, a blocking application) and the pool grows by a thread for it.
    long_request = 1.0
    #: Connections held at once; past it new clients get ``503`` and are closed.
    connection_limit = 2048
    #: Seconds :meth:`shutdown` (and Ctrl+C) give requests in flight to finish.
    graceful_timeout = 5.0
    #: Seconds an idle worker thread waits for work before it exits.
    worker_idle_timeout = 30.0
    #: Whether worker threads are daemons (they do not keep the process alive).
    daemon_threads = True
    #: Whether :meth:`server_close` waits for the worker threads (with non-daemon threads).
    block_on_close = True

    _pool: WorkerPool | None = None
    _poller: Poller | None = None
    _running = False
    _draining = False
    _stop_requested = False
    _limit_logged = 0.0
    _head_limit = 65536

    # -- state -----------------------------------------------------------------

    def _state(self) -> None:
        if "_records" not in self.__dict__:
            self._records: dict[int, Connection] = {}
            self._records_lock = threading.Lock()
            self._lingering: dict[int, tuple[socket.socket, float]] = {}
            self._stopped = threading.Event()
            self._stopped.set()

    @property
    def parks_connections(self) -> bool:
        """Whether a handler may return an idle connection to the server now."""
        return self._running and not self._draining

    @property
    def connection_count(self) -> int:
        """The number of connections held now."""
        self._state()
        return len(self._records)

    @property
    def thread_count(self) -> int:
        """The number of worker threads now."""
        return 0 if self._pool is None else self._pool.size

    def _get_pool(self) -> WorkerPool:
        pool = self._pool
        if pool is None:
            pool = self._pool = WorkerPool(
                self._serve,
                threads=self.threads,
                max_threads=self.max_threads,
                long_request=self.long_request,
                idle_timeout=self.worker_idle_timeout,
                daemon=self.daemon_threads,
                name=type(self).__name__,
            )
        return pool

    def early_input(self, handler: Any) -> tuple[bytes, float | None]:
        """Return (and forget) what the I/O thread read before *handler* was made.

        Called by the handler's ``setup``; the connection's record keeps the handler.
        """
        sock = handler.connection
        record = self._records.get(sock.fileno())
        if record is None or record.sock is not sock:
            return b"", None
        record.handler = handler
        data, record.buffer = bytes(record.buffer), bytearray()
        return data, record.arrived

    # -- the I/O thread ----------------------------------------------------------

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        """Serve until :meth:`shutdown` is called or the thread is interrupted.

        *poll_interval* is accepted for compatibility; :meth:`shutdown` wakes the
        loop at once.  On the way out (including on :exc:`KeyboardInterrupt`) the
        server stops gracefully: see :meth:`shutdown`.
        """
        self._state()
        self._stopped.clear()
        server: Any = self
        listener: socket.socket = server.socket
        poller = self._poller = make_poller()
        wake_r, self._wake_w = socket.socketpair()
        wake_r.setblocking(False)
        listener.setblocking(False)
        poller.watch(listener.fileno())
        poller.watch(wake_r.fileno())
        listening, waking = listener.fileno(), wake_r.fileno()
        handler_class: Any = getattr(self, "RequestHandlerClass", None)
        limits = getattr(handler_class, "limits", None)
        self._head_limit = 65536 if limits is None else limits.max_head_size
        self._running = True
        self._draining = False
        next_tick = time.monotonic() + _TICK
        try:
            try:
                while not self._stop_requested:
                    for fd in poller.poll(_TICK):
                        if fd == listening:
                            self._accept()
                        elif fd == waking:
                            with contextlib.suppress(OSError):
                                wake_r.recv(4096)
                        else:
                            self._readable(fd)
                    now = time.monotonic()
                    if now >= next_tick:
                        next_tick = now + _TICK
                        self._sweep(now)
                    server.service_actions()
            finally:
                poller.forget(listening)
                self._drain()
        finally:
            self._running = False
            self._stop_requested = False
            self._wake_w.close()
            wake_r.close()
            self._stopped.set()

    def shutdown(self) -> None:
        """Stop :meth:`serve_forever` gracefully and wait until it has returned.

        New connections are no longer accepted, idle ones are closed, and requests in
        flight have :attr:`graceful_timeout` seconds to finish; then their connections
        are shut down, so a request body still being read ends in an error for the
        application, never in a silently shortened body.
        """
        self._state()
        self.request_stop()
        self._stopped.wait()

    def request_stop(self) -> None:
        """Ask :meth:`serve_forever` to stop gracefully, and return at once.

        Safe to call from a signal handler in the thread running :meth:`serve_forever`
        (where :meth:`shutdown` would wait for itself).  Unlike raising
        :exc:`KeyboardInterrupt`, it cannot be lost: an exception raised while the
        interrupted thread runs a finaliser is printed and dropped by Python.

        .. versionadded:: 0.1
        """
        self._stop_requested = True
        with contextlib.suppress(AttributeError, OSError):
            self._wake_w.send(b"\0")

    def _accept(self) -> None:
        server: Any = self
        for _ in range(64):  # then let parked connections have a turn
            try:
                sock, address = server.get_request()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:
                # EMFILE and friends: the backlog keeps the client until a socket frees.
                self._log_limit("cannot accept a connection: %s" % error)
                return
            if not server.verify_request(sock, address):
                server.shutdown_request(sock)
                continue
            if len(self._records) >= self.connection_limit:
                self._refuse(sock)
                continue
            record = Connection(sock, address)
            with self._records_lock:
                self._records[record.fd] = record
            assert self._poller is not None
            self._poller.add(record.fd)

    def _readable(self, fd: int) -> None:
        record = self._records.get(fd)
        if record is None:
            linger = self._lingering.get(fd)
            if linger is not None:
                self._linger_read(fd, linger[0])
            return
        sock = record.sock
        if hasattr(sock, "pending"):  # TLS: a worker reads it, under the head deadline
            self._dispatch(record)
            return
        try:
            data = sock.recv(65536, _DONTWAIT)
        except (BlockingIOError, InterruptedError):
            self._rearm(record)
            return
        except OSError:
            self._close(record)
            return
        if not data:
            if record.buffer:
                self._dispatch(record)  # the handler answers the partial request
            else:
                self._close(record)  # the client ended an idle connection
            return
        if not record.buffer:
            record.arrived = time.monotonic()
        record.buffer += data
        if _head_ready(record.buffer, self._head_limit):
            self._dispatch(record)
        else:
            self._rearm(record)

    def _rearm(self, record: Connection) -> None:
        assert self._poller is not None
        try:
            self._poller.rearm(record.fd)
        except OSError:
            self._close(record)

    def _dispatch(self, record: Connection) -> None:
        record.busy = True
        self._get_pool().submit(record)

    def _sweep(self, now: float) -> None:
        """Close idle connections past their timeout; hand late heads to a worker (408)."""
        if self._pool is not None:
            self._pool.tick()
        handler_class: Any = getattr(self, "RequestHandlerClass", None)
        idle_timeout = getattr(handler_class, "idle_timeout", None)
        head_timeout = getattr(handler_class, "head_timeout", None)
        with self._records_lock:
            records = list(self._records.values())
        for record in records:
            if record.busy:
                continue
            if record.buffer:
                arrived = record.arrived
                if (
                    head_timeout is not None
                    and arrived is not None
                    and now - arrived > head_timeout
                ):
                    self._dispatch(record)  # past its deadline: the handler says 408
            elif idle_timeout is not None and now - record.since > idle_timeout:
                self._close(record)
        for fd, (sock, deadline) in list(self._lingering.items()):
            if now > deadline:
                self._end_linger(fd, sock)

    # -- workers -----------------------------------------------------------------

    def _serve(self, record: Connection) -> None:
        """Serve *record*'s ready request (and any pipelined after it) in a worker."""
        server: Any = self
        sock = record.sock
        handler = record.handler
        try:
            if handler is None:
                handler = server.finish_request(sock, record.address)
                record.handler = handler
            else:
                if record.buffer:
                    data, record.buffer = bytes(record.buffer), bytearray()
                    reader = getattr(handler, "_socket_reader", None)
                    if reader is not None:
                        reader.feed(data, record.arrived)
                handler._resume()
        except Exception:
            server.handle_error(sock, record.address)
            handler = None
        if handler is not None and getattr(handler, "_parked", False):
            if self.parks_connections:
                record.arrived = None
                record.since = time.monotonic()
                record.busy = False
                self._rearm(record)
                return
            self._finish_handler(handler)
        self._close(record)

    @staticmethod
    def _finish_handler(handler: Any) -> None:
        handler._parked = False
        with contextlib.suppress(Exception):
            handler.finish()

    def _close(self, record: Connection) -> None:
        with self._records_lock:
            if self._records.get(record.fd) is record:
                del self._records[record.fd]
        if self._poller is not None:
            self._poller.forget(record.fd)
        server: Any = self
        server.shutdown_request(record.sock)

    def process_request(self, request: Any, client_address: Any) -> None:
        """Serve one connection in a worker (for ``handle_request()``, outside the loop)."""
        self._state()
        record = Connection(request, client_address)
        record.busy = True
        with self._records_lock:
            self._records[record.fd] = record
        self._get_pool().submit(record)

    # -- refusing and closing ------------------------------------------------------

    def _refuse(self, sock: socket.socket) -> None:
        self._log_limit(
            "connection limit (%d) reached: new connections are answered 503"
            % self.connection_limit
        )
        try:
            sock.send(_BUSY, _DONTWAIT)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            sock.close()
            return
        if len(self._lingering) >= self.connection_limit or self._poller is None:
            sock.close()
            return
        # Read what the client sent before closing: closing with unread input sends a
        # reset, which can destroy the 503 before the client reads it.
        fd = sock.fileno()
        self._lingering[fd] = (sock, time.monotonic() + _LINGER)
        self._poller.add(fd)

    def _linger_read(self, fd: int, sock: socket.socket) -> None:
        try:
            data = sock.recv(65536, _DONTWAIT)
        except (BlockingIOError, InterruptedError):
            data = b"?"
        except OSError:
            data = b""
        if data and self._poller is not None:
            self._poller.rearm(fd)
        else:
            self._end_linger(fd, sock)

    def _end_linger(self, fd: int, sock: socket.socket) -> None:
        self._lingering.pop(fd, None)
        if self._poller is not None:
            self._poller.forget(fd)
        sock.close()

    def _log_limit(self, message: str) -> None:
        now = time.monotonic()
        if now - self._limit_logged >= 10.0:
            self._limit_logged = now
            sys.stderr.write("devserve: %s\n" % message)

    def _drain(self) -> None:
        """Close idle connections, give busy ones the grace period, then shut them."""
        self._draining = True
        with self._records_lock:
            records = list(self._records.values())
        for record in records:
            if not record.busy:
                if record.handler is not None:
                    self._finish_handler(record.handler)
                self._close(record)
            elif _streaming(record.handler):
                # An event stream never ends by itself: waiting for it only delays.
                with contextlib.suppress(OSError):
                    record.sock.shutdown(socket.SHUT_RDWR)
        for fd, (sock, _deadline) in list(self._lingering.items()):
            self._end_linger(fd, sock)
        deadline = time.monotonic() + self.graceful_timeout
        while self._records and time.monotonic() < deadline:
            time.sleep(0.02)
        self.close_connections()
        if self._poller is not None:
            self._poller.close()
            self._poller = None

    def close_connections(self) -> None:
        """Shut down every connection held now (see :meth:`shutdown` for the gentle way).

        .. versionadded:: 0.1
        """
        self._state()
        with self._records_lock:
            records = list(self._records.values())
        for record in records:
            if record.busy or self._running:
                # Its owner sees the end of input and closes it.
                with contextlib.suppress(OSError):
                    record.sock.shutdown(socket.SHUT_RDWR)
            else:
                if record.handler is not None:
                    self._finish_handler(record.handler)
                self._close(record)

    def server_close(self) -> None:
        """Close the listening socket and every connection; stop the workers."""
        super().server_close()  # type: ignore[misc]
        self.close_connections()
        self._release_workers()


class BoundedHTTPServer(BoundedMixIn, HTTPServer):
    """An :class:`~devserve.HTTPServer` that holds many connections on few threads.

    Unlike :class:`~devserve.ThreadingHTTPServer`, which gives each connection a thread for
    its whole life, it gives a worker thread to a *request*: idle keep-alive
    connections wait in a selector, request heads are read as they arrive by one I/O
    thread, and a worker serves a request once its head is complete.  So a thousand
    idle connections, or clients trickling their heads a byte a second, cost no
    threads; requests that run long (server-sent events, slow uploads, a blocking
    application) each get a thread of their own after
    :attr:`~BoundedMixIn.long_request` seconds, up to :attr:`~BoundedMixIn.max_threads`.
    Past :attr:`~BoundedMixIn.connection_limit` connections, new clients get ``503
    Service Unavailable``.  :meth:`~BoundedMixIn.shutdown` is graceful.

    Handlers whose :meth:`~devserve.BaseHTTPRequestHandler.handle` or ``finish`` is
    overridden,
    or whose ``wfile`` is buffered, keep their connection's worker until it closes.

    .. versionadded:: 0.1
    """


class BoundedHTTPSServer(BoundedMixIn, HTTPSServer):
    """A :class:`BoundedHTTPServer` that speaks TLS, as :class:`~devserve.HTTPSServer` does.

    The handshake and each request head are read by a worker thread, under the
    server's ``handshake_timeout`` and the handler's ``head_timeout``.

    .. versionadded:: 0.1
    """


@contextlib.contextmanager
def stop_on_signals(servers: list[Any]) -> Iterator[list[int]]:
    """Make SIGINT and SIGTERM stop *servers* gracefully; yield the signals received.

    For use around :meth:`~BoundedMixIn.serve_forever` in the main thread; servers
    without :meth:`~BoundedMixIn.request_stop` keep Python's KeyboardInterrupt.

    A handler that only asks the servers to stop cannot be lost, whereas the
    KeyboardInterrupt Python raises for SIGINT is dropped when it lands while the
    main thread runs a finaliser (a socket being collected, say).
    """
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread() or not all(
        hasattr(server, "request_stop") for server in servers
    ):
        yield received  # --compat: http.server's way, KeyboardInterrupt
        return

    def stop(signum: int, frame: types.FrameType | None) -> None:
        received.append(signum)
        for server in servers:
            server.request_stop()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield received
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
