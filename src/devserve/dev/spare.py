"""The reloader's spare child: a process started ahead, its libraries imported, waiting.

Rule 1: a spare is an ordinary reloader child that stops before it imports the
application (:func:`await_turn`) and waits for one byte from its parent on a pipe of
its own (``DEVSERVE_SPARE``); the end of that pipe (the parent gone, or a stop) ends
it quietly.  So a restart pays for the application's import only, not for the
interpreter's start and the libraries'.
Rule 2: while it waits, a spare imports the modules the last child had imported from
the standard library and from ``site-packages`` (``DEVSERVE_PRELOAD``, from
:func:`library_modules`), never anything else: an import guard refuses every module
found outside those directories, so a library that reaches for the user's code at
import time (a settings module) fails there and is imported again, fresh, after the
go.  A failing preload is skipped silently.
Rule 3: environment files loaded before the wait that changed during it make the
spare exit with the restart status instead of serving, so its successor loads them
again.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from importlib.machinery import ModuleSpec
    from types import ModuleType

__all__ = ["PRELOAD_VARIABLE", "SPARE_VARIABLE", "await_turn", "library_modules"]

#: The environment variable naming the pipe a spare waits on.
SPARE_VARIABLE = "DEVSERVE_SPARE"
#: The environment variable naming the modules a spare imports while it waits.
PRELOAD_VARIABLE = "DEVSERVE_PRELOAD"
_RESTART_CODE = 3  # devserve.dev.children.RESTART_CODE (that module imports this one)


def _library_roots() -> tuple[str, ...]:
    import site  # here: every child imports this module, few need these
    import sysconfig

    paths = sysconfig.get_paths()
    roots = {paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib") if key in paths}
    with contextlib.suppress(AttributeError):
        roots.update(site.getsitepackages())
    with contextlib.suppress(AttributeError):
        roots.add(site.getusersitepackages())
    return tuple(os.path.join(os.path.realpath(root), "") for root in roots if root)


def _is_library(path: str | None, roots: Sequence[str]) -> bool:
    if not path or not os.path.isabs(path):
        return False
    return os.path.realpath(path).startswith(tuple(roots))


def library_modules() -> list[str]:
    """Names of the imported modules that live in the standard library or ``site-packages``.

    In import order; the user's own modules, and everything else outside those
    directories, are left out.
    """
    roots = _library_roots()
    names = []
    for name, module in list(sys.modules.items()):
        if name != "__main__" and _is_library(getattr(module, "__file__", None), roots):
            names.append(name)
    return names


class _LibrariesOnly:
    """Refuse to import anything found outside the library directories.

    A meta path finder (:class:`importlib.abc.MetaPathFinder`'s protocol).
    """

    def __init__(self, roots: Sequence[str]) -> None:
        self._roots = roots

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.origin in ("built-in", "frozen"):
            return spec
        places = [spec.origin] if spec.has_location else []
        places += list(spec.submodule_search_locations or ())
        if places and all(_is_library(place, self._roots) for place in places):
            return spec
        raise ImportError("not a library module: %s" % fullname, name=fullname)


@contextlib.contextmanager
def _libraries_only() -> Iterator[None]:
    guard = _LibrariesOnly(_library_roots())
    sys.meta_path.insert(0, guard)
    try:
        yield
    finally:
        sys.meta_path.remove(guard)


def _preload(names: Sequence[str]) -> None:
    import importlib

    with _libraries_only():
        for name in names:
            if name and name not in sys.modules:
                with contextlib.suppress(Exception):
                    importlib.import_module(name)


def _stamps(paths: Sequence[str]) -> list[tuple[int, int] | None]:
    stamps: list[tuple[int, int] | None] = []
    for path in paths:
        try:
            info = os.stat(path)
        except OSError:
            stamps.append(None)
        else:
            stamps.append((info.st_mtime_ns, info.st_size))
    return stamps


def await_turn(loaded: Sequence[str] = ()) -> None:
    """In a spare child: import the libraries named, then wait until the parent says go.

    Returns at once in any other process.  The end of the pipe exits with status 0;
    a change to a file in *loaded* (environment files read already) exits with the
    restart status.
    """
    value = os.environ.pop(SPARE_VARIABLE, "")
    if not value or os.environ.get("WERKZEUG_RUN_MAIN") != "true":
        return
    fd = int(value)
    os.set_inheritable(fd, False)  # the application's own children never hold it
    _preload(os.environ.pop(PRELOAD_VARIABLE, "").split(","))
    before = _stamps(loaded)
    try:
        go = os.read(fd, 1)
    finally:
        os.close(fd)
    if not go:
        sys.exit(0)
    if _stamps(loaded) != before:
        sys.exit(_RESTART_CODE)
