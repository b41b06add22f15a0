"""WSGIServer and make_server: one WSGI application on devserve's bounded server.

Rule 1: the server holds what every request shares (:attr:`~devserve.WSGIServer.base_environ`)
and the application; everything about one request is the handler's.
Rule 2: this module has :mod:`wsgiref.simple_server`'s names (``WSGIServer``,
``WSGIRequestHandler``, ``make_server``), so code written for it needs only its import
changed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..handler.base import BaseHTTPRequestHandler
from ..handler.defaults import DEVSERVE
from ..net.bounded import BoundedHTTPServer
from .file_wrapper import FileWrapper
from .handler import WSGIApplication, WSGIHandler, WSGIRequestHandler

__all__ = ["WSGIRequestHandler", "WSGIServer", "make_server"]


class WSGIServer(BoundedHTTPServer):
    """An HTTP server that runs one WSGI application, like :mod:`wsgiref`'s.

    It is a :class:`~devserve.net.bounded.BoundedHTTPServer`: idle connections wait without a
    thread, requests are served by a bounded pool of threads (long-running ones get a
    thread of their own), and :meth:`~devserve.net.bounded.BoundedHTTPServer.shutdown` lets
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

    def adopt_socket(self, sock: Any) -> None:
        """Serve on *sock*, already listening; rebuild :attr:`base_environ` for it."""
        super().adopt_socket(sock)
        self.setup_environ()

    def setup_environ(self) -> None:
        """Build :attr:`base_environ` from the server's name, port and settings."""
        handler_class = self.RequestHandlerClass
        if isinstance(handler_class, type) and issubclass(handler_class, BaseHTTPRequestHandler):
            software = handler_class.server_version
        else:
            software = DEVSERVE.server_version
        self.base_environ = shared_environ(
            str(self.server_name), self.server_port, software, self.script_name,
            multithread=self.multithread, multiprocess=self.multiprocess,
        )  # fmt: skip

    def get_app(self) -> WSGIApplication:
        """Return the application :meth:`set_app` set."""
        if self.application is None:
            raise RuntimeError("no WSGI application: call set_app() first")
        return self.application

    def set_app(self, application: WSGIApplication) -> None:
        """Set the WSGI application to serve."""
        self.application = application


def shared_environ(
    server_name: str,
    server_port: int,
    software: str,
    script_name: str = "",
    *,
    multithread: bool = True,
    multiprocess: bool = False,
) -> dict[str, Any]:
    """Return the environ keys every request shares, for an application mounted at
    *script_name* (``""``: the root) on the server bound to *server_name* and *server_port*.

    .. versionadded:: 0.1
    """
    return {
        "SERVER_NAME": server_name,
        "SERVER_PORT": str(server_port),
        "SERVER_SOFTWARE": software,
        "GATEWAY_INTERFACE": "CGI/1.1",
        "SCRIPT_NAME": script_name,
        "wsgi.multithread": multithread,
        "wsgi.multiprocess": multiprocess,
        "wsgi.file_wrapper": FileWrapper,
    }


def make_server(
    host: str,
    port: int,
    app: WSGIApplication,
    server_class: type[WSGIServer] = WSGIServer,
    handler_class: type[BaseHTTPRequestHandler] = WSGIHandler,
) -> WSGIServer:
    """Return a server for *app* on *host* and *port*, as :func:`wsgiref.simple_server.make_server`.

    Unlike :mod:`wsgiref`, the server serves many connections at once on a bounded
    pool of threads, speaks HTTP/1.1 with strict parsing and timeouts (devserve's
    defaults, :data:`~devserve.handler.defaults.DEVSERVE`), and an IPv6 *host* (one
    holding ``:``) is bound as one.

    .. versionadded:: 0.1
    """
    server = server_class((host, port), handler_class)
    server.set_app(app)
    return server
