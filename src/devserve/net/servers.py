"""Servers: :class:`HTTPServer`, :class:`ThreadingHTTPServer` and their HTTPS twins.

Rule 1: binding never waits on DNS: :mod:`http.server` calls ``socket.getfqdn`` at
bind time, which can block for seconds on a machine with a slow resolver.
Rule 2: the listen backlog holds a browser's or a load test's burst of connections
(the stdlib's 5 overflows thousands of times at 256 connections).
Rule 3: threads are reused: each connection is still served by a thread of its own,
as documented, but an idle worker takes the next connection instead of a new thread
being started for each (about 100 µs a connection).
Rule 4: TLS is a property of any server (its :attr:`~devserve.HTTPServer.ssl_context`), not of a
class hierarchy; the handshake runs in the connection's own thread with a deadline,
never in the accept loop, where one silent client would stall every other.
Rule 5: a path for an address is a Unix socket, bound and removed by the rules of
:mod:`devserve.net.unix`; its server is named ``localhost`` on the scheme's port.
"""

from __future__ import annotations

import contextlib
import os
import socket
import socketserver
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .pool import WorkerPool
from .unix import claim_path, is_unix_address, path_identity, peer_host, release_path

if TYPE_CHECKING:
    import ssl

__all__ = [
    "HTTPSServer",
    "HTTPServer",
    "ThreadingHTTPSServer",
    "ThreadingHTTPServer",
    "tls_context",
]

WILDCARD_HOSTS = ("", "0.0.0.0", "::")


def tls_context(
    certfile: str,
    keyfile: str | None = None,
    password: Any = None,
    alpn_protocols: list[str] | None = None,
) -> ssl.SSLContext:
    """Return a server-side TLS context for a certificate chain and key (PEM files).

    *alpn_protocols* defaults to ``["http/1.1"]``.

    .. versionadded:: 0.1
    """
    try:
        import ssl
    except ImportError:
        raise RuntimeError("SSL module is missing; HTTPS support is unavailable") from None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certfile, keyfile, password)
    context.set_alpn_protocols(["http/1.1"] if alpn_protocols is None else alpn_protocols)
    return context


class HTTPServer(socketserver.TCPServer):
    """A TCP server that records its name and port, as :class:`http.server.HTTPServer` does.

    Unlike :mod:`http.server`, :attr:`server_name` is the bound host as given (or
    the machine's host name for a wildcard address), found without a DNS lookup;
    the listen backlog is 1024 rather than 5; an IPv6 address is bound as one
    whatever :attr:`address_family` says; *ssl_context* makes any server speak TLS
    (see :class:`HTTPSServer`); *dual_stack* makes an IPv6 wildcard socket
    take IPv4 connections too, as the stdlib's command line does; and a path
    (a :class:`str`) for *server_address* binds a Unix socket.

    .. versionchanged:: 0.1
       A Unix socket file left by a server that is gone is replaced; one a server
       listens on is ``EADDRINUSE``; the file is removed again by
       :meth:`server_close`.  :attr:`server_name` is then ``localhost`` and
       :attr:`server_port` 80 (443 with TLS), what a client sends in ``Host``.
    """

    allow_reuse_address = True
    allow_reuse_port = False
    #: The listen backlog (the stdlib's is 5).
    request_queue_size = 1024
    #: The host name or address the server is bound to, set by :meth:`server_bind`.
    server_name: str
    #: The port the server is bound to, set by :meth:`server_bind`.
    server_port: int
    #: Seconds a client has to complete the TLS handshake.
    #:
    #: .. versionadded:: 0.1
    handshake_timeout = 10.0
    _pool: WorkerPool[Any] | None = None
    # The Unix socket file this server bound, and its (device, inode): removed on
    # close while it is still that file.
    _unix_bound: tuple[str, tuple[int, int] | None] | None = None

    def __init__(
        self,
        server_address: Any,
        RequestHandlerClass: Callable[..., Any],
        bind_and_activate: bool = True,
        *,
        ssl_context: ssl.SSLContext | None = None,
        dual_stack: bool = False,
    ) -> None:
        #: The TLS context connections are wrapped in, or ``None`` for plain HTTP.
        self.ssl_context = ssl_context
        #: Whether an IPv6 wildcard socket takes IPv4 connections too.
        self.dual_stack = dual_stack
        host = server_address[0] if isinstance(server_address, tuple) else ""
        if is_unix_address(server_address):
            self.address_family = socket.AF_UNIX
        elif self.address_family == socket.AF_INET and ":" in str(host):
            self.address_family = socket.AF_INET6
        super().__init__(server_address, RequestHandlerClass, bind_and_activate)

    def server_bind(self) -> None:
        """Bind the socket and set :attr:`server_name` and :attr:`server_port`."""
        if self.dual_stack and self.socket.family == socket.AF_INET6:
            # As http.server's command line: not every platform lets a v6 socket take
            # v4 too, and v6 alone is fine then.
            with contextlib.suppress(AttributeError, OSError):
                self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        if self.socket.family == socket.AF_UNIX:
            address: Any = self.server_address
            path = os.fsdecode(address)
            claim_path(path)
            super().server_bind()
            self._unix_bound = (path, path_identity(path))
        else:
            super().server_bind()
        self._record_address()

    def server_close(self) -> None:
        """Close the listening socket; remove the Unix socket file this server bound."""
        super().server_close()
        bound, self._unix_bound = self._unix_bound, None
        if bound is not None:
            release_path(*bound)

    def _record_address(self) -> None:
        if self.socket.family == socket.AF_UNIX:
            # No host nor port: a URL rebuilt from the environ names what a client
            # (curl --unix-socket) sends in Host.
            self.server_name = "localhost"
            self.server_port = 80 if self.ssl_context is None else 443
            return
        host, port = self.server_address[:2]
        host = str(host)
        self.server_name = socket.gethostname() if host in WILDCARD_HOSTS else host
        self.server_port = int(port)

    def adopt_socket(self, sock: socket.socket) -> None:
        """Serve on *sock*, already bound and listening (a reloader's child gets its parent's).

        .. versionadded:: 0.1
        """
        self.socket.close()
        self.socket = sock
        self.server_address = sock.getsockname()
        self._record_address()

    def get_request(self) -> tuple[socket.socket, Any]:
        """Accept a connection; under TLS, wrap it without shaking hands yet."""
        connection, address = self.socket.accept()
        if self.ssl_context is not None:
            connection = self.ssl_context.wrap_socket(
                connection, server_side=True, do_handshake_on_connect=False
            )
        return connection, address

    def finish_request(self, request: Any, client_address: Any) -> Any:
        """Serve *request* by making a :attr:`RequestHandlerClass` for it; return the handler.

        Under TLS the handshake is completed first, in this thread, within
        :attr:`handshake_timeout` seconds.
        """
        if self.ssl_context is not None and not self._shake_hands(request, client_address):
            return None
        handler_class: Any = self.RequestHandlerClass
        return handler_class(request, client_address, self)

    def _shake_hands(self, request: Any, client_address: Any) -> bool:
        if request.version() is not None:
            return True  # shaken already (the bounded server's I/O thread does it)
        timeout = request.gettimeout()
        request.settimeout(self.handshake_timeout)
        try:
            request.do_handshake()
        except OSError as error:  # ssl.SSLError is an OSError
            self.handshake_failed(request, client_address, error)
            return False
        request.settimeout(timeout)
        return True

    def handshake_failed(self, request: Any, client_address: Any, error: OSError) -> None:
        """Log a failed TLS handshake; answer plain HTTP sent to this TLS port with a 400.

        OpenSSL recognises a plain HTTP request where a ClientHello belongs; nothing
        has been sent yet, so a plain-text answer can name the ``https://`` URL, as
        nginx does, instead of a dropped connection.
        """
        if getattr(error, "reason", None) != "HTTP_REQUEST":
            peer = peer_host(client_address)
            sys.stderr.write("%s - - TLS handshake failed: %s\n" % (peer, error))
            return
        if self.socket.family == socket.AF_UNIX:
            url = "https://localhost/"
        else:
            host, port = str(self.server_address[0]), self.server_address[1]
            if host in WILDCARD_HOSTS:
                host = "localhost"
            url = "https://%s:%d/" % ("[%s]" % host if ":" in host else host, port)
        body = ("This port speaks HTTPS: use %s\n" % url).encode("ascii")
        head = (
            "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
        ).encode("ascii")
        with contextlib.suppress(OSError):
            os.write(request.fileno(), head + body)  # below TLS: none was agreed
        sys.stderr.write(
            "%s - - plain HTTP sent to the HTTPS port: answered 400, use %s\n"
            % (peer_host(client_address), url)
        )

    def close_connections(self) -> None:
        """Shut down every connection being served now (none outside a request here).

        .. versionadded:: 0.1
        """

    def join_threads(self) -> None:
        """Wait until every worker thread the server started has exited.

        .. versionadded:: 0.1
        """
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.close(join=True)

    def _release_workers(self, *, wait: bool) -> None:
        # After the listening socket is closed: wait for the workers only where the
        # socketserver contract says server_close blocks (non-daemon threads).
        if wait:
            self.join_threads()
        elif self._pool is not None:
            self._pool.close(join=False)


class HTTPSServer(HTTPServer):
    """An :class:`HTTPServer` that speaks TLS, with Python 3.14's signature.

    *certfile* and *keyfile* (PEM) and *password* go to
    :meth:`ssl.SSLContext.load_cert_chain`; *alpn_protocols* defaults to
    ``["http/1.1"]``.  Unlike :mod:`http.server`, the handshake runs in the thread
    that serves the connection, bounded by :attr:`~HTTPServer.handshake_timeout`
    seconds, so a client that connects and stays silent delays nobody else.

    .. versionadded:: 0.1
    """

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
        dual_stack: bool = False,
    ) -> None:
        self.certfile = certfile
        self.keyfile = keyfile
        self.password = password
        self.alpn_protocols = alpn_protocols
        context = tls_context(certfile, keyfile, password, alpn_protocols)
        super().__init__(
            server_address,
            RequestHandlerClass,
            bind_and_activate,
            ssl_context=context,
            dual_stack=dual_stack,
        )


class ThreadingHTTPServer(HTTPServer):
    """An :class:`HTTPServer` that serves each connection in a thread of its own.

    It keeps :class:`socketserver.ThreadingMixIn`'s attributes and hooks:
    :attr:`daemon_threads` (true, as in :mod:`http.server`), :attr:`block_on_close`
    and :meth:`process_request_thread`.  Unlike it, threads are reused: a worker
    whose connection is done waits :attr:`worker_idle_timeout` seconds for the
    next one before it exits.
    """

    #: Whether worker threads are daemons (they do not keep the process alive).
    daemon_threads = True
    #: Whether :meth:`server_close` waits for connections being served (with
    #: non-daemon threads).
    block_on_close = True
    #: Seconds an idle worker waits for the next connection before it exits.
    #:
    #: .. versionadded:: 0.1
    worker_idle_timeout = 30.0
    _connections: set[Any] | None = None
    _connections_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        """Hand the connection to a worker thread."""
        pool = self._pool
        if pool is None:
            pool = self._pool = WorkerPool(
                self._serve_connection,
                threads=None,
                idle_timeout=self.worker_idle_timeout,
                daemon=self.daemon_threads,
                name=type(self).__name__,
            )
            self._connections = set()
            self._connections_lock = threading.Lock()
        with self._connections_lock:
            self._connections.add(request)  # type: ignore[union-attr]
        pool.submit((request, client_address))

    def _serve_connection(self, job: tuple[Any, Any]) -> None:
        self.process_request_thread(*job)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        """Serve one connection in the current thread, then close it."""
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            with self._connections_lock:
                if self._connections is not None:
                    self._connections.discard(request)
            self.shutdown_request(request)

    def close_connections(self) -> None:
        """Shut down every connection being served now.

        Handlers waiting for a request see the end of input and finish; a response
        being written fails.  Used to stop a server that still has idle persistent
        connections, which would otherwise keep their threads forever.
        """
        with self._connections_lock:
            connections = list(self._connections or ())
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def server_close(self) -> None:
        """Close the listening socket; wait for connections if :attr:`block_on_close`."""
        super().server_close()
        self._release_workers(wait=self.block_on_close and not self.daemon_threads)


class ThreadingHTTPSServer(ThreadingHTTPServer, HTTPSServer):
    """An :class:`HTTPSServer` that serves each connection in its own thread.

    .. versionadded:: 0.1
    """
