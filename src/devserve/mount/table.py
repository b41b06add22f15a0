"""A table of mounts: URL prefixes served by other handlers and applications, in the server.

Rule 1: a mount is served inside the server, by a handler made for the request that
reached it (:meth:`~devserve.BaseHTTPRequestHandler.for_request_of`), on its connection,
keep-alive loop, limits and log: files keep ``sendfile`` and their validators, CGI keeps
streaming, and nothing is dispatched as WSGI middleware.
Rule 2: the longest prefix wins; a prefix holds itself and what is below it
(:func:`~devserve.http11.target.below_prefix`), every method included.
Rule 3: a mounted handler sees the path below its prefix in ``path`` and the prefix in
``mount_prefix``; an application gets the prefix as ``SCRIPT_NAME`` and the rest as
``PATH_INFO``, as PEP 3333 says.
Rule 4: what a target is, is decided once, when it is mounted (:meth:`~devserve.MountTable.mount`):
devserve's handler classes are served as they are; :mod:`http.server`'s handler classes
and :func:`functools.partial` of any handler class run through
:class:`~devserve.HandlerApp`; a path is a directory for the files handler; anything
else callable is a WSGI application; a :class:`~devserve.proxy.handler.Proxy` is
forwarded to its backend by a :class:`~devserve.proxy.handler.ProxyHandler`.
"""

from __future__ import annotations

import functools
import os
import sys
import weakref
from collections.abc import Iterable
from typing import Any, NamedTuple

from ..files.handler import SimpleHTTPRequestHandler
from ..handler.base import BaseHTTPRequestHandler
from ..http11.target import below_prefix, check_prefix
from ..net.servers import HTTPServer
from ..proxy.handler import Proxy, ProxyHandler
from ..wsgi.handler import WSGIApplication, WSGIHandler
from ..wsgi.handler_app import HandlerApp
from ..wsgi.server import shared_environ

__all__ = ["Mount", "MountTable", "is_handler"]


class _Application:
    """An :class:`~devserve.wsgi.handler.ApplicationHost` for one mounted application."""

    def __init__(self, application: WSGIApplication, base_environ: dict[str, Any]) -> None:
        self.application = application
        self.base_environ = base_environ

    def get_app(self) -> WSGIApplication:
        return self.application


class Mount(NamedTuple):
    """What serves a prefix: a handler class, and for :class:`~devserve.WSGIHandler`
    the application it runs."""

    prefix: str
    handler_class: type[BaseHTTPRequestHandler]
    application: WSGIApplication | None = None
    #: The directory a files handler serves, when the table was given a path.
    directory: str | None = None
    #: The backend a proxy forwards to, when the table was given a :class:`~devserve.Proxy`.
    proxy: Proxy | None = None


class MountTable:
    """Serve each mount's prefix with its handler class or application.

    A :class:`~devserve.handler.hooks.Responder`: set it in a handler class's
    ``responders``; requests under no prefix go on to that handler::

        table = MountTable()
        table.mount("/api", api_app)              # a WSGI application
        table.mount("/static", "assets")          # a directory
        table.mount("/admin", AdminHandler)       # a handler class

        class Handler(SimpleHTTPRequestHandler):
            responders = (table,)

    *wsgi_handler* is the handler class that runs mounted applications;
    *files_handler* serves mounted directories.

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        mounts: Iterable[tuple[str, Any]] = (),
        *,
        wsgi_handler: type[WSGIHandler] = WSGIHandler,
        files_handler: type[SimpleHTTPRequestHandler] = SimpleHTTPRequestHandler,
    ) -> None:
        self.wsgi_handler = wsgi_handler
        self.files_handler = files_handler
        #: The mounts, longest prefix first.
        self.mounts: list[Mount] = []
        self._hosts: weakref.WeakKeyDictionary[Any, dict[str, _Application]] = (
            weakref.WeakKeyDictionary()
        )
        for prefix, target in mounts:
            self.mount(prefix, target)

    def mount(self, prefix: str, target: Any) -> Mount:
        """Serve *prefix* (``/api``) and the paths below it with *target*; return the mount.

        *target* is a handler class (devserve's, served as it is; :mod:`http.server`'s,
        or a :func:`functools.partial` of one, through :class:`~devserve.HandlerApp`), a
        directory (a :class:`str` or :class:`os.PathLike`, served by *files_handler*), a
        :class:`~devserve.Proxy` to a backend, or a WSGI application.  A prefix mounted
        again is replaced (a replaced :class:`~devserve.Proxy` is closed).  ``"/"``
        mounts a catch-all: every request under no other prefix goes to it, none to
        the handler.
        """
        prefix = "" if prefix == "/" else check_prefix(prefix)
        entry = self._entry(prefix, target)
        for mount in self.mounts:
            if mount.prefix == prefix and mount.proxy is not None and mount.proxy is not target:
                mount.proxy.close()
        self.mounts = [mount for mount in self.mounts if mount.prefix != prefix] + [entry]
        self.mounts.sort(key=lambda mount: len(mount.prefix), reverse=True)
        return entry

    def _entry(self, prefix: str, target: Any) -> Mount:
        if isinstance(target, (str, os.PathLike)):
            directory = os.path.abspath(os.fspath(target))
            if not os.path.isdir(directory):
                raise ValueError("cannot mount %r: not a directory" % os.fspath(target))
            return Mount(prefix, self.files_handler, directory=directory)
        if isinstance(target, Proxy):
            return Mount(prefix, ProxyHandler, proxy=target)
        if isinstance(target, type) and issubclass(target, BaseHTTPRequestHandler):
            return Mount(prefix, target)
        if is_handler(target):
            return Mount(prefix, self.wsgi_handler, HandlerApp(target))
        if not callable(target):
            raise TypeError("cannot mount %r: not a handler class, directory or WSGI app" % target)
        return Mount(prefix, self.wsgi_handler, target)

    def close(self) -> None:
        """Close what the mounts keep open: each proxy's idle connections to its backend.

        Call it once the servers that use the table are closed; the command line does.
        """
        for mount in self.mounts:
            if mount.proxy is not None:
                mount.proxy.close()

    def respond(self, handler: BaseHTTPRequestHandler) -> bool:
        """Serve *handler*'s request if a mount's prefix holds it; say whether one did."""
        target = handler.path
        for mount in self.mounts:
            if below_prefix(target, mount.prefix) is not None:
                self._serve(mount, handler)
                return True
        return False

    def _serve(self, mount: Mount, handler: BaseHTTPRequestHandler) -> None:
        mounted = mount.handler_class.for_request_of(handler, mount.prefix)
        if mount.application is not None and isinstance(mounted, WSGIHandler):
            mounted.application_host = self._host(mount, handler)
        elif mount.directory is not None and isinstance(mounted, SimpleHTTPRequestHandler):
            mounted.directory = mount.directory
        elif mount.proxy is not None and isinstance(mounted, ProxyHandler):
            mounted.proxy = mount.proxy
        mounted.answer_request()
        mounted.hand_back(handler)

    def _host(self, mount: Mount, handler: BaseHTTPRequestHandler) -> _Application:
        # The keys an application shares name the server that took the request: the
        # IPv4 and IPv6 servers of one command line each have their own.
        server = handler.server
        hosts = self._hosts.setdefault(server, {})
        host = hosts.get(mount.prefix)
        if host is None or host.application is not mount.application:
            assert mount.application is not None
            name, port = (
                (str(server.server_name), server.server_port)
                if isinstance(server, HTTPServer)
                else ("", 0)
            )
            base = shared_environ(name, port, mount.handler_class.server_version, mount.prefix)
            host = hosts[mount.prefix] = _Application(mount.application, base)
        return host


def is_handler(target: Any) -> bool:
    """Whether *target* is a request handler class, any module's, or a partial of one."""
    if isinstance(target, functools.partial):
        target = target.func
    if not isinstance(target, type):
        return False
    # http.server is loaded by whoever wrote a class of its: no need to load it here.
    stdlib = sys.modules.get("http.server")
    bases = (BaseHTTPRequestHandler,) if stdlib is None else (
        BaseHTTPRequestHandler, stdlib.BaseHTTPRequestHandler
    )  # fmt: skip
    return issubclass(target, bases)
