"""Serve a WSGI application from the command line: load, mount files, debug, reload.

Rule 1: :func:`serve_app` is the whole of ``devserve --app``; the command line only
parses options and calls it, so every behaviour here is testable without argparse.
Rule 2: under ``--reload`` the parent binds, prints the banner and restarts children;
only children import the application (``flask run`` imports it in both, fl#5011).
Rule 3: static mounts are served by the files handler itself, on the same connection,
keep-alive loop and limits as the application: only the path prefix decides.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Callable, Sequence
from typing import Any

from ..dev.hostcheck import HostCheckMixin
from ..dev.injection import LiveReloadMiddleware, LiveReloadWSGIMixin
from ..dev.livereload import LiveReload
from ..dev.reloader import (
    DEFAULT_EXCLUDE,
    DEFAULT_INCLUDE,
    inherited_sockets,
    is_running_from_reloader,
    restart_with_reloader,
    serve_until_changed,
)
from ..net.bounded import stop_on_signals
from ..wsgi.handler import WSGIHandler, WSGIServer
from .apploader import AppLoadError, load_app
from .devloop import browser_url, open_browser

__all__ = ["mount_static", "serve_app"]

_WILDCARDS = ("", "0.0.0.0", "::")


def mount_static(handler_class: type[WSGIHandler], mounts: Sequence[tuple[str, str]]) -> type:
    """Return a subclass of *handler_class* that serves files under URL prefixes.

    *mounts* are ``(prefix, directory)`` pairs, e.g. ``("/static", "assets")``:
    ``GET`` and ``HEAD`` requests for ``/static`` and below are answered from
    *directory* by :class:`devserve.files.handler.SimpleHTTPRequestHandler` (with ETags,
    ``no-cache`` revalidation, ranges and path containment); everything else goes
    to the application.

    .. versionadded:: 0.1
    """
    from ..files.handler import SimpleHTTPRequestHandler

    routes = []
    for prefix, directory in mounts:
        prefix = "/" + prefix.strip("/")
        directory = os.path.abspath(directory)
        if not os.path.isdir(directory):
            raise ValueError("cannot mount %r: %r is not a directory" % (prefix, directory))

        def translate_path(self: Any, path: str, _prefix: str = prefix) -> str:
            # The URL keeps its prefix (redirects and listings need it); files do not.
            rest = path.split("?", 1)[0].split("#", 1)[0][len(_prefix) :]
            return str(SimpleHTTPRequestHandler.translate_path(self, rest or "/"))

        files = type(
            "StaticFiles",
            (SimpleHTTPRequestHandler,),
            {"protocol_version": handler_class.protocol_version, "directory": directory,
             "translate_path": translate_path, "etags": True, "cache_control": "no-cache",
             "strict_paths": True, "serve_dotfiles": False, "allow_symlink_escape": False},
        )  # fmt: skip
        routes.append((prefix, files))

    def run_wsgi(self: Any) -> None:
        path = self.path.split("?", 1)[0]
        if self.command in ("GET", "HEAD"):
            for prefix, files in routes:
                if path == prefix or path.startswith(prefix + "/"):
                    _serve_files(self, files)
                    return
        handler_class.run_wsgi(self)

    return type(handler_class.__name__, (handler_class,), {"run_wsgi": run_wsgi})


def _serve_files(handler: Any, files: Any) -> None:
    # A files handler borrowing this connection's parsed request and streams: it is
    # never set up or run on its own, so it reads and writes nothing else.
    borrowed = files.__new__(files)
    borrowed.__dict__.update(handler.__dict__)
    borrowed.directory = files.directory
    # The command line's -H headers (cli._ExtraHeaders) go on files too.
    borrowed.response_headers = list(getattr(handler, "extra_headers", ())) or None
    getattr(borrowed, "do_" + handler.command)()
    handler.close_connection = borrowed.close_connection


def _adopt(server: Any, sock: socket.socket) -> None:
    """Make *server* serve on an already bound and listening *sock*."""
    server.socket.close()
    server.socket = sock
    server.server_address = sock.getsockname()
    host, port = server.server_address[:2]
    server.server_name = socket.gethostname() if host in _WILDCARDS else host
    server.server_port = port
    server.setup_environ()


def _server_class(tls: bool, family: socket.AddressFamily) -> type[WSGIServer]:
    bases: tuple[type, ...] = (WSGIServer,)
    if tls:
        from ..net.bounded import BoundedHTTPSServer

        bases = (WSGIServer, BoundedHTTPSServer)
    return type("WSGIServer", bases, {"address_family": family})


def serve_app(
    app_spec: str,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    reload: bool = False,
    debug: bool = False,
    static: Sequence[tuple[str, str]] = (),
    script_name: str = "",
    tls_cert: str | None = None,
    tls_key: str | None = None,
    tls_password: str | None = None,
    reload_paths: Sequence[str] = (),
    reload_include: Sequence[str] = DEFAULT_INCLUDE,
    reload_exclude: Sequence[str] = DEFAULT_EXCLUDE,
    handler_class: type[WSGIHandler] = WSGIHandler,
    livereload: bool = False,
    allowed_hosts: Sequence[str] | None = None,
    open_browser: bool = False,
) -> int:
    """Serve the application *app_spec* names until interrupted; return an exit status.

    *app_spec* is read by :func:`~devserve.cli.apploader.load_app`.  *static* mounts
    directories under URL prefixes (see :func:`mount_static`); *script_name* is
    the prefix the application itself is mounted under.  With *tls_cert* (and
    *tls_key*, *tls_password*) it serves HTTPS.  *debug* wraps the application in
    Werkzeug's debugger (:func:`~devserve.dev.debugger.debug_app`).  *reload* restarts the
    server when a file matching *reload_include* under the current directory or
    *reload_paths* changes, keeping the listening socket open.  Returns 0 after
    Ctrl+C, 1 when the application cannot be loaded, 2 when the address cannot
    be bound.  *livereload* puts the live-reload script into the application's
    pages and makes browsers reload after a restart or a change (stylesheets are
    swapped without either).  *allowed_hosts*, unless ``None``, turns the ``Host``
    check on (see :mod:`devserve.dev.hostcheck`).  *open_browser* opens the page.

    .. versionadded:: 0.1
    """
    child = reload and is_running_from_reloader()
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    server_class = _server_class(tls_cert is not None, family)
    tls: dict[str, Any] = {}
    if tls_cert:
        tls = {"certfile": tls_cert, "keyfile": tls_key, "password": tls_password}
    watched = [os.getcwd(), *reload_paths]
    if reload and not child:
        try:
            listener = server_class((host, port), WSGIHandler, script_name=script_name, **tls)
        except OSError as error:
            sys.stderr.write("devserve: cannot listen on %s:%d: %s\n" % (host, port, error))
            return 2
        _banner(listener, app_spec, tls_cert is not None, debug, reload, livereload)
        if open_browser:
            _open(listener, tls_cert is not None)
        return restart_with_reloader([listener.socket])

    try:
        app = load_app(app_spec)
    except AppLoadError as error:
        sys.stderr.write("devserve: %s\n" % error)
        if child:
            sys.stderr.write(" * Waiting for a change to restart\n")
            return serve_until_changed(None, lambda: None, watched, reload_include, reload_exclude)
        return 1
    if livereload:
        watched += [directory for _prefix, directory in static]
    live = LiveReload(watched, reload_include, reload_exclude)
    handler = _dev_handler(handler_class, live if livereload else None, allowed_hosts)
    handler = mount_static(handler, static) if static else handler
    sockets = inherited_sockets() if child else []
    try:
        server = server_class((host, port), handler, not sockets, script_name=script_name, **tls)
    except OSError as error:
        sys.stderr.write("devserve: cannot listen on %s:%d: %s\n" % (host, port, error))
        return 2
    if sockets:
        _adopt(server, sockets[0])
    if debug:
        from ..dev.debugger import debug_app

        app = debug_app(app, [host])
    if livereload:
        app = LiveReloadMiddleware(app, live)
    server.set_app(app)
    if not child:
        _banner(server, app_spec, tls_cert is not None, debug, reload, livereload)
        if open_browser:
            _open(server, tls_cert is not None)
    with server:
        if reload:
            # The restart makes browsers reload (a new boot id); a change to
            # stylesheets only is swapped in place without one.
            return serve_until_changed(
                server.serve_forever, server.shutdown, watched, reload_include, reload_exclude,
                on_change=_swap_stylesheets(live) if livereload else None,
            )  # fmt: skip
        if livereload:
            live.start()
        try:
            with stop_on_signals([server]):
                server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            live.close()
    return 0


def _dev_handler(
    handler_class: type[WSGIHandler],
    livereload: LiveReload | None,
    allowed_hosts: Sequence[str] | None,
) -> type[WSGIHandler]:
    mixins: tuple[type, ...] = ()
    if allowed_hosts is not None:
        mixins += (HostCheckMixin,)
    if livereload is not None:
        mixins += (LiveReloadWSGIMixin,)
    if not mixins:
        return handler_class
    attributes: dict[str, Any] = {"livereload": livereload}
    if allowed_hosts is not None:
        attributes["allowed_hosts"] = tuple(allowed_hosts)
    return type(handler_class.__name__, (*mixins, handler_class), attributes)


def _swap_stylesheets(live: LiveReload) -> Callable[[set[str]], bool]:
    def on_change(changed: set[str]) -> bool:
        if all(path.lower().endswith(".css") for path in changed):
            live.notify(changed)
            return True
        return False

    return on_change


def _open(server: Any, tls: bool) -> None:
    host, port = server.socket.getsockname()[:2]
    open_browser(browser_url(host, port, "https" if tls else "http"))


def _banner(
    server: Any, app_spec: str, tls: bool, debug: bool, reload: bool, livereload: bool = False
) -> None:
    host, port = server.socket.getsockname()[:2]
    url_host = "[%s]" % host if ":" in host else host
    scheme = "https" if tls else "http"
    print(" * Serving WSGI app %r" % app_spec)
    print(" * Running on %s://%s:%d/ (press Ctrl+C to quit)" % (scheme, url_host, port))
    if reload:
        print(" * Restarting on changes (WERKZEUG_RUN_MAIN protocol)")
    if livereload:
        print(" * Live reload: on")
    if debug:
        print(" * Debug mode: on")
    sys.stdout.flush()
