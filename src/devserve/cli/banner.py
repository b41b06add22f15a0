"""What the command line prints when it starts: one banner, for every mode.

Rule 1: the first lines are :mod:`http.server`'s (``Serving HTTP on HOST port PORT
(URL) ...``), one per listening socket, so scripts that wait for them keep working;
what is served and which development features are on follow, one line each.
Rule 2: colour only where :func:`~devserve.dev.accesslog.color_enabled` allows it.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

from ..dev.accesslog import color_enabled, paint
from ..net.servers import HTTPServer
from .listen import url_host

__all__ = ["print_banner", "serving_lines"]

_BOLD = "\x1b[1m"
_CYAN = "\x1b[36m"


def serving_lines(servers: Sequence[HTTPServer], *, color: bool = False) -> list[str]:
    """The ``Serving HTTP on ...`` line of each server."""
    lines = []
    for server in servers:
        host, port = server.socket.getsockname()[:2]
        scheme = "HTTP" if server.ssl_context is None else "HTTPS"
        url = "%s://%s:%d/" % (scheme.lower(), url_host(host), port)
        lines.append("Serving %s on %s port %d (%s) ..." % (scheme, host, port,
                                                          paint(url, _CYAN, color)))  # fmt: skip
    return lines


def print_banner(
    servers: Sequence[HTTPServer],
    serving: tuple[str, str],
    notes: Sequence[str] = (),
    stream: TextIO | None = None,
) -> None:
    """Print the banner: the sockets, what is served (*serving*: a label and a name), notes."""
    stream = stream or sys.stdout
    color = color_enabled(stream)
    for line in serving_lines(servers, color=color):
        print(line, file=stream)
    label, name = serving
    print("%s %s - press Ctrl+C to stop" % (label, paint(name, _BOLD, color)), file=stream)
    for note in notes:
        print(note, file=stream)
    stream.flush()
