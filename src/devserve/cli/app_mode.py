"""``devserve --app MODULE:NAME`` (or a mounted Python target): serve Python code.

Rule 1: the application is served with the same :class:`~devserve.cli.profile.Profile`
as a directory: the same handler defaults, access log, ``-q``, ``-H``, ``Host`` check,
bind addresses, start-up errors and exit codes; its mounts are a
:class:`~devserve.MountTable`, directories in it served with the files options.
Without ``--app``, the directory is the root.
Rule 2: under ``--reload`` the parent binds, prints the banner and restarts children;
only children import the application and the mounted targets (``flask run`` imports
it in both, fl#5011).
Rule 3: an application or a mounted target that cannot be loaded ends devserve at the
first start (one error, as ``flask run``); after a successful start, a child that
cannot load them answers every request under no directory mount with the error
(:func:`~devserve.cli.apploader.error_app`) until the next save, so nothing waits."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from ..dev.django_static import django_static
from ..dev.reloader import (
    LOAD_FAILED_CODE,
    ChangeWatcher,
    inherited_sockets,
    is_first_start,
    is_running_from_reloader,
    restart_with_reloader,
    serve_until_changed,
)
from ..dev.spare import await_turn
from ..handler.base import BaseHTTPRequestHandler
from ..mount.table import MountTable, is_handler
from ..wsgi.handler import WSGIHandler
from ..wsgi.handler_app import HandlerApp
from ..wsgi.server import WSGIServer
from . import devloop
from .apploader import AppLoadError, error_app, load_app, load_target
from .banner import print_banner
from .files_mode import directory_handler, mounted_directories, served_root
from .listen import listen
from .mounts import CGI, DIRECTORY, PYTHON, MountSpec, mount_all, python_mounts
from .profile import Profile, configured
from .runner import run, shutdown_line, start_threads, stop_all

if TYPE_CHECKING:
    from ..dev.livereload import LiveReload
    from ..handler.hooks import Responder

__all__ = ["AppOptions", "serve_app"]


class AppOptions(NamedTuple):
    """What app mode serves: the application (or a directory) at the root, its mounts,
    and the options only it takes."""

    #: The ``--app`` value, or ``None`` when a directory is the root.
    spec: str | None
    port: int = 8000
    reload: bool = False
    debug: bool = False
    #: ``--mount`` and ``--static``, in the order given.
    mounts: Sequence[MountSpec] = ()
    script_name: str = ""
    ssl_context: Any = None
    include: Sequence[str] = ("*.py",)
    exclude: Sequence[str] = ()
    livereload: bool = False
    open_page: bool = False
    env_files: Sequence[str] = ()
    env_tip: str | None = None
    #: The root directory (``-d``) when there is no ``--app``, and whether it runs CGI.
    directory: str | None = None
    cgi: bool = False


def _mount_django_static(table: MountTable, app: Any, mounted: Sequence[str]) -> list[str]:
    """Serve a Django project's static files where its pages link to them, as runserver.

    Return the banner's note, if there is one.
    """
    static = django_static(app, mounted)
    if static.app is None:
        return [static.note] if static.note else []
    try:
        table.mount(static.prefix, static.app)
    except ValueError as error:  # a STATIC_URL no path prefix can be (%, //)
        return ["Static files: not served (%s)" % error]
    return [static.note] if static.note else []


def _close(table: MountTable, live: LiveReload | None) -> None:
    """End what serving keeps open: live reload's watcher, the mounts' proxies."""
    if live is not None:
        live.close()
    table.close()


def serve_app(profile: Profile, options: AppOptions) -> int:
    """Serve the application *options* name until interrupted; return an exit status.

    Returns 0 after Ctrl+C, 1 when the application cannot be loaded.
    """
    child = options.reload and is_running_from_reloader()
    root = None if options.spec else served_root(options.directory)
    watched = [os.getcwd()]
    if options.livereload:
        watched += [spec.target for spec in options.mounts if spec.kind in (DIRECTORY, CGI)]
        if root is not None:
            watched.append(root)
    live = None
    responders: list[Responder] = []
    if options.livereload:
        from ..dev.livereload import LiveReload

        live = LiveReload(watched, options.include, options.exclude)
        responders.append(live)
    wsgi_handler = configured(WSGIHandler, profile.handler_attributes())
    # Filled once the application is loaded; until then (and in the reloader's
    # parent) it mounts nothing.
    # Always a responder: a child may have to answer everything with an error, and a
    # Django project adds its static files to it once it is loaded.
    table = MountTable(wsgi_handler=wsgi_handler)
    responders.append(table)
    if root is None:
        handler: type[BaseHTTPRequestHandler] = configured(
            WSGIHandler, profile.handler_attributes() | {"responders": tuple(responders)}
        )
    else:
        handler = directory_handler(profile, root, options.cgi, live=live, responders=responders)
    make = functools.partial(
        configured(WSGIServer, profile.server_attributes()),
        RequestHandlerClass=handler,
        script_name=options.script_name,
        ssl_context=options.ssl_context,
    )
    tls = options.ssl_context is not None
    if options.reload and not child:
        servers = listen(make, profile.bind, options.port, tls=tls)
        _announce(servers, options, root)
        try:
            return restart_with_reloader(
                [server.socket for server in servers], profile.grace, _say_stopped
            )
        finally:
            for server in servers:
                server.server_close()  # a Unix socket's file goes with the parent
    if child:
        await_turn(options.env_files)  # a spare: until the parent says go
    sockets = inherited_sockets() if child else []
    if sockets:
        servers = []
        for sock in sockets:
            server = make(sock.getsockname(), bind_and_activate=False)
            server.adopt_socket(sock)
            servers.append(server)
    else:
        servers = listen(make, profile.bind, options.port, tls=tls)
    # Watching starts before the import: a file saved while it runs is seen.
    watcher = ChangeWatcher(watched, options.include, options.exclude).start() if child else None
    hosts = [str(server.server_address[0]) for server in servers]
    prepare = functools.partial(_prepared, debug=options.debug, hosts=hosts, live=live)
    static_notes: list[str] = []
    # Directories first: they serve even while the application cannot be loaded.
    directories = [spec for spec in options.mounts if spec.kind != PYTHON]
    mount_all(table, directories, mounted_directories(profile, live))
    try:
        app = load_app(options.spec) if options.spec else None
        mounted = [spec.prefix for spec in options.mounts]
        for spec in python_mounts(options.mounts):
            target = load_target(spec.target)
            others = [prefix for prefix in mounted if prefix != spec.prefix]
            static_notes += _mount_django_static(table, target, others)
            table.mount(spec.prefix, prepare(target))
    except AppLoadError as error:
        sys.stderr.write("devserve: %s\n" % error)
        if watcher is None or is_first_start():
            stop_all(servers)
            return LOAD_FAILED_CODE if watcher is not None else 1
        sys.stderr.write(" * Answering every request with this error until a change\n")
        # Under every prefix that did not load, the root included.
        app = prepare(error_app(error), debug=False, report=False)
        table.mount("/", app)
        if live is not None:
            live.report_failure(error.failure())  # shown over the open pages
    else:
        if app is not None:
            # Before the debugger: runserver serves static files around the project.
            static_notes += _mount_django_static(table, app, mounted)
            app = prepare(app)
    for server in servers:
        if app is not None:
            server.set_app(app)
    if not child:
        _announce(servers, options, root, static_notes)
    elif static_notes and is_first_start():
        print("\n".join(static_notes), flush=True)  # the parent's banner could not know it
    if watcher is not None:
        # The restart makes browsers reload (a new boot id); a change to
        # stylesheets only is swapped in place without one.
        return serve_until_changed(
            lambda: _start(servers), lambda: _stop(servers, live), watcher,
            on_change=_swap_stylesheets(live) if live is not None else None, servers=servers,
        )  # fmt: skip
    if live is not None:
        live.start()
    return run(servers, functools.partial(_close, table, live))


def _prepared(
    target: Any,
    *,
    debug: bool,
    hosts: Sequence[str],
    live: LiveReload | None,
    report: bool = True,
) -> Any:
    r"""*target* as it is served: an application under the debugger and live reload.

    devserve's handler classes are served as they are; :mod:`http.server`'s (and
    partials) become applications first, so the debugger sees their errors too.
    With live reload, *report* and no debugger (whose page shows the error), the
    application's 500s are shown over the open pages.
    """
    if isinstance(target, type) and issubclass(target, BaseHTTPRequestHandler):
        return target
    app = HandlerApp(target) if is_handler(target) else target
    if debug:
        from ..dev.debugger import debug_app

        app = debug_app(app, hosts)
    if live is not None:
        from ..dev.injection import LiveReloadMiddleware

        if report and not debug:
            from ..dev.overlay import ReportFailures

            app = ReportFailures(app, live)
        app = LiveReloadMiddleware(app, live)
    return app


def _say_stopped(signum: int) -> None:
    print(shutdown_line(signum), flush=True)


def _start(servers: Sequence[WSGIServer]) -> None:
    start_threads(servers)


def _stop(servers: Sequence[WSGIServer], live: Any) -> None:
    if live is not None:
        live.close()  # event streams never end by themselves: end them first
    stop_all(servers)


def _swap_stylesheets(live: Any) -> Callable[[set[str]], bool]:
    def on_change(changed: set[str]) -> bool:
        if all(path.lower().endswith(".css") for path in changed):
            live.notify(changed)
            return True
        return False

    return on_change


def _announce(
    servers: Sequence[WSGIServer],
    options: AppOptions,
    root: str | None,
    static_notes: Sequence[str] = (),
) -> None:
    notes = ["Mount: %s" % (spec,) for spec in options.mounts]
    if options.env_files:
        notes.append("Environment: loaded %s" % ", ".join(options.env_files))
    if options.env_tip:
        notes.append(options.env_tip)
    notes += static_notes
    if options.reload:
        notes.append("Reload: restarting on changes (WERKZEUG_RUN_MAIN protocol)")
        if not devloop.installed("watchfiles"):
            notes.append(
                "Reload: polling for changes twice a second; pip install watchfiles "
                "for file-system events"
            )
    if options.livereload:
        notes.append("Live reload: on")
    if options.debug:
        notes.append("Debug mode: on")
    print_banner(
        servers, ("App", options.spec or "") if root is None else ("Directory", root), notes
    )
    if options.open_page:
        devloop.open_page(servers[0])
