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
from typing import Any

from ..files.handler import SimpleHTTPRequestHandler
from ..net.bounded import BoundedHTTPServer
from ..net.servers import HTTPServer, ThreadingHTTPServer
from . import devloop
from .banner import print_banner
from .listen import listen
from .profile import Profile, UsageError, configured
from .runner import run

__all__ = ["serve_files"]


def serve_files(
    profile: Profile,
    *,
    directory: str | None,
    port: int,
    cgi: bool,
    ssl_context: Any = None,
    livereload_patterns: tuple[tuple[str, ...], tuple[str, ...]] | None = None,
    open_page: bool = False,
) -> int:
    """Serve *directory* until interrupted; return the exit status.

    *livereload_patterns* (include, exclude) turns live reload on.
    """
    root = os.path.abspath(directory or os.getcwd())
    if not os.path.isdir(root):
        raise UsageError("cannot serve %r: not a directory" % (directory or root))
    base: type[SimpleHTTPRequestHandler] = SimpleHTTPRequestHandler
    if cgi:
        from ..cgi.handler import CGIHTTPRequestHandler

        base = CGIHTTPRequestHandler
    attributes = profile.handler_attributes() | profile.files_attributes(root)
    live = None
    if livereload_patterns is not None:
        from ..dev.injection import PageScript
        from ..dev.livereload import LiveReload

        live = LiveReload([root], *livereload_patterns)
        attributes.update(page_transform=PageScript(live), responders=(live,))
    handler = configured(base, attributes)
    server_class: type[HTTPServer] = (
        ThreadingHTTPServer
        if profile.compat
        else configured(BoundedHTTPServer, profile.server_attributes())
    )
    make = functools.partial(server_class, RequestHandlerClass=handler, ssl_context=ssl_context)
    servers = listen(make, profile.bind, port, tls=ssl_context is not None)
    notes = []
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
    return run(servers, live.close if live is not None else None)
