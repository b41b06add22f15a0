"""``devserve --app MODULE:NAME``: serve a WSGI application as the profile says.

Rule 1: the application is served with the same :class:`~devserve.cli.profile.Profile`
as a directory: the same handler defaults, access log, ``-q``, ``-H``, ``Host`` check,
bind addresses, start-up errors and exit codes; its ``--static`` mounts are files
handlers configured with the files options, in a :class:`~devserve.cli.mounts.MountTable`.
Rule 2: under ``--reload`` the parent binds, prints the banner and restarts children;
only children import the application (``flask run`` imports it in both, fl#5011).
Rule 3: an application that cannot be loaded ends devserve at the first start (one
error, as ``flask run``); after a successful start, a child that cannot load it answers
every request with the error (:func:`~devserve.cli.apploader.error_app`) until the next
save, so nothing waits.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from ..dev.reloader import (
    LOAD_FAILED_CODE,
    ChangeWatcher,
    inherited_sockets,
    is_first_start,
    is_running_from_reloader,
    restart_with_reloader,
    serve_until_changed,
)
from ..files.handler import SimpleHTTPRequestHandler
from ..wsgi.handler import WSGIHandler
from ..wsgi.server import WSGIServer
from . import devloop
from .apploader import AppLoadError, error_app, load_app
from .banner import print_banner
from .listen import listen
from .mounts import DirectoryMount, MountTable
from .profile import Profile, configured
from .runner import run, shutdown_line, start_threads, stop_all

if TYPE_CHECKING:
    from ..handler.hooks import Responder

__all__ = ["AppOptions", "serve_app"]


class AppOptions(NamedTuple):
    """What ``--app`` serves: the application and the options only it takes."""

    spec: str
    port: int = 8000
    reload: bool = False
    debug: bool = False
    static: Sequence[tuple[str, str]] = ()
    script_name: str = ""
    ssl_context: Any = None
    include: Sequence[str] = ("*.py",)
    exclude: Sequence[str] = ()
    livereload: bool = False
    open_page: bool = False
    env_files: Sequence[str] = ()
    env_tip: str | None = None


def serve_app(profile: Profile, options: AppOptions) -> int:
    """Serve the application *options* name until interrupted; return an exit status.

    Returns 0 after Ctrl+C, 1 when the application cannot be loaded.
    """
    child = options.reload and is_running_from_reloader()
    watched = [os.getcwd()]
    if options.livereload:
        watched += [directory for _prefix, directory in options.static]
    live = None
    responders: list[Responder] = []
    if options.livereload:
        from ..dev.livereload import LiveReload

        live = LiveReload(watched, options.include, options.exclude)
        responders.append(live)
    if options.static:
        mounts = [_mount(profile, prefix, directory, live) for prefix, directory in options.static]
        responders.append(MountTable(mounts))
    attributes = profile.handler_attributes() | {"responders": tuple(responders)}
    handler = configured(WSGIHandler, attributes)
    make = functools.partial(
        configured(WSGIServer, profile.server_attributes()),
        RequestHandlerClass=handler,
        script_name=options.script_name,
        ssl_context=options.ssl_context,
    )
    tls = options.ssl_context is not None
    if options.reload and not child:
        servers = listen(make, profile.bind, options.port, tls=tls)
        _announce(servers, options)
        try:
            return restart_with_reloader(
                [server.socket for server in servers], profile.grace, _say_stopped
            )
        finally:
            for server in servers:
                server.server_close()  # a Unix socket's file goes with the parent
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
    loaded = True
    try:
        app = load_app(options.spec)
    except AppLoadError as error:
        sys.stderr.write("devserve: %s\n" % error)
        if watcher is None or is_first_start():
            stop_all(servers)
            return LOAD_FAILED_CODE if watcher is not None else 1
        sys.stderr.write(" * Answering every request with this error until a change\n")
        app, loaded = error_app(error), False
    if options.debug and loaded:
        from ..dev.debugger import debug_app

        app = debug_app(app, [str(server.server_address[0]) for server in servers])
    if live is not None:
        from ..dev.injection import LiveReloadMiddleware

        app = LiveReloadMiddleware(app, live)
    for server in servers:
        server.set_app(app)
    if not child:
        _announce(servers, options)
    if watcher is not None:
        # The restart makes browsers reload (a new boot id); a change to
        # stylesheets only is swapped in place without one.
        return serve_until_changed(
            lambda: _start(servers), lambda: _stop(servers, live), watcher,
            on_change=_swap_stylesheets(live) if live is not None else None,
        )  # fmt: skip
    if live is not None:
        live.start()
    return run(servers, live.close if live is not None else None)


def _say_stopped(signum: int) -> None:
    print(shutdown_line(signum), flush=True)


def _start(servers: Sequence[WSGIServer]) -> None:
    start_threads(servers)


def _stop(servers: Sequence[WSGIServer], live: Any) -> None:
    if live is not None:
        live.close()  # event streams never end by themselves: end them first
    stop_all(servers)


def _mount(profile: Profile, prefix: str, directory: str, live: Any) -> DirectoryMount:
    attributes = profile.handler_attributes() | profile.files_attributes(directory)
    if live is not None:
        from ..dev.injection import PageScript

        attributes["page_transform"] = PageScript(live)
    return DirectoryMount(prefix, configured(SimpleHTTPRequestHandler, attributes))


def _swap_stylesheets(live: Any) -> Callable[[set[str]], bool]:
    def on_change(changed: set[str]) -> bool:
        if all(path.lower().endswith(".css") for path in changed):
            live.notify(changed)
            return True
        return False

    return on_change


def _announce(servers: Sequence[WSGIServer], options: AppOptions) -> None:
    notes = []
    if options.env_files:
        notes.append("Environment: loaded %s" % ", ".join(options.env_files))
    if options.env_tip:
        notes.append(options.env_tip)
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
    print_banner(servers, ("App", options.spec), notes)
    if options.open_page:
        devloop.open_page(servers[0])
