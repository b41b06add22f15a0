"""Running servers until told to stop, and :func:`~devserve.test`, the stdlib's way to do it.

Rule 1: one server serves in the calling thread and the others in threads of their
own; SIGINT and SIGTERM only ask them to stop (:func:`~devserve.net.signals.stop_on_signals`),
and every one is shut down and closed on the way out.
Rule 2: :func:`~devserve.test` keeps :func:`http.server.test`'s signature and behaviour; it lives
here, above the handler and the servers it joins.
"""

from __future__ import annotations

import signal
import socket
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

from ..handler.base import BaseHTTPRequestHandler
from ..net.servers import HTTPServer, ThreadingHTTPServer
from ..net.signals import stop_on_signals
from .banner import serving_lines

__all__ = ["run", "serve_until_stopped", "shutdown_line", "start_threads", "stop_all", "test"]


def start_threads(servers: Sequence[HTTPServer]) -> list[threading.Thread]:
    """Serve each of *servers* in a daemon thread of its own."""
    threads = [
        threading.Thread(target=server.serve_forever, daemon=True, name="devserve-listener")
        for server in servers
    ]
    for thread in threads:
        thread.start()
    return threads


def stop_all(servers: Sequence[HTTPServer]) -> None:
    """Shut every server in *servers* down, then close it."""
    for server in servers:
        server.shutdown()
    for server in servers:
        server.server_close()


def shutdown_line(signum: int) -> str:
    """The one line printed when *signum* stops devserve, the same in every mode.

    Ctrl+C gets :mod:`http.server`'s words; SIGTERM (a process manager, ``kill``)
    says what it is.
    """
    if signum == signal.SIGTERM:
        return "\nTerminated (SIGTERM), exiting."
    return "\nKeyboard interrupt received, exiting."


def serve_until_stopped(
    servers: Sequence[HTTPServer], on_stop: Callable[[], None] | None = None
) -> int:
    """Serve until Ctrl+C or SIGTERM; return the signal that stopped the servers, or 0.

    *on_stop* runs as soon as the stop is asked for (to end event streams).
    """
    start_threads(servers[1:])
    with stop_on_signals(servers, on_stop) as received:
        try:
            servers[0].serve_forever()
        except KeyboardInterrupt:
            received.append(signal.SIGINT)
            if on_stop is not None:
                on_stop()
        finally:
            for server in servers[1:]:
                server.shutdown()
            for server in servers:
                server.server_close()
    return received[0] if received else 0


def run(servers: Sequence[HTTPServer], on_stop: Callable[[], None] | None = None) -> int:
    """Serve until Ctrl+C or SIGTERM, then end what *on_stop* ends; return the exit status.

    The one shutdown line is the same in every mode.
    """
    signum = serve_until_stopped(servers, on_stop)
    if on_stop is not None:
        on_stop()
    if signum:
        print(shutdown_line(signum), flush=True)
    return 0


def _best_family(host: str | None, port: int | str) -> tuple[socket.AddressFamily, Any]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, _type, _proto, _canonname, sockaddr = next(iter(infos))
    return family, sockaddr


def test(
    HandlerClass: type[Any] = BaseHTTPRequestHandler,
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
    :class:`~devserve.HTTPSServer` keywords.
    """
    ServerClass.address_family, address = _best_family(bind, port)
    HandlerClass.protocol_version = protocol
    if tls_cert:
        server = ServerClass(
            address, HandlerClass, certfile=tls_cert, keyfile=tls_key, password=tls_password
        )
    else:
        server = ServerClass(address, HandlerClass)
    with server as httpd:
        for line in serving_lines([httpd]):
            print(line)
        try:
            httpd.serve_forever()
        except KeyboardInterrupt:
            print("\nKeyboard interrupt received, exiting.")
            sys.exit(0)
