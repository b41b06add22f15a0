"""``devserve [PORT] -d DIR``: serve a directory (and its CGI scripts) as the profile says.

Rule 1: the handler is the files handler (or the CGI handler with ``--cgi``), configured
from the :class:`~devserve.cli.profile.Profile`; live reload reaches it only through its
hooks (the event stream as a responder, pages through ``page_transform``), so CGI
output and every other response pass untouched.
Rule 2: devserve's bounded server serves it, unless ``--compat`` asks for
:mod:`http.server`'s thread per connection.
"""

from __future__ import annotations

import functools
import os
import shlex
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..files.handler import SimpleHTTPRequestHandler
from ..net.bounded import BoundedHTTPServer
from ..net.servers import HTTPServer, ThreadingHTTPServer
from . import devloop
from .banner import print_banner
from .listen import listen
from .mounts import CGI, DIRECTORY, MountSpec, mount_all
from .profile import Profile, UsageError, configured
from .runner import run

if TYPE_CHECKING:
    from ..dev.livereload import LiveReload
    from ..handler.hooks import Responder

__all__ = ["directory_handler", "serve_files", "served_root"]


def served_root(directory: str | None) -> str:
    """The absolute path of the directory ``-d`` names (the current one without it)."""
    root = os.path.abspath(directory or os.getcwd())
    if not os.path.isdir(root):
        raise UsageError("cannot serve %r: not a directory" % (directory or root))
    return root


def directory_handler(
    profile: Profile,
    directory: str,
    cgi: bool = False,
    *,
    mounted: bool = False,
    live: LiveReload | None = None,
    responders: Sequence[Responder] = (),
) -> type[SimpleHTTPRequestHandler]:
    """The handler class that serves *directory* (its CGI scripts with *cgi*) as the
    profile says, at the root or under a mount.

    With *cgi*, the root's handler runs the scripts in ``cgi-bin/`` and a *mounted*
    one every script in *directory*.  With *live*, pages get live reload's script.
    """
    base: type[SimpleHTTPRequestHandler] = SimpleHTTPRequestHandler
    attributes = profile.handler_attributes() | profile.files_attributes(directory)
    if cgi:
        from ..cgi.handler import CGIHTTPRequestHandler

        base = CGIHTTPRequestHandler
        if mounted:
            attributes["cgi_directories"] = [""]
    if live is not None:
        from ..dev.injection import PageScript

        attributes["page_transform"] = PageScript(live)
    attributes["responders"] = tuple(responders)
    return configured(base, attributes)


def mounted_directories(
    profile: Profile, live: LiveReload | None
) -> Callable[[str, bool], type[SimpleHTTPRequestHandler]]:
    """What makes the handler class of a mounted directory, for :func:`mount_all`."""
    return functools.partial(directory_handler, profile, mounted=True, live=live)


def _close_all(closing: Sequence[Callable[[], None]]) -> None:
    for close in closing:
        close()


def serve_files(
    profile: Profile,
    *,
    directory: str | None,
    port: int,
    cgi: bool,
    ssl_context: Any = None,
    livereload_patterns: tuple[tuple[str, ...], tuple[str, ...]] | None = None,
    open_page: bool = False,
    mounts: Sequence[MountSpec] = (),
) -> int:
    """Serve *directory* until interrupted; return the exit status.

    *livereload_patterns* (include, exclude) turns live reload on; *mounts* are
    directories (and CGI directories) served under their prefixes.
    """
    root = served_root(directory)
    live = None
    responders: list[Responder] = []
    if livereload_patterns is not None:
        from ..dev.livereload import LiveReload

        folders = [spec.target for spec in mounts if spec.kind in (DIRECTORY, CGI)]
        live = LiveReload([root, *folders], *livereload_patterns)
        responders.append(live)
    closing: list[Callable[[], None]] = [] if live is None else [live.close]
    if mounts:
        from ..mount.table import MountTable

        table = MountTable()
        mount_all(table, mounts, mounted_directories(profile, live))
        responders.append(table)
        closing.append(table.close)  # its proxies' connections to their backends
    handler = directory_handler(profile, root, cgi, live=live, responders=responders)
    server_class: type[HTTPServer] = (
        ThreadingHTTPServer
        if profile.compat
        else configured(BoundedHTTPServer, profile.server_attributes())
    )
    make = functools.partial(server_class, RequestHandlerClass=handler, ssl_context=ssl_context)
    servers = listen(make, profile.bind, port, tls=ssl_context is not None)
    notes = ["Mount: %s" % (spec,) for spec in mounts]
    if live is not None:
        # Started before the banner: whoever waits for it may edit a file at once.
        live.start()
        notes.append("Live reload: watching %s" % root)
    flask_app = os.environ.get("FLASK_APP")
    if flask_app:
        # flask's variable is not a mode switch here: say what would serve it.
        notes.append("FLASK_APP is set: to serve that application, run devserve --app %s"
                     % shlex.quote(flask_app))  # fmt: skip
    print_banner(servers, ("Directory", root), notes)
    if open_page:
        devloop.open_page(servers[0])
    return run(servers, functools.partial(_close_all, closing))
