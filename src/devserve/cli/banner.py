"""What the command line prints when it starts: one banner, for every mode.

Rule 1: the first lines are :mod:`http.server`'s (``Serving HTTP on HOST port PORT
(URL) ...``), one per listening socket, so scripts that wait for them keep working;
what is served and which development features are on follow, one line each.
Rule 2: colour only where :func:`~devserve.dev.accesslog.color_enabled` allows it.
Rule 3: a Unix socket's line names its path and the ``curl --unix-socket`` that reaches
it; a wildcard's line is followed by the URLs to open (``Local:`` on this machine,
``Network:`` from others, as Vite prints them), from
:func:`~devserve.net.interfaces.machine_addresses`, and by none when none is found.
"""

from __future__ import annotations

import os
import shlex
import socket
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from ..dev.accesslog import color_enabled, paint
from ..net.interfaces import machine_addresses
from ..net.servers import WILDCARD_HOSTS, HTTPServer
from .listen import browser_url, url_host

__all__ = ["network_lines", "print_banner", "serving_lines"]

_BOLD = "\x1b[1m"
_CYAN = "\x1b[36m"


def serving_lines(servers: Sequence[HTTPServer], *, color: bool = False) -> list[str]:
    """The ``Serving HTTP on ...`` line of each server."""
    lines = []
    for server in servers:
        scheme = "HTTP" if server.ssl_context is None else "HTTPS"
        if server.socket.family == socket.AF_UNIX:
            path = os.fsdecode(server.socket.getsockname())
            url = "%s://localhost/" % scheme.lower()
            hint = paint("curl --unix-socket %s %s" % (shlex.quote(path), url), _CYAN, color)
            lines.append("Serving %s on unix:%s (%s) ..." % (scheme, path, hint))
            continue
        host, port = server.socket.getsockname()[:2]
        url = "%s://%s:%d/" % (scheme.lower(), url_host(host), port)
        lines.append("Serving %s on %s port %d (%s) ..." % (scheme, host, port,
                                                          paint(url, _CYAN, color)))  # fmt: skip
    return lines


def network_lines(
    host: str, port: int, scheme: str, found: Sequence[str], *, color: bool = False
) -> list[str]:
    """The URLs to open for a server bound to the wildcard *host*: this machine's, then
    one for each address in *found* that *host* listens on (IPv4 only for ``0.0.0.0``).
    """
    if host not in WILDCARD_HOSTS:
        return []
    lines = ["  Local:   %s" % paint(browser_url(host, port, scheme), _CYAN, color)]
    for address in found:
        if host == "0.0.0.0" and ":" in address:
            continue
        url = "%s://%s:%d/" % (scheme, url_host(address), port)
        lines.append("  Network: %s" % paint(url, _CYAN, color))
    return lines


def _urls_to_open(
    servers: Sequence[HTTPServer], color: bool, discover: Callable[[], list[str]]
) -> list[str]:
    lines: list[str] = []
    found: list[str] | None = None
    for server in servers:
        if server.socket.family == socket.AF_UNIX:
            continue
        host, port = server.socket.getsockname()[:2]
        if host in WILDCARD_HOSTS:
            found = discover() if found is None else found
            scheme = "http" if server.ssl_context is None else "https"
            lines += network_lines(host, port, scheme, found, color=color)
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
    for line in _urls_to_open(servers, color, machine_addresses):
        print(line, file=stream)
    label, name = serving
    print("%s %s - press Ctrl+C to stop" % (label, paint(name, _BOLD, color)), file=stream)
    for note in notes:
        print(note, file=stream)
    stream.flush()
