"""The bounded server: thousands of connections on a bounded number of threads.

Rule 1: a connection holds a worker thread only while one of its requests is being
served.  Before its first request and between requests it is *parked*: watched by the
:class:`~devserve.net.poller.Poller` for readability, costing a file descriptor and a
few kilobytes, never a thread (the way waitress and cheroot hold thousands of idle
keep-alive connections).  One I/O thread (the one running
:meth:`BoundedHTTPServer.serve_forever`) accepts and watches them.
Rule 2: the I/O thread reads a request's head as it arrives, without blocking, and
feeds it to the core's :class:`~devserve.http11.scanning.HeadScanner` until the head can
be parsed without waiting (complete, or over a limit, or not HTTP), or the head
deadline passes; only then does a worker get the connection, the bytes read so far
going first to the handler's reader (:class:`~devserve.net.contract.Arrival`).  A TLS
connection's handshake is driven the same way (non-blocking, under the server's
``handshake_timeout``), and its heads are read as TLS decrypts them.
Rule 2a: a request body is gathered the same way before a worker is taken, in memory
up to :attr:`~BoundedHTTPServer.body_buffer_size` bytes and in a temporary file past
it, under the handler's ``timeout`` for progress; past it a worker answers 408 at
once.  A body with ``Expect`` is not gathered (the handler answers the expectation
first), nor one past the buffer when the handler sets no ``limits.max_body_size``
(the disk is not an unbounded buffer): the handler reads those as they come, on its
worker, under the same deadline.
Rule 2b: a response that ends with a file the client is slow to take is finished by
the I/O thread (:class:`~devserve.net.contract.TailHost`): it writes the file as the
socket becomes writable, under the handler's ``timeout`` for progress, so a client
that stops reading a download costs a file descriptor, not a worker.
Rule 2c: a handler may leave the server a :class:`~devserve.net.contract.QuickAnswer` to
the request head it was just given (the files handler does, for a small cached file):
a byte-identical head is then answered by the I/O thread, for as long as the answer
says it holds, without a worker; anything else goes to a worker as before.
Rule 2d: a connection that stopped speaking HTTP (a WebSocket through a proxy) is relayed
to its peer socket by the I/O thread (:class:`~devserve.net.contract.RelayHost`,
``devserve.net.relay.Tunnel``) until either closes, costing two file descriptors
and no worker; so is a response body from a peer (an event stream or a long download
through a proxy), one way, until its end.  Bytes that wait past the handler's
``timeout`` for a socket that takes none end it.
Rule 3: a connection has one owner at a time, handed over through the contract of
:mod:`devserve.net.contract`: the I/O thread owns a parked one; the job queue hands it
to exactly one worker; the worker hands it back by re-arming it in the poller.
Rule 4: past :attr:`~BoundedHTTPServer.connection_limit` connections, a new client gets
a short ``503`` at once, rather than an ever-growing count of sockets and threads.
Rule 5: stopping is graceful: no new connections, idle ones closed, requests in flight
given :attr:`~BoundedHTTPServer.graceful_timeout` seconds, then their connections shut,
so a body being read ends in an error, never a silent truncation.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, BinaryIO, cast

from ..http11 import DEFAULT_LIMITS, Limits
from ..http11.scanning import BodyScanner, HeadScanner, Progress, body_to_gather
from .contract import (
    Arrival,
    HeldStream,
    ParkableHandler,
    ParsingPolicy,
    QuickAnswer,
    RelayedBody,
    conforms,
)  # fmt: skip
from .poller import Poller, make_poller
from .pool import WorkerPool
from .relay import Tunnel
from .servers import HTTPServer, HTTPSServer
from .streams import DONTWAIT, is_tls, reset_connection
from .unix import peer_host

__all__ = ["BoundedHTTPSServer", "BoundedHTTPServer"]

_BODY_STALL = "%s - - relayed response cut: the client took nothing for %g s\n"
_TUNNEL_STALL = "%s - - tunnel closed: nothing taken for %g s\n"

_TICK = 0.25  # seconds between checks for deadlines, idle connections and long requests
_LINGER = 2.0  # seconds a refused client has to read its 503 before the socket closes
_SENDFILE_MAX = 0x7FFFF000  # the most one sendfile call sends on Linux
_ANSWERS_MAX = 512  # request heads remembered with their answers; then forgotten all at once
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Length: 45\r\n"
    b"Retry-After: 1\r\n"
    b"Connection: close\r\n"
    b"\r\n"
    b"The server is at its connection limit; retry.\n"
)


def _send_now(sock: socket.socket, data: bytes | memoryview) -> int:
    """Send what *sock* takes of *data* without waiting; raise BlockingIOError if nothing.

    A socket with a timeout is non-blocking underneath, but its ``send`` first waits
    up to the timeout for room, whatever the flags: its descriptor is written directly.
    """
    if sock.gettimeout() is None:
        return sock.send(data, DONTWAIT)
    return os.write(sock.fileno(), data)


class _Connection:
    """One accepted connection: its socket, its handler once made, and its parked state."""

    __slots__ = (
        "address", "arrived", "body", "busy", "cut", "fd", "handler", "held", "overdue",
        "progressed", "quick_key", "scanner", "shaken", "since", "sock", "spool", "tail", "tls",
        "tunnel",
    )  # fmt: skip

    def __init__(self, sock: socket.socket, address: Any, scanner: HeadScanner) -> None:
        self.sock = sock
        #: Whether it speaks TLS.
        self.tls = is_tls(sock)
        #: Whether its TLS handshake is done (a plain connection has none to do).
        self.shaken = not self.tls
        self.address = address
        self.fd = sock.fileno()
        self.handler: ParkableHandler | None = None
        #: The head of the next request as it arrives.
        self.scanner = scanner
        #: When the first of its bytes arrived (:func:`time.monotonic`), or ``None``.
        self.arrived: float | None = None
        #: When the connection was last parked.
        self.since = time.monotonic()
        #: Whether a worker owns it now.
        self.busy = False
        #: The body being gathered after a complete head, or ``None``.
        self.body: BodyScanner | None = None
        #: When the body last grew.
        self.progressed = 0.0
        #: The temporary file the body goes to past the server's body buffer, or ``None``.
        self.spool: BinaryIO | None = None
        #: Whether the body stopped arriving for longer than the handler's timeout.
        self.overdue = False
        #: The event stream the connection carries, kept without a thread, or ``None``.
        self.held: _Held | None = None
        #: The end of a file response the I/O thread is sending, or ``None``.
        self.tail: _Tail | None = None
        #: The request head last handed to the handler, whole and alone, to remember
        #: an answer by (plain connections only), or ``None``.
        self.quick_key: bytes | None = None
        #: The tunnel the I/O thread relays the connection through, or ``None``.
        self.tunnel: Tunnel | None = None
        #: Whether its relay ended short of the body's end: the socket is reset.
        self.cut = False

    def take_arrival(self) -> Arrival:
        """Hand over what was read ahead, and start scanning the next head afresh."""
        scanner = self.scanner
        data = bytes(scanner.data)
        whole = self.body is None and scanner.end == len(data) and not self.tls
        self.quick_key = data if whole else None
        scanner.reset()
        arrived, self.arrived = self.arrived, None
        overdue, self.overdue = self.overdue, False
        self.body = None
        spool, self.spool = self.spool, None
        if spool is not None:
            spool.seek(0)
        return Arrival(data, arrived, overdue, spool)


class _Held:
    """An event stream kept by the server: written without blocking, from any thread."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._lock = threading.Lock()
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    def send(self, data: bytes) -> bool:
        with self._lock:
            if self._closed:
                return False
            try:
                sent = self._sock.send(data)  # the socket is non-blocking once held
            except OSError:  # gone, or not reading (EAGAIN, SSLWantWriteError)
                sent = -1
            if sent != len(data):
                self._end()  # a client that is not reading gets no backlog
                return False
            return True

    def close(self) -> None:
        with self._lock:
            self._end()

    def _end(self) -> None:
        if not self._closed:
            self._closed = True
            # The I/O thread sees the end of input and closes the socket.
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)


class _Tail:
    """The rest of a response: the server's own descriptor of a file and where it is, or bytes."""

    __slots__ = ("count", "data", "fd", "offset", "park", "patience", "timeout")

    def __init__(self, fd: int, offset: int, count: int, data: bytes | None = None) -> None:
        self.fd = fd
        self.offset = offset
        self.count = count
        #: The bytes to send instead of a file's (with *fd* -1).
        self.data = data
        #: Whether the connection is parked (kept alive) once the file is sent.
        self.park = False
        #: The socket's timeout, given back once the file is sent.
        self.timeout: float | None = None
        #: Seconds the client may take nothing before the connection is closed, or ``None``.
        self.patience: float | None = None

    def close(self) -> None:
        if self.fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self.fd)


class BoundedHTTPServer(HTTPServer):
    """An :class:`~devserve.HTTPServer` that holds many connections on few threads.

    Unlike :class:`~devserve.ThreadingHTTPServer`, which gives each connection a
    thread for its whole life, it gives a worker thread to a *request*: idle
    keep-alive connections wait in a poller, request heads are read as they arrive
    by one I/O thread, and a worker serves a request once its head is complete.  So a
    thousand idle connections, or clients trickling their heads a byte a second,
    cost no threads; requests that run long (server-sent events, slow uploads, a
    blocking application) each get a thread of their own after
    :attr:`long_request` seconds, up to :attr:`max_threads`.  Past
    :attr:`connection_limit` connections, new clients get ``503 Service
    Unavailable``.  :meth:`shutdown` is graceful.

    Handlers that are not :class:`~devserve.net.contract.ParkableHandler` (whose
    ``handle`` or ``finish`` is overridden, or whose ``wfile`` is buffered) keep
    their connection's worker until it closes.

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
    #: Whether stopping closes the listening socket at once, before the grace period,
    #: so the port is free for the next server (the command line's choice); by
    #: default it stays open until :meth:`server_close`, and :meth:`serve_forever`
    #: can be called again.
    close_listener_on_stop = False
    #: The largest request body gathered in memory before a worker is taken; a
    #: larger one is read by the handler as it arrives.
    body_buffer_size = 65536
    #: Seconds an idle worker thread waits for work before it exits.
    worker_idle_timeout = 30.0
    #: Whether worker threads are daemons (they do not keep the process alive).
    daemon_threads = True
    #: Whether :meth:`server_close` waits for the worker threads (with non-daemon threads).
    block_on_close = True

    _poller: Poller | None = None
    _wake_w: socket.socket | None = None
    _running = False
    _draining = False
    _stop_requested = False
    _limit_logged = 0.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._records: dict[int, _Connection] = {}
        self._answers: dict[bytes, QuickAnswer] = {}
        self._records_lock = threading.Lock()
        self._lingering: dict[int, tuple[socket.socket, float]] = {}
        self._peers: dict[int, _Connection] = {}  # a tunnel's other socket -> its connection
        self._stopped = threading.Event()
        self._stopped.set()
        self._not_accepting = threading.Event()
        self._not_accepting.set()
        super().__init__(*args, **kwargs)
        policy = self.RequestHandlerClass
        self._policy: ParsingPolicy | None = policy if isinstance(policy, ParsingPolicy) else None

    # -- the contract with handlers ------------------------------------------------

    @property
    def parks_connections(self) -> bool:
        """Whether a handler may return an idle connection to the server now."""
        return self._running and not self._draining

    def adopt(self, handler: ParkableHandler) -> Arrival:
        """Record *handler* as its connection's; return what the I/O thread read ahead."""
        sock = handler.connection
        record = self._records.get(sock.fileno())
        if record is None or record.sock is not sock:
            return Arrival()
        record.handler = handler
        return record.take_arrival()

    def hold(self, handler: ParkableHandler) -> HeldStream | None:
        """Keep *handler*'s connection, its response started, once the handler returns.

        The connection is watched for the client leaving, costing no thread; what
        the stream sends next goes through the returned object.  ``None`` while the
        server is stopping or for a connection it does not hold.
        """
        sock = handler.connection
        record = self._records.get(sock.fileno())
        if not self.parks_connections or record is None or record.sock is not sock:
            return None
        held = record.held = _Held(sock)
        sock.setblocking(False)
        return held

    def send_tail(self, handler: ParkableHandler, file: BinaryIO, offset: int, count: int) -> bool:
        """Send *count* bytes of *file* from *offset* once *handler* returns, as the client reads.

        The server keeps a descriptor of its own (the handler may close the file) and
        writes under the handler's ``timeout`` for progress; ``False`` while the server
        is stopping or for a connection it does not hold.
        """
        sock = handler.connection
        record = self._records.get(sock.fileno())
        if not self.parks_connections or record is None or record.sock is not sock:
            return False
        if record.tail is not None or record.held is not None:
            return False
        record.tail = _Tail(os.dup(file.fileno()), offset, count)
        return True

    def relay(
        self,
        handler: ParkableHandler,
        peer: socket.socket,
        to_client: bytes,
        to_peer: bytes,
        body: RelayedBody | None = None,
    ) -> bool:
        """Relay *handler*'s connection and *peer* both ways once *handler* returns.

        *peer* is non-blocking; *to_client* and *to_peer* are sent first.  The I/O
        thread relays as the sockets become ready, until either closes (or, for a
        *body*, relayed one way from *peer*, until its end), then closes both;
        ``False`` while the server is stopping or for a connection it does not hold.
        """
        sock = handler.connection
        record = self._records.get(sock.fileno())
        if not self.parks_connections or record is None or record.sock is not sock:
            return False
        if record.tail is not None or record.held is not None or record.tunnel is not None:
            return False
        patience = self._write_patience(sock.gettimeout())
        record.tunnel = Tunnel(sock, peer, to_client, to_peer, patience, body)
        return True

    def remember(self, handler: ParkableHandler, answer: QuickAnswer) -> None:
        """Answer the request head *handler* was last given with *answer* from now on.

        The I/O thread then answers that head, byte for byte the same, itself, for as
        long as :meth:`~devserve.net.contract.QuickAnswer.render` says it holds.
        """
        sock = handler.connection
        record = self._records.get(sock.fileno())
        if record is None or record.sock is not sock:
            return
        key, record.quick_key = record.quick_key, None
        if key is None:
            return
        answers = self._answers
        if len(answers) >= _ANSWERS_MAX:
            answers.clear()  # a crawl of many paths: start again from what comes next
        answers[key] = answer

    @property
    def connection_count(self) -> int:
        """The number of connections held now."""
        return len(self._records)

    @property
    def thread_count(self) -> int:
        """The number of worker threads now."""
        return 0 if self._pool is None else self._pool.size

    def _scanner(self) -> HeadScanner:
        policy = self._policy
        strict = policy.strict_parsing if policy is not None else False
        limits: Limits = policy.limits if policy is not None else DEFAULT_LIMITS
        return HeadScanner(strict=strict, limits=limits)

    def _get_pool(self) -> WorkerPool[_Connection]:
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

    # -- the I/O thread ----------------------------------------------------------

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        """Serve until :meth:`shutdown` is called or the thread is interrupted.

        *poll_interval* is accepted for compatibility; :meth:`shutdown` wakes the
        loop at once.  On the way out (including on :exc:`KeyboardInterrupt`) the
        server stops gracefully: see :meth:`shutdown`.
        """
        self._stopped.clear()
        self._not_accepting.clear()
        listener = self.socket
        poller = self._poller = make_poller()
        wake_r, self._wake_w = socket.socketpair()
        wake_r.setblocking(False)
        listener.setblocking(False)
        poller.watch(listener.fileno())
        poller.watch(wake_r.fileno())
        listening, waking = listener.fileno(), wake_r.fileno()
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
                            self._ready(fd)
                    now = time.monotonic()
                    if now >= next_tick:
                        next_tick = now + _TICK
                        self._sweep(now)
                    self.service_actions()
            finally:
                poller.forget(listening)
                poller.forget(waking)  # the drain polls for files still being sent
                if self.close_listener_on_stop:
                    self.socket.close()  # after forget: a shared listener would stay armed
                self._not_accepting.set()
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
        self.request_stop()
        self._stopped.wait()

    def request_stop(self) -> None:
        """Ask :meth:`serve_forever` to stop gracefully, and return at once.

        Safe to call from a signal handler in the thread running :meth:`serve_forever`
        (where :meth:`shutdown` would wait for itself).  Unlike raising
        :exc:`KeyboardInterrupt`, it cannot be lost: an exception raised while the
        interrupted thread runs a finaliser is printed and dropped by Python.
        """
        self._stop_requested = True
        if self._wake_w is not None:
            with contextlib.suppress(OSError):
                self._wake_w.send(b"\0")

    def stop_accepting(self, timeout: float | None = None) -> bool:
        """Ask the server to stop (:meth:`request_stop`); wait until it accepts no more.

        Connections made from then on wait in the listening socket's backlog for
        whoever listens next (a reloader's next process), while requests in flight
        go on for the grace period.  Returns whether that point was reached within
        *timeout* seconds.

        .. versionadded:: 0.1
        """
        self.request_stop()
        return self._not_accepting.wait(timeout)

    def _accept(self) -> None:
        if self._stop_requested:
            return  # left in the backlog, for whoever listens next
        for _ in range(64):  # then let parked connections have a turn
            try:
                sock, address = self.get_request()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:
                # EMFILE and friends: the backlog keeps the client until a socket frees.
                self._log_limit("cannot accept a connection: %s" % error)
                return
            if not self.verify_request(sock, address):
                self.shutdown_request(sock)
                continue
            if len(self._records) >= self.connection_limit:
                self._refuse(sock)
                continue
            record = _Connection(sock, address, self._scanner())
            with self._records_lock:
                self._records[record.fd] = record
            assert self._poller is not None
            self._poller.add(record.fd)

    def _ready(self, fd: int) -> None:
        record = self._records.get(fd) or self._peers.get(fd)
        if record is not None and record.tunnel is not None:
            self._relay_ready(record, record.tunnel, fd)
        elif record is not None and record.tail is not None:
            self._write_tail(record)
        else:
            self._readable(fd)

    def _write_tail(self, record: _Connection) -> None:
        """Send what the socket takes of the file that ends the response, without blocking."""
        tail = record.tail
        assert tail is not None
        try:
            if tail.data is not None:
                view = memoryview(tail.data)[tail.offset : tail.offset + tail.count]
                sent = _send_now(record.sock, view)
            else:
                sent = os.sendfile(record.fd, tail.fd, tail.offset, min(tail.count, _SENDFILE_MAX))
        except (BlockingIOError, InterruptedError):
            self._rearm(record, writable=True)
            return
        except OSError:  # the client left
            self._close(record)
            return
        if not sent:
            # The file is shorter than the Content-Length sent: only closing tells.
            self._close(record)
            return
        tail.offset += sent
        tail.count -= sent
        record.progressed = time.monotonic()
        if tail.count:
            self._rearm(record, writable=True)
            return
        record.tail = None
        tail.close()
        record.sock.settimeout(tail.timeout)
        if tail.park and self.parks_connections:
            record.since = record.progressed
            self._rearm(record)
            return
        handler = record.handler
        if handler is not None and tail.park:
            handler.release()
        self._close(record)

    def _relay_ready(self, record: _Connection, tunnel: Tunnel, fd: int) -> None:
        arms = tunnel.ready(fd)
        if arms is None:
            self._close(record)
            return
        self._arm_tunnel(record, arms)

    def _arm_tunnel(self, record: _Connection, arms: list[tuple[int, bool]]) -> None:
        poller = self._poller
        try:
            if poller is None:
                raise OSError("the server has stopped")
            for fd, writable in arms:
                poller.rearm(fd, writable)
        except (OSError, ValueError):  # a socket closed meanwhile; an epoll the stop closed
            self._close(record)

    def _readable(self, fd: int) -> None:
        record = self._records.get(fd)
        if record is None:
            linger = self._lingering.get(fd)
            if linger is not None:
                self._linger_read(fd, linger[0])
            return
        if record.held is not None:
            # An event-stream client sends nothing after its request: this is its leaving.
            self._close(record)
            return
        if record.tls:
            data = self._receive_tls(record)
            if data is None:
                return
        else:
            try:
                data = record.sock.recv(65536, DONTWAIT)
            except (BlockingIOError, InterruptedError):
                self._rearm(record)
                return
            except OSError:
                self._close(record)
                return
        if not data:
            if record.scanner.data:
                self._dispatch(record)  # the handler answers the partial request
            else:
                self._close(record)  # the client ended an idle connection
            return
        if record.body is not None:
            self._gather(record, data)
            return
        if record.arrived is None:
            record.arrived = time.monotonic()
        if record.scanner.feed(data) is Progress.NEED_MORE or self._starts_body(record):
            self._rearm(record)
        elif not (self._answers and self._answer(record)):
            self._dispatch(record)

    def _answer(self, record: _Connection) -> bool:
        """Answer a remembered request head here; ``False`` to give it to a worker."""
        scanner = record.scanner
        data = scanner.data
        if record.tls or scanner.end != len(data):
            return False  # TLS writes are not this loop's; pipelined bytes are a worker's
        key = bytes(data)
        answer = self._answers.get(key)
        if answer is None:
            return False
        started = time.perf_counter()
        response = answer.render()
        if response is None:
            self._answers.pop(key, None)  # the file changed: a handler decides afresh
            return False
        try:
            sent = _send_now(record.sock, response)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            self._close(record)
            return True
        scanner.reset()
        record.arrived = None
        try:
            answer.served(record.address, len(response), time.perf_counter() - started)
        except Exception:
            self.handle_error(record.sock, record.address)  # the log's failure, not the client's
        if sent < len(response):
            tail = record.tail = _Tail(-1, sent, len(response) - sent, response)
            tail.park = not answer.closes
            tail.timeout = record.sock.gettimeout()
            tail.patience = self._write_patience(tail.timeout)
            record.progressed = time.monotonic()
            self._rearm(record, writable=True)
        elif answer.closes:
            if record.handler is not None:
                record.handler.release()
            self._close(record)
        else:
            record.since = time.monotonic()
            self._rearm(record)
        return True

    def _receive_tls(self, record: _Connection) -> bytes | None:
        """Shake hands and read what TLS has decrypted, without blocking; ``None`` if nothing.

        ``recv`` on a TLS socket takes no ``MSG_DONTWAIT``: the socket is made
        non-blocking for the call and given its timeout back before a worker sees it.
        """
        import ssl  # loaded already: a TLS socket exists (and ssl is lazy for the rest)

        sock = cast(ssl.SSLSocket, record.sock)
        timeout = sock.gettimeout()
        sock.setblocking(False)
        then: Callable[[_Connection], None] | None = None
        data = b""
        try:
            if not record.shaken:
                sock.do_handshake()
                record.shaken = True
            data = sock.recv(65536)
            while data and sock.pending():  # decrypted already: epoll cannot see it
                data += sock.recv(65536)
        except ssl.SSLWantReadError:
            then = self._rearm
        except ssl.SSLWantWriteError:
            then = self._dispatch  # the send buffer is full: a worker finishes, blocking
        except OSError as error:  # ssl.SSLError is an OSError
            if not record.shaken:
                self.handshake_failed(sock, record.address, error)
            then = self._close
        sock.settimeout(timeout)  # before any worker can see the socket
        if then is not None:
            then(record)
            return None
        return data

    def _starts_body(self, record: _Connection) -> bool:
        """Whether the complete head announces a body to gather before a worker serves it."""
        scanner = record.scanner
        policy = self._policy
        if scanner.end is None or policy is None:
            return False
        data = scanner.data
        body = body_to_gather(data[: scanner.end], strict=policy.strict_parsing,
                              limits=policy.limits)  # fmt: skip
        if body is None:
            return False
        body.feed(bytes(data[scanner.end :]))
        if body.progress is Progress.READY:
            return False
        if len(data) > self.body_buffer_size and policy.limits.max_body_size is None:
            return False  # nothing bounds a spool: the handler reads it as it comes
        record.body = body
        record.progressed = time.monotonic()
        return True

    def _gather(self, record: _Connection, data: bytes) -> None:
        body = record.body
        assert body is not None
        body.feed(data)
        record.progressed = time.monotonic()
        if record.spool is None and len(record.scanner.data) + len(data) <= self.body_buffer_size:
            record.scanner.keep(data)
        elif not self._spool(record, data):
            if record.spool is not None:
                self._close(record)  # the disk is full: the body cannot be kept whole
            else:
                self._dispatch(record)  # too large to hold: the handler reads on
            return
        if body.progress is Progress.READY:
            self._dispatch(record)
        else:
            self._rearm(record)

    def _spool(self, record: _Connection, data: bytes) -> bool:
        """Add *data* to the record's temporary file; ``False`` where there is none to be."""
        spool = record.spool
        if spool is None:
            policy = self._policy
            if policy is None or policy.limits.max_body_size is None:
                record.scanner.keep(data)
                return False
            import tempfile  # loaded with the first large upload

            try:
                spool = record.spool = tempfile.TemporaryFile()  # noqa: SIM115 -- the reader closes it
            except OSError as error:
                self._log_limit("cannot spool a request body: %s" % error)
                record.scanner.keep(data)
                return False
        try:
            spool.write(data)
        except OSError as error:
            self._log_limit("cannot spool a request body, connection closed: %s" % error)
            return False
        return True

    def _rearm(self, record: _Connection, writable: bool = False) -> None:
        poller = self._poller
        if poller is None:  # the server has stopped meanwhile
            self._close(record)
            return
        try:
            poller.rearm(record.fd, writable)
        except OSError:
            self._close(record)

    def _dispatch(self, record: _Connection) -> None:
        record.busy = True
        self._get_pool().submit(record)

    def _sweep(self, now: float) -> None:
        """Close idle connections past their timeout; hand late heads to a worker (408)."""
        if self._pool is not None:
            self._pool.tick()
        policy = self._policy
        idle_timeout = policy.idle_timeout if policy is not None else None
        head_timeout = policy.head_timeout if policy is not None else None
        body_timeout = policy.timeout if policy is not None else None
        with self._records_lock:
            records = list(self._records.values())
        for record in records:
            tunnel = record.tunnel
            if tunnel is not None and not record.busy and tunnel.stalled(now):
                # A relayed body waits on the client alone; a tunnel on either side.
                stall = _BODY_STALL if tunnel.one_way else _TUNNEL_STALL
                sys.stderr.write(stall % (peer_host(record.address), tunnel.patience or 0))
                self._close(record)
                continue
            if record.busy or record.held is not None or tunnel is not None:
                continue
            if record.tail is not None:
                self._check_tail_progress(record, record.tail, now)
                continue
            arrived = record.arrived
            if record.body is not None:
                if body_timeout is not None and now - record.progressed > body_timeout:
                    record.overdue = True
                    self._dispatch(record)  # the body stopped: the handler says 408
            elif arrived is not None:
                if head_timeout is not None and now - arrived > head_timeout:
                    self._dispatch(record)  # past its deadline: the handler says 408
            elif not record.shaken:
                if now - record.since > self.handshake_timeout:
                    address = peer_host(record.address)
                    sys.stderr.write("%s - - TLS handshake failed: timed out\n" % address)
                    self._close(record)
            elif idle_timeout is not None and now - record.since > idle_timeout:
                self._close(record)
        for fd, (sock, deadline) in list(self._lingering.items()):
            if now > deadline:
                self._end_linger(fd, sock)

    def _check_tail_progress(self, record: _Connection, tail: _Tail, now: float) -> None:
        timeout = tail.patience
        if timeout is not None and now - record.progressed > timeout:
            sys.stderr.write(
                "%s - - file response abandoned: the client read nothing for %g s\n"
                % (peer_host(record.address), timeout)
            )
            self._close(record)

    # -- workers -----------------------------------------------------------------

    def _serve(self, record: _Connection) -> None:
        """Serve *record*'s ready request (and any pipelined after it) in a worker."""
        handler = record.handler
        try:
            if handler is None:
                made = self.finish_request(record.sock, record.address)
                handler = cast(ParkableHandler, made) if conforms(made, ParkableHandler) else None
            else:
                handler.resume(record.take_arrival())
        except Exception:
            self.handle_error(record.sock, record.address)
            handler = None
        tunnel = record.tunnel
        if tunnel is not None and record.sock.fileno() >= 0 and self._poller is not None:
            # The worker still owns the connection: it readies both sockets, then arms them.
            record.sock.setblocking(False)
            self._peers[tunnel.fds[1]] = record
            record.busy = False
            try:
                self._poller.add(tunnel.fds[1])
            except OSError:
                self._close(record)
                return
            self._arm_tunnel(record, tunnel.arms())
            return
        tail = record.tail
        if tail is not None and handler is not None and record.sock.fileno() >= 0:
            try:
                self._send_tail_later(record, tail, handler)
            except OSError:
                self._close(record)
            return
        held = record.held
        if held is not None and not held.closed and self.parks_connections:
            record.busy = False
            self._rearm(record)  # watched until the client leaves
            return
        if handler is not None and handler.parked:
            if self.parks_connections:
                record.since = time.monotonic()
                record.busy = False
                self._rearm(record)
                return
            handler.release()
        self._close(record)

    def _send_tail_later(self, record: _Connection, tail: _Tail, handler: ParkableHandler) -> None:
        # The worker still owns the connection: it readies the socket, then arms it.
        tail.park = handler.parked
        tail.timeout = record.sock.gettimeout()
        tail.patience = self._write_patience(tail.timeout)
        record.sock.setblocking(False)
        record.progressed = time.monotonic()
        record.busy = False
        self._rearm(record, writable=True)

    def _write_patience(self, timeout: float | None) -> float | None:
        # The socket's timeout is the handler's (set when it took the connection);
        # a connection no handler has had yet gets the handler class's.
        if timeout is None and self._policy is not None:
            return self._policy.timeout
        return timeout

    def _close(self, record: _Connection) -> None:
        # The I/O thread and a worker arming the tunnel late may both close a record:
        # whichever closes the socket must reset it if the relay was cut.
        with self._records_lock:
            tunnel, record.tunnel = record.tunnel, None
            if tunnel is not None and tunnel.cut:
                record.cut = True
        if tunnel is not None:
            peer = tunnel.fds[1]
            if self._peers.get(peer) is record:
                del self._peers[peer]
                if self._poller is not None:
                    self._poller.forget(peer)
            tunnel.close()
        tail, record.tail = record.tail, None
        if tail is not None:
            tail.close()
        spool, record.spool = record.spool, None
        if spool is not None:
            spool.close()
        if record.held is not None:
            record.held.close()
        with self._records_lock:
            owned = self._records.get(record.fd) is record
            if owned:
                del self._records[record.fd]
        if owned and self._poller is not None:
            # A handler may have closed its socket itself (a reset): its number may be
            # a new connection's by now, whose watch must stay.
            self._poller.forget(record.fd)
        if record.cut:
            reset_connection(record.sock)  # a cut body must not look whole (relay Rule 5)
        else:
            self.shutdown_request(record.sock)

    def process_request(self, request: Any, client_address: Any) -> None:
        """Serve one connection in a worker (for ``handle_request()``, outside the loop)."""
        record = _Connection(request, client_address, self._scanner())
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
            sock.send(_BUSY, DONTWAIT)
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
            data = sock.recv(65536, DONTWAIT)
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
            if record.handler is None and not record.busy and record.body is None:
                # Accepted, its first request sent but not read yet: a request in
                # flight for the client, served within the grace rather than cut.
                self._readable(record.fd)
        with self._records_lock:
            records = list(self._records.values())
        for record in records:
            if record.body is not None and not record.busy:
                self._dispatch(record)  # a request in flight: its handler reads the rest
            elif record.tail is not None and not record.busy:
                pass  # a response in flight: sent on below, within the grace period
            elif not record.busy:
                if record.handler is not None:
                    record.handler.release()
                self._close(record)
        for fd, (sock, _deadline) in list(self._lingering.items()):
            self._end_linger(fd, sock)
        deadline = time.monotonic() + self.graceful_timeout
        while self._records and time.monotonic() < deadline:
            self._send_tails(0.02)
        for record in list(self._records.values()):
            if record.tail is not None and not record.busy:
                self._close(record)  # the grace is over: the file stays unsent
        self.close_connections()
        if self._poller is not None:
            self._poller.close()
            self._poller = None

    def _send_tails(self, timeout: float) -> None:
        """Go on sending the files that end responses, for up to *timeout* seconds."""
        poller = self._poller
        if poller is None:
            time.sleep(timeout)
            return
        for fd in poller.poll(timeout):
            record = self._records.get(fd)
            if record is not None and record.tail is not None:
                self._write_tail(record)

    def close_connections(self) -> None:
        """Shut down every connection held now (see :meth:`shutdown` for the gentle way)."""
        with self._records_lock:
            records = list(self._records.values())
        for record in records:
            if record.busy or self._running:
                # Its owner sees the end of input and closes it.
                with contextlib.suppress(OSError):
                    record.sock.shutdown(socket.SHUT_RDWR)
            else:
                if record.handler is not None:
                    record.handler.release()
                self._close(record)

    def server_close(self) -> None:
        """Close the listening socket and every connection; stop the workers."""
        super().server_close()
        self.close_connections()
        self._release_workers(wait=self.block_on_close and not self.daemon_threads)


class BoundedHTTPSServer(BoundedHTTPServer, HTTPSServer):
    """A :class:`BoundedHTTPServer` that speaks TLS, as :class:`~devserve.HTTPSServer` does.

    The handshake and each request head are read by the I/O thread without blocking,
    under the server's ``handshake_timeout`` and the handler's ``head_timeout``, so a
    client that stalls its handshake holds no worker.

    .. versionadded:: 0.1
    """
