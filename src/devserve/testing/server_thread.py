"""A server you can drive from tests and scripts: start, wait until ready, stop, join.

Rule: when :meth:`ServerThread.stop` returns, the listening socket is closed and every
thread the server started has exited, idle persistent connections included (Werkzeug
removed the shutdown function its users relied on for this).
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any

from ..handler.base import BaseHTTPRequestHandler
from ..net.servers import HTTPServer, ThreadingHTTPServer

__all__ = ["ServerThread", "serve_in_thread"]


class ServerThread:
    """A server serving in a background thread; a context manager.

    :attr:`url` is the base URL (``http://127.0.0.1:PORT``), :attr:`host` and
    :attr:`port` where it listens, :attr:`server` the server object.

    .. versionadded:: 0.1
    """

    def __init__(self, server: Any, *, poll_interval: float = 0.05) -> None:
        self.server = server
        self.host, self.port = server.server_address[:2]
        host = "[%s]" % self.host if ":" in self.host else self.host
        tls = isinstance(server, HTTPServer) and server.ssl_context is not None
        scheme = "https" if tls else "http"
        self.url = "%s://%s:%d" % (scheme, host, self.port)
        self._poll_interval = poll_interval
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": poll_interval},
            name="devserve-serve-forever",
            daemon=True,
        )

    def start(self) -> ServerThread:
        """Start serving; the socket already listens, so the server is ready on return."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, end open connections, close the socket and join every thread."""
        if self._thread.is_alive():
            self.server.shutdown()
        server = self.server
        if isinstance(server, HTTPServer):
            server.close_connections()
        server.server_close()
        if isinstance(server, HTTPServer):
            server.join_threads()
        if self._thread.ident is not None:
            self._thread.join()

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def serve_in_thread(
    app_or_handler: Any,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    server_class: Any = None,
    handler_class: Any = None,
) -> ServerThread:
    """Serve a handler class or a WSGI application in a background thread.

    *app_or_handler* is a :class:`BaseHTTPRequestHandler` subclass (served by
    :class:`ThreadingHTTPServer`) or a WSGI callable (served by
    :func:`devserve.make_server`, with *handler_class* if given).  Port 0 picks a
    free port; *server_class* replaces the server's class.  Use it as a context
    manager::

        with devserve.serve_in_thread(app) as server:
            urllib.request.urlopen(server.url + "/")

    .. versionadded:: 0.1
    """
    if isinstance(app_or_handler, type) and issubclass(app_or_handler, BaseHTTPRequestHandler):
        server = (server_class or ThreadingHTTPServer)((host, port), app_or_handler)
    elif callable(app_or_handler):
        from ..wsgi.server import make_server

        options: dict[str, Any] = {}
        if server_class is not None:
            options["server_class"] = server_class
        if handler_class is not None:
            options["handler_class"] = handler_class
        server = make_server(host, port, app_or_handler, **options)
    else:
        raise TypeError(
            "serve_in_thread() needs a BaseHTTPRequestHandler subclass or a WSGI "
            "callable, not %r" % (app_or_handler,)
        )
    return ServerThread(server)
