"""Unix domain sockets: the path a server binds, and the peers that connect to it.

Rule 1: the server that binds a path owns it.  A socket file nobody listens on (left
by a server that was killed) is removed and bound again, as Werkzeug and gunicorn do;
one somebody listens on is "address already in use" (``EADDRINUSE``), where both of
them would take it over; a path that is not a socket is never removed.
Rule 2: the socket file is removed when the server that bound it closes, and only if
it is still the one bound: a child that was handed the socket (the reloader's) never
removes it, and neither does a server whose path another server has taken since.
Rule 3: permissions are the process's umask's, as with Werkzeug (gunicorn sets its
own ``--umask``, 0 by default): ``umask 077`` keeps other users out.
Rule 4: a Unix socket's peer has no address: :func:`peer_host` writes it ``unix:`` in
logs (as nginx does), and :func:`remote_addr` gives CGI's and WSGI's ``REMOTE_ADDR``
as ``""`` (as gunicorn does), where a TCP peer's is its IP address in both.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import stat
from typing import Any

__all__ = [
    "claim_path",
    "is_unix_address",
    "path_identity",
    "peer_host",
    "release_path",
    "remote_addr",
]

#: How long the check for a live server on an existing socket file waits.
_PROBE_TIMEOUT = 1.0


def is_unix_address(address: Any) -> bool:
    """Whether *address* names a Unix socket (a path), not a host and port."""
    return isinstance(address, (str, bytes, os.PathLike))


def peer_host(client_address: Any) -> str:
    """The client's host as a log line writes it: its IP address, or ``unix:``."""
    if isinstance(client_address, tuple) and client_address:
        return str(client_address[0])
    return "unix:"


def remote_addr(client_address: Any) -> str:
    """The client's ``REMOTE_ADDR``: its IP address, or ``""`` for a Unix socket's peer."""
    if isinstance(client_address, tuple) and client_address:
        return str(client_address[0])
    return ""


def claim_path(path: str) -> None:
    """Make *path* free to bind: remove a stale socket file (see the module's rules).

    Raises :exc:`OSError` with ``EADDRINUSE`` when a server answers on *path*, and
    with ``EEXIST`` when *path* exists and is not a socket.
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise OSError(errno.EEXIST, "the file exists and is not a socket")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(_PROBE_TIMEOUT)
    try:
        probe.connect(path)
    except (ConnectionRefusedError, FileNotFoundError):
        # Nobody listens: the file is what a killed server left behind.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        return
    except TimeoutError:
        pass  # a full backlog is a live server too
    finally:
        probe.close()
    raise OSError(errno.EADDRINUSE, os.strerror(errno.EADDRINUSE))


def path_identity(path: str) -> tuple[int, int] | None:
    """The device and inode of the socket file at *path* (``None`` if there is none)."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_dev, info.st_ino)


def release_path(path: str, identity: tuple[int, int] | None) -> None:
    """Remove the socket file at *path* if it is still the one *identity* names."""
    if identity is not None and path_identity(path) == identity:
        with contextlib.suppress(OSError):
            os.unlink(path)
