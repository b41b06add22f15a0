"""Where the command line listens: the addresses, the sockets, and what a failure says.

Rule 1: both modes listen alike: on 127.0.0.1 and ::1 unless ``-b`` names an address
(``-b 0.0.0.0`` shares on the network), each server on its own socket, the second
loopback family optional (a machine without IPv6 loses only that line).
Rule 2: a socket that cannot be opened is one line and exit status 1, with a hint
where there is one (a port in use): :exc:`StartupError`.
Rule 3: hosts are written the one way URLs need them (:func:`url_host`): ``[::1]``.
Rule 4: ``-b unix:PATH`` and ``-b unix://PATH`` (gunicorn's and Werkzeug's spellings)
listen on a Unix socket at the absolute PATH instead, and the port is not used; what
happens to the socket file is :mod:`devserve.net.unix`'s to say.
"""

from __future__ import annotations

import errno
import os
import socket
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from ..net.servers import WILDCARD_HOSTS, HTTPServer
from .profile import UsageError

__all__ = [
    "StartupError",
    "addresses",
    "browser_url",
    "listen",
    "unix_path",
    "url_host",
    "where",
]

Server = TypeVar("Server", bound=HTTPServer)


class StartupError(Exception):
    """The server could not start: reported in one line, exit status 1."""


def url_host(host: str) -> str:
    """Return *host* as a URL's authority writes it: an IPv6 address in brackets."""
    return "[%s]" % host if ":" in host and not host.startswith("[") else host


def browser_url(host: str, port: int, scheme: str) -> str:
    """The URL to open for a server bound to *host*: a wildcard means this machine."""
    if host in WILDCARD_HOSTS:
        host = "::1" if host == "::" else "127.0.0.1"
    return "%s://%s:%d/" % (scheme, url_host(host), port)


def unix_path(bind: str | None) -> str | None:
    """The absolute path *bind* names with ``unix:PATH`` or ``unix://PATH``, else ``None``."""
    if bind is None or not bind.startswith("unix:"):
        return None
    path = bind[len("unix:") :]
    if path.startswith("//"):
        path = path[2:]  # unix:///tmp/x is unix:// and /tmp/x, as Werkzeug reads it
    if not path:
        raise UsageError("cannot bind %r: no path after unix:" % bind)
    return os.path.abspath(path)


def where(address: Any) -> str:
    """*address* as the command line writes it: ``HOST:PORT``, or ``unix:PATH``."""
    if isinstance(address, str):
        return "unix:" + address
    return "%s:%d" % (url_host(str(address[0])), address[1])


def addresses(bind: str | None, port: int) -> list[tuple[Any, bool]]:
    """Return ``(address, required)`` for each socket to listen on (a path for Unix)."""
    path = unix_path(bind)
    if path is not None:
        return [(path, True)]
    if bind is None:
        loopback: list[tuple[Any, bool]] = [(("127.0.0.1", port), True)]
        if socket.has_ipv6:
            loopback.append((("::1", port, 0, 0), False))
        return loopback
    try:
        infos = socket.getaddrinfo(bind, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        raise UsageError("cannot bind %r: %s" % (bind, error.strerror)) from None
    return [(infos[0][4], True)]


def listen(
    make: Callable[..., Server], bind: str | None, port: int, *, tls: bool, **options: Any
) -> list[Server]:
    """Make a server with *make(address, **options)* for each address; raise StartupError."""
    servers: list[Server] = []
    for address, required in addresses(bind, port):
        if servers and port == 0:
            # The second loopback socket takes the port the first one was given.
            address = (address[0], servers[0].server_port, *address[2:])
        try:
            servers.append(make(address, dual_stack=True, **options))
        except OSError as error:
            if not required and error.errno in (
                errno.EADDRINUSE,
                errno.EADDRNOTAVAIL,
                errno.EAFNOSUPPORT,
            ):
                print(
                    "devserve: note: not listening on %s (%s)" % (where(address), error.strerror),
                    file=sys.stderr,
                )
                continue
            for server in servers:
                server.server_close()
            raise StartupError(start_error(address, error, tls)) from None
    return servers


def start_error(address: Any, error: OSError, tls: bool) -> str:
    """The one line that says why *address* could not be listened on."""
    place = where(address)
    if error.errno == errno.EADDRINUSE:
        hint = "try another port, or 0"
        if isinstance(address, str):
            hint = "a server is listening there"
        return "cannot listen on %s: address already in use (%s)" % (place, hint)
    if error.errno == errno.EACCES:
        return "cannot listen on %s: permission denied" % place
    if tls and type(error).__module__ == "ssl":
        return "cannot load the TLS certificate or key: %s" % error
    return "cannot listen on %s: %s" % (place, error.strerror or error)
