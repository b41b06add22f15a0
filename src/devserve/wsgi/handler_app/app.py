"""The WSGI application: a handler made for each call, as a socket server makes one."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from ...handler.base import BaseHTTPRequestHandler
from ...handler.connection import ConnectionHandler
from ...handler.defaults import DEVSERVE
from .connection import Connection, GivenConnection, make_rfile
from .request import (
    Refusal,
    ServerView,
    client_address,
    environ_request,
    refuse,
    request_body,
    request_head,
)  # fmt: skip
from .response import Response

__all__ = ["HandlerApp"]

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
    that manage a connection, without ``Trailer`` (trailers are dropped) and without
    ``Date`` and ``Server``, which are the WSGI
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
            return refuse(start_response, HTTPStatus.HTTP_VERSION_NOT_SUPPORTED)
        length = body = None
        if environ.get("CONTENT_LENGTH") or "HTTP_TRANSFER_ENCODING" in environ:
            try:
                length, body = request_body(environ, self._spool_limit())
            except Refusal as refusal:
                return refuse(start_response, refusal.status)
        errors = environ.get("wsgi.errors") or sys.stderr
        script_name = environ.get("SCRIPT_NAME", "")
        response = Response(start_response, environ.get("REQUEST_METHOD"), errors, script_name)
        try:
            if self._given:
                # devserve's handlers take the request parsed (devserve.handler.given),
                # checked by the core as lines read are (400 from the handler).
                request = environ_request(environ, version, length)
                rfile = make_rfile(b"", body, length, response)
                connection: Connection = GivenConnection(rfile, response, request)
            else:
                head = request_head(environ_request(environ, version, length))
                connection = Connection(make_rfile(head, body, length, response), response)
            self._serve(connection, client_address(environ), ServerView(environ))
        finally:
            if body is not None and body is not environ.get("wsgi.input"):
                body.close()  # the spool of a chunked body
        return response.finish()

    def _spool_limit(self) -> int:
        limit = self._body_limit
        return self.max_spooled_body if limit is None else limit

    def _serve(self, connection: Connection, address: Any, server: ServerView) -> None:
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
