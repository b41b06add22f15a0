"""``--mount PREFIX=TARGET`` and ``--static PREFIX=DIR``: what the command line mounts.

Rule 1: a target's kind is read from its spelling, once, before anything is loaded: an
existing directory is files, ``cgi:DIR`` a CGI directory, anything else a Python object
(``module:name`` or ``path/to/file.py:name``), so the options that need Python code
(``--reload``, ``--debug``) can be checked before a process starts.
Rule 1a: ``--proxy PREFIX=URL`` is a mount too, of a backend URL checked when it is read
(an ``http://`` URL on this machine, unless ``--proxy-allow-remote``).
Rule 2: directories are served with the files options, as the root is; Python targets
are imported where the application is (under ``--reload``, in the child) and are what
:class:`~devserve.mount.table.MountTable` makes of them: a handler class or a WSGI
application.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from ..http11.target import check_prefix

__all__ = ["MountSpec", "parse_mount"]

#: The kinds of target.
DIRECTORY, CGI, PYTHON, PROXY = "directory", "cgi", "python", "proxy"


class MountSpec(NamedTuple):
    """One ``--mount``: its prefix, its target's kind and the target as given."""

    prefix: str
    kind: str
    target: str
    #: For a proxy: whether it sends the backend's ``Host``, and whether its backend may
    #: be on another machine.
    change_origin: bool = False
    allow_remote: bool = False

    def __str__(self) -> str:
        return "%s -> %s%s" % (self.prefix, "cgi:" if self.kind == CGI else "", self.target)


def parse_mount(spec: str, option: str = "--mount") -> MountSpec:
    """Read ``PREFIX=TARGET``; raise :exc:`ValueError` with a usage message."""
    prefix, equals, target = spec.partition("=")
    if not equals or not target:
        raise ValueError(
            "%s wants PREFIX=TARGET, e.g. /static=assets or /api=api:app, not %r" % (option, spec)
        )
    if prefix.strip("/") == "":
        raise ValueError(
            "%s %s: the root is served by --app or the directory; mount under a prefix "
            "such as /api" % (option, spec)
        )
    prefix = check_prefix(prefix)
    if target.startswith("cgi:") and not os.path.isdir(target):
        directory = target[4:]
        if not os.path.isdir(directory):
            raise ValueError("cannot run CGI scripts in %r: not a directory" % directory)
        return MountSpec(prefix, CGI, directory)
    if os.path.isdir(target):
        return MountSpec(prefix, DIRECTORY, target)
    if option == "--static":
        raise ValueError("cannot serve %r: not a directory" % target)
    if not any(mark in target for mark in (":", ".", os.sep)):
        # A bare word is more likely a directory not made yet than a module.
        raise ValueError(
            "cannot mount %r: not a directory, nor MODULE:NAME or path/to/file.py:NAME" % target
        )
    return MountSpec(prefix, PYTHON, target)


def parse_proxy(spec: str, *, change_origin: bool, allow_remote: bool) -> MountSpec:
    """Read ``--proxy PREFIX=URL``; raise :exc:`ValueError` with a usage message."""
    from ..proxy.headers import parse_backend

    prefix, equals, url = spec.partition("=")
    if not equals or not url:
        raise ValueError("--proxy wants PREFIX=URL, e.g. /api=http://127.0.0.1:5000, not %r" % spec)
    if prefix.strip("/") == "":
        raise ValueError("--proxy %s: proxy a prefix such as /api, not the root" % spec)
    prefix = check_prefix(prefix)
    parse_backend(url, allow_remote=allow_remote)
    return MountSpec(prefix, PROXY, url, change_origin, allow_remote)


def python_mounts(specs: Sequence[MountSpec]) -> list[MountSpec]:
    """The mounts whose targets are Python code."""
    return [spec for spec in specs if spec.kind == PYTHON]


def mount_all(
    table: Any,
    specs: Sequence[MountSpec],
    directory_handler: Callable[[str, bool], type[Any]],
    load: Callable[[str], Any] | None = None,
) -> None:
    """Mount each of *specs* on *table* (a :class:`~devserve.mount.table.MountTable`).

    *directory_handler(directory, cgi)* makes the handler class for a directory;
    *load(target)* imports a Python target (and may raise what the loader raises);
    without it, Python targets are refused.
    """
    for spec in specs:
        if spec.kind == PYTHON:
            if load is None:
                raise ValueError("%s: Python targets are served in app mode" % (spec,))
            table.mount(spec.prefix, load(spec.target))
        elif spec.kind == PROXY:
            from ..proxy.handler import Proxy

            proxy = Proxy(spec.target, change_origin=spec.change_origin,
                          allow_remote=spec.allow_remote)  # fmt: skip
            table.mount(spec.prefix, proxy)
        else:
            table.mount(spec.prefix, directory_handler(spec.target, spec.kind == CGI))
