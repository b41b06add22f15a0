"""Servers: :class:`HTTPServer`, :class:`ThreadingHTTPServer` and their HTTPS twins.

Rule 1: binding never waits on DNS: :mod:`http.server` calls ``socket.getfqdn`` at
bind time, which can block for seconds on a machine with a slow resolver.
Rule 2: the listen backlog holds a browser's or a load test's burst of connections
(the stdlib's 5 overflows thousands of times at 256 connections).
Rule 3: threads are reused: each connection is still served by a thread of its own,
as documented, but an idle worker takes the next connection instead of a new thread
being started for each (about 100 µs a connection).
Rule 4: a TLS handshake runs in the connection's own thread with a deadline, never in
the accept loop, where one silent client would stall every other.
"""

from __future__ import annotations

import contextlib
import queue
import socket
import socketserver
import sys
import threading
from collections.abc import Callable
from typing import Any, Protocol

__all__ = [
    "HTTPSServer",
    "HTTPServer",
    "ThreadingHTTPSServer",
    "ThreadingHTTPServer",
    "ThreadingMixIn",
    "WorkerThreadsMixIn",
    "test",
]

_WILDCARD_HOSTS = ("", "0.0.0.0", "::")


class HTTPServer(socketserver.TCPServer):
    """A TCP server that records its name and port, as :class:`http.server.HTTPServer` does.

    Unlike :mod:`http.server`, :attr:`server_name` is the bound host as given (or
    the machine's host name for a wildcard address), found without a DNS lookup,
    and the listen backlog is 1024 rather than 5.
    """

    allow_reuse_address = True
    allow_reuse_port = False
    #: The listen backlog (the stdlib's is 5).
    request_queue_size = 1024
    #: The host name or address the server is bound to, set by :meth:`server_bind`.
    server_name: str
    #: The port the server is bound to, set by :meth:`server_bind`.
    server_port: int

    def server_bind(self) -> None:
        """Bind the socket and set :attr:`server_name` and :attr:`server_port`."""
        super().server_bind()
        host, port = self.server_address[:2]
        host = str(host)
        self.server_name = socket.gethostname() if host in _WILDCARD_HOSTS else host
        self.server_port = int(port)

    def finish_request(self, request: Any, client_address: Any) -> Any:
        """Serve *request* by making a :attr:`RequestHandlerClass` for it; return the handler."""
        handler_class: Any = self.RequestHandlerClass
        return handler_class(request, client_address, self)


class _WorkerPool:
    """Threads that each serve one connection at a time and wait for the next.

    A submitted job goes to an idle worker if there is one, else to a new thread:
    no connection ever waits for another to finish.  Workers idle for
    *idle_timeout* seconds exit.
    """

    def __init__(self, *, daemon: bool, idle_timeout: float, name: str) -> None:
        self._daemon = daemon
        self._idle_timeout = idle_timeout
        self._name = name
        self._lock = threading.Lock()
        self._jobs: queue.SimpleQueue[tuple[Callable[..., None], tuple[Any, ...]] | None] = (
            queue.SimpleQueue()
        )
        self._idle = 0
        self._threads: set[threading.Thread] = set()
        self._closed = False

    def submit(self, function: Callable[..., None], *args: Any) -> None:
        with self._lock:
            if self._idle:
                # Every put happens under the lock with a matching idle count, so a
                # worker that times out can tell a job meant for it from none.
                self._idle -= 1
                self._jobs.put((function, args))
                return
            thread = threading.Thread(
                target=self._work,
                args=((function, args),),
                daemon=self._daemon,
                name="%s-%d" % (self._name, len(self._threads) + 1),
            )
            self._threads.add(thread)
        thread.start()

    def _work(self, job: tuple[Callable[..., None], tuple[Any, ...]] | None) -> None:
        try:
            while job is not None:
                function, args = job
                function(*args)
                job = None  # drop references to the finished connection
                job = self._next_job()
        finally:
            with self._lock:
                self._threads.discard(threading.current_thread())

    def _next_job(self) -> tuple[Callable[..., None], tuple[Any, ...]] | None:
        with self._lock:
            if self._closed:
                return None
            self._idle += 1
        try:
            return self._jobs.get(timeout=self._idle_timeout)
        except queue.Empty:
            with self._lock:
                try:
                    return self._jobs.get_nowait()
                except queue.Empty:
                    self._idle -= 1
                    return None

    def close(self, *, join: bool) -> None:
        with self._lock:
            self._closed = True
            for _ in range(self._idle):
                self._jobs.put(None)
            self._idle = 0
            threads = list(self._threads)
        if join:
            for thread in threads:
                thread.join()

    def busy_threads(self) -> int:
        """The number of workers serving a connection now."""
        with self._lock:
            return len(self._threads) - self._idle


class _PoolProtocol(Protocol):
    def close(self, *, join: bool) -> None: ...


class WorkerThreadsMixIn:
    """What the threaded servers share: stopping and joining their worker threads.

    .. versionadded:: 0.1
    """

    daemon_threads: bool
    block_on_close: bool
    _pool: _PoolProtocol | None = None

    def join_threads(self) -> None:
        """Wait until every worker thread has exited (after :meth:`server_close`).

        .. versionadded:: 0.1
        """
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.close(join=True)

    def _release_workers(self) -> None:
        # After the listening socket is closed: wait for the workers only where the
        # socketserver contract says server_close blocks (non-daemon threads).
        if self.block_on_close and not self.daemon_threads:
            self.join_threads()
        elif self._pool is not None:
            self._pool.close(join=False)


class ThreadingMixIn(WorkerThreadsMixIn):
    """Mix-in that serves each connection in a thread of its own, reusing threads.

    It keeps :class:`socketserver.ThreadingMixIn`'s attributes and hooks:
    :attr:`daemon_threads`, :attr:`block_on_close` and
    :meth:`process_request_thread`.  Unlike it, a worker whose connection is done
    waits :attr:`worker_idle_timeout` seconds for the next one before it exits.

    .. versionadded:: 0.1 (thread reuse)
    """

    #: Whether worker threads are daemons (they do not keep the process alive).
    daemon_threads = False
    #: Whether :meth:`server_close` waits for connections being served.
    block_on_close = True
    #: Seconds an idle worker waits for the next connection before it exits.
    worker_idle_timeout = 30.0
    _pool: _WorkerPool | None = None
    _connections: set[Any] | None = None
    _connections_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        """Hand the connection to a worker thread."""
        pool = self._pool
        if pool is None:
            pool = self._pool = _WorkerPool(
                daemon=self.daemon_threads,
                idle_timeout=self.worker_idle_timeout,
                name=type(self).__name__,
            )
            self._connections = set()
            self._connections_lock = threading.Lock()
        with self._connections_lock:
            self._connections.add(request)  # type: ignore[union-attr]
        pool.submit(self.process_request_thread, request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        """Serve one connection in the current thread, then close it."""
        server: Any = self
        try:
            server.finish_request(request, client_address)
        except Exception:
            server.handle_error(request, client_address)
        finally:
            with self._connections_lock:
                if self._connections is not None:
                    self._connections.discard(request)
            server.shutdown_request(request)

    def close_connections(self) -> None:
        """Shut down every connection being served now.

        Handlers waiting for a request see the end of input and finish; a response
        being written fails.  Used to stop a server that still has idle persistent
        connections, which would otherwise keep their threads forever.

        .. versionadded:: 0.1
        """
        with self._connections_lock:
            connections = list(self._connections or ())
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def server_close(self) -> None:
        """Close the listening socket; wait for connections if :attr:`block_on_close`."""
        super().server_close()  # type: ignore[misc]
        self._release_workers()


class ThreadingHTTPServer(ThreadingMixIn, HTTPServer):
    """An :class:`HTTPServer` that serves each connection in its own thread.

    As in :mod:`http.server`, :attr:`~devserve.net.servers.ThreadingMixIn.daemon_threads` is true.
    """

    daemon_threads = True


class HTTPSServer(HTTPServer):
    """An :class:`HTTPServer` that speaks TLS, with Python 3.14's signature.

    *certfile* and *keyfile* (PEM) and *password* go to
    :meth:`ssl.SSLContext.load_cert_chain`; *alpn_protocols* defaults to
    ``["http/1.1"]``.  Unlike :mod:`http.server`, the handshake runs in the thread
    that serves the connection, bounded by :attr:`handshake_timeout` seconds, so a
    client that connects and stays silent delays nobody else.

    .. versionadded:: 0.1
    """

    #: Seconds a client has to complete the TLS handshake.
    handshake_timeout = 10.0

    def __init__(
        self,
        server_address: Any,
        RequestHandlerClass: Callable[..., Any],
        bind_and_activate: bool = True,
        *,
        certfile: str,
        keyfile: str | None = None,
        password: Any = None,
        alpn_protocols: list[str] | None = None,
    ) -> None:
        try:
            import ssl
        except ImportError:
            raise RuntimeError("SSL module is missing; HTTPS support is unavailable") from None
        self.ssl_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ssl_context.load_cert_chain(certfile, keyfile, password)
        self.ssl_context.set_alpn_protocols(
            ["http/1.1"] if alpn_protocols is None else alpn_protocols
        )
        self.certfile = certfile
        self.keyfile = keyfile
        self.password = password
        self.alpn_protocols = alpn_protocols
        super().__init__(server_address, RequestHandlerClass, bind_and_activate)

    def get_request(self) -> tuple[socket.socket, Any]:
        """Accept a connection and wrap it for TLS without shaking hands yet."""
        connection, address = self.socket.accept()
        wrapped = self.ssl_context.wrap_socket(
            connection, server_side=True, do_handshake_on_connect=False
        )
        return wrapped, address

    def finish_request(self, request: Any, client_address: Any) -> Any:
        """Complete the TLS handshake in this thread, then serve the connection."""
        timeout = request.gettimeout()
        request.settimeout(self.handshake_timeout)
        try:
            request.do_handshake()
        except OSError as error:  # ssl.SSLError is an OSError
            sys.stderr.write("%s - - TLS handshake failed: %s\n" % (client_address[0], error))
            return None
        request.settimeout(timeout)
        return super().finish_request(request, client_address)


class ThreadingHTTPSServer(ThreadingMixIn, HTTPSServer):
    """An :class:`HTTPSServer` that serves each connection in its own thread.

    .. versionadded:: 0.1
    """

    daemon_threads = True


def _get_best_family(host: str | None, port: int | str) -> tuple[socket.AddressFamily, Any]:
    """Return the address family and address to bind for *host* and *port*."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, _type, _proto, _canonname, sockaddr = next(iter(infos))
    return family, sockaddr


def test(
    HandlerClass: type[Any] | None = None,
    ServerClass: Any = ThreadingHTTPServer,
    protocol: str = "HTTP/1.0",
    port: int = 8000,
    bind: str | None = None,
    tls_cert: str | None = None,
    tls_key: str | None = None,
    tls_password: str | None = None,
) -> None:
    """Serve *HandlerClass* on *port* until interrupted, as :func:`http.server.test` does.

    It sets ``ServerClass.address_family`` for *bind* and
    ``HandlerClass.protocol_version`` to *protocol* (both class attributes, as in
    the stdlib), prints ``Serving HTTP on HOST port PORT (URL) ...`` and exits
    with status 0 on Ctrl+C.  With *tls_cert* (and optionally *tls_key* and
    *tls_password*) it serves HTTPS; *ServerClass* must then accept the
    :class:`HTTPSServer` keywords.
    """
    if HandlerClass is None:
        from ..handler.base import BaseHTTPRequestHandler

        HandlerClass = BaseHTTPRequestHandler
    ServerClass.address_family, address = _get_best_family(bind, port)
    HandlerClass.protocol_version = protocol
    if tls_cert:
        server = ServerClass(
            address, HandlerClass, certfile=tls_cert, keyfile=tls_key, password=tls_password
        )
    else:
        server = ServerClass(address, HandlerClass)
    with server as httpd:
        host, port = httpd.socket.getsockname()[:2]
        url_host = "[%s]" % host if ":" in host else host
        scheme = "HTTPS" if tls_cert else "HTTP"
        print(
            "Serving %s on %s port %s (%s://%s:%s/) ..."
            % (scheme, host, port, scheme.lower(), url_host, port)
        )
        try:
            httpd.serve_forever()
        except KeyboardInterrupt:
            print("\nKeyboard interrupt received, exiting.")
            sys.exit(0)
