"""A table of mounts: URL prefixes served by other handlers, on the same connection.

Rule 1: a mount is served inside the server, by the handler class its prefix names,
on the connection, keep-alive loop, limits and hooks of the request that reached it
(:meth:`~devserve.BaseHTTPRequestHandler.for_request_of`): files keep ``sendfile`` and
their validators, and nothing is dispatched as WSGI middleware.
Rule 2: the longest prefix wins; a prefix matches itself and what is below it
(``/static`` matches ``/static`` and ``/static/app.css``, never ``/staticfiles``).
Rule 3: a mounted directory sees the path below its prefix; its redirects and links
keep the prefix, because they are built from the request's own path.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import NamedTuple

from ..files.handler import SimpleHTTPRequestHandler
from ..handler.base import BaseHTTPRequestHandler

__all__ = ["DirectoryMount", "MountTable", "parse_mount"]


class DirectoryMount(NamedTuple):
    """A directory served under *prefix* by *handler_class* (a configured files handler)."""

    prefix: str
    handler_class: type[SimpleHTTPRequestHandler]

    def matches(self, path: str) -> bool:
        """Whether the URL *path* (no query) is this mount's."""
        prefix = self.prefix
        return path == prefix or path.startswith(prefix + "/")


class MountTable:
    """Serve ``GET`` and ``HEAD`` under each mount's prefix with its handler.

    A :class:`~devserve.handler.hooks.Responder`: set it in a handler's
    ``responders``; requests under no prefix go on to the handler itself.

    .. versionadded:: 0.1
    """

    def __init__(self, mounts: Sequence[DirectoryMount]) -> None:
        self.mounts = sorted(mounts, key=lambda mount: len(mount.prefix), reverse=True)

    def respond(self, handler: BaseHTTPRequestHandler) -> bool:
        """Serve *handler*'s request if a mount's prefix holds it; say whether one did."""
        if handler.command not in ("GET", "HEAD"):
            return False
        path = handler.path.partition("?")[0]
        for mount in self.mounts:
            if mount.matches(path):
                files = mount.handler_class.for_request_of(handler)
                files.directory = str(files.default_directory)
                files.mount_prefix = mount.prefix
                if handler.command == "HEAD":
                    files.do_HEAD()
                else:
                    files.do_GET()
                files.hand_back(handler)
                return True
        return False


def parse_mount(spec: str, option: str = "--static") -> tuple[str, str]:
    """Read ``PREFIX=DIR``; return the prefix (``/x``, no trailing slash) and the directory."""
    prefix, equals, directory = spec.partition("=")
    if not equals or not prefix.startswith("/") or not directory:
        raise ValueError("%s wants PREFIX=DIR, e.g. /static=assets, not %r" % (option, spec))
    if not os.path.isdir(directory):
        raise ValueError("cannot serve %r: not a directory" % directory)
    return "/" + prefix.strip("/"), directory
