"""One profile of devserve's defaults, built once from the command line, for both modes.

Rule 1: files mode and ``--app`` are two uses of one :class:`Profile`: the same handler
defaults (:data:`~devserve.handler.defaults.DEVSERVE`), the same access log and ``-q``,
the same ``-H`` fields, the same ``Host`` check, the same bind addresses, the same files
options for every directory served (the root in files mode, each ``--static`` mount).
A new option is read here once, and both modes have it.
Rule 2: ``--compat`` is the one switch back to :mod:`http.server`'s behaviour, for files
mode; it cannot be combined with ``--app``.
Rule 3: the library classes are never mutated: a configured handler is a subclass whose
class attributes hold the profile's values (how :mod:`http.server`'s handlers are
configured), made in :func:`configured` and nowhere else.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from ..dev.accesslog import AccessLog, color_enabled
from ..dev.hostcheck import HostCheck, is_loopback
from ..files.cache import FileCache
from ..files.handler import SimpleHTTPRequestHandler
from ..handler.defaults import DEVSERVE

if TYPE_CHECKING:
    from ..handler.hooks import RequestCheck

__all__ = ["DEV_TYPES", "Profile", "UsageError", "configured"]

#: Types a development server should get right whatever the system's mime.types
#: says (gh-88141: ``.js`` as ``text/plain`` breaks module scripts).
DEV_TYPES = {
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".cjs": "text/javascript",
    ".css": "text/css",
    ".json": "application/json",
    ".map": "application/json",
    ".wasm": "application/wasm",
    ".svg": "image/svg+xml",
    ".webmanifest": "application/manifest+json",
    ".webp": "image/webp",
    ".avif": "image/avif",
}

Handler = TypeVar("Handler", bound=type[Any])


class UsageError(Exception):
    """A bad argument found after parsing: reported in one line, exit status 2."""


def configured(base: Handler, attributes: dict[str, Any]) -> Handler:
    """Return a subclass of *base* whose class attributes are *attributes*.

    The stdlib's handlers are configured through class attributes; the command
    line makes one subclass per run instead of changing the library class.
    """
    return type(base.__name__, (base,), attributes)  # type: ignore[return-value]


class Profile(NamedTuple):
    """What the command line asked for, in the terms both modes serve with."""

    #: The HTTP version answered with (``-p``).
    protocol: str
    #: :mod:`http.server`'s behaviour for files mode (``--compat``).
    compat: bool
    #: Header fields added to every final response (``-H``).
    extra_fields: tuple[tuple[str, str], ...]
    #: No access log (``-q``).
    quiet: bool
    #: Extra host names for the ``Host`` check, or ``None`` for no check.
    allowed_hosts: tuple[str, ...] | None
    #: The ``-b`` address, or ``None`` for loopback on both families.
    bind: str | None
    #: The files options (:meth:`files_attributes`), as given.
    files: argparse.Namespace
    #: Seconds requests in flight get when stopping (``--grace``).
    grace: float = 1.0

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Profile:
        """Read the profile from parsed command-line arguments."""
        names = tuple(args.allowed_host)
        return cls(
            protocol=args.protocol,
            compat=args.compat,
            extra_fields=tuple((name, value) for name, value in args.header),
            quiet=args.quiet,
            allowed_hosts=names if names or is_loopback(args.bind) else None,
            bind=args.bind,
            files=args,
            grace=args.grace,
        )

    def server_attributes(self) -> dict[str, Any]:
        """The bounded server's attributes: a short grace, and the port freed at once."""
        return {"graceful_timeout": self.grace, "close_listener_on_stop": True}

    def handler_attributes(self) -> dict[str, Any]:
        """The handler attributes every mode serves with: defaults, log, checks, ``-H``."""
        attributes = DEVSERVE.attributes()
        attributes["protocol_version"] = self.protocol
        if self.compat:
            # The drop-in's leniencies and endless waits: python -m http.server's.
            attributes.update(strict_parsing=False, idle_timeout=None, head_timeout=None,
                              drain_timeout=None, timeout=None, announce_close=False)  # fmt: skip
            attributes["server_version"] = SimpleHTTPRequestHandler.server_version
        checks: tuple[RequestCheck, ...] = ()
        if self.allowed_hosts is not None:
            checks = (HostCheck(self.allowed_hosts),)
        attributes.update(
            response_log=AccessLog(color=color_enabled(sys.stderr), quiet=self.quiet),
            request_checks=checks,
            extra_fields=self.extra_fields,
        )
        return attributes

    def files_attributes(self, directory: str) -> dict[str, Any]:
        """The files handler's attributes for serving *directory* (a root or a mount)."""
        args, compat = self.files, self.compat
        directory = os.path.abspath(directory)
        if not os.path.isdir(directory):
            raise UsageError("cannot serve %r: not a directory" % directory)
        return {
            "default_directory": directory,
            "etags": args.etags and not compat,
            "range_requests": args.range_requests,
            "cache_control": (args.cache_control or None) if not compat else None,
            "precompressed": args.precompressed and not compat,
            "serve_dotfiles": args.dotfiles or compat,
            "allow_symlink_escape": args.follow_symlinks or compat,
            "strict_paths": not compat,
            "file_cache": None if compat else FileCache(),
            "spa_fallback": "index.html" if args.spa else None,
            "cors_origin": "*" if args.cors else None,
            "not_found_page": "404.html",
            "explain_refusals": not compat,
            "default_content_type": args.content_type
            or SimpleHTTPRequestHandler.default_content_type,
            "text_charset": None if compat else "utf-8",
            "extensions_map": {**SimpleHTTPRequestHandler.extensions_map, **DEV_TYPES},
        }
