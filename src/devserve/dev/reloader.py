"""Watch files for changes, and restart a server process when they change.

Rule 1: :func:`watch` is the one primitive: it yields sets of changed paths, from
:mod:`watchfiles` when that optional extra is installed, otherwise from polling
``stat()``; both honour the same include and exclude patterns.  The live-reload loop
reuses it as it is.
Rule 2: the restart protocol is Werkzeug's, so ``flask`` and Werkzeug's debugger see
what they expect: the parent sets ``WERKZEUG_RUN_MAIN=true`` for the child, and a
child exiting with status 3 asks to be started again.  The parent binds the
listening sockets once and hands them down (``DEVSERVE_SERVER_FDS``), so connections
made during a restart wait in the backlog instead of being refused.
Rule 3: a child whose application fails to import keeps watching, so fixing the file
restarts it; the parent never imports the application at all.
"""

from __future__ import annotations

import fnmatch
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence

__all__ = [
    "DEFAULT_EXCLUDE",
    "DEFAULT_INCLUDE",
    "EDITOR_TEMPORARY",
    "RESTART_CODE",
    "ChangeWatcher",
    "inherited_sockets",
    "is_running_from_reloader",
    "restart_with_reloader",
    "watch",
]

#: The exit status with which a child asks its parent to start it again.
RESTART_CODE = 3
#: What is watched by default: Python sources.
DEFAULT_INCLUDE: tuple[str, ...] = ("*.py",)
#: Files editors write beside the one being saved, and delete again: swap, backup and
#: lock files (vim, emacs, kate), atomic-save temporaries (JetBrains, gedit, vim's
#: ``4913`` probe) and Office lock files.  A change to one of them is never a change.
EDITOR_TEMPORARY: tuple[str, ...] = (
    "*.swp", "*.swo", "*.swx", "*~", ".#*", "#*#", "4913", "*.kate-swp", "*___jb_tmp___",
    "*___jb_old___", ".goutputstream-*", "~$*", "*.tmp", "*.crdownload", ".DS_Store",
)  # fmt: skip
#: Never watched: tool caches, version control, environments and editor droppings.
DEFAULT_EXCLUDE: tuple[str, ...] = (
    "__pycache__", ".git", ".hg", ".svn", ".tox", ".nox", ".venv", "venv", "node_modules",
    ".mypy_cache", ".pytest_cache", ".ruff_cache", "*.pyc", *EDITOR_TEMPORARY,
)  # fmt: skip
_FDS_VARIABLE = "DEVSERVE_SERVER_FDS"
# watchfiles says it is watching by yielding once, at the latest after this many ms.
_READY_WITHIN_MS = 50
_Snapshot = dict[str, tuple[int, int]]


def is_running_from_reloader() -> bool:
    """Whether this process is a reloader's child (``WERKZEUG_RUN_MAIN`` is ``true``)."""
    return os.environ.get("WERKZEUG_RUN_MAIN") == "true"


def inherited_sockets() -> list[socket.socket]:
    """Return the listening sockets the reloader's parent handed down (none otherwise)."""
    value = os.environ.get(_FDS_VARIABLE, "") if is_running_from_reloader() else ""
    return [socket.socket(fileno=int(fd)) for fd in value.split(",") if fd]


def _excluded(parts: Iterable[str], exclude: Sequence[str]) -> bool:
    return any(fnmatch.fnmatch(part, pattern) for part in parts for pattern in exclude)


def _wanted(path: str, include: Sequence[str], exclude: Sequence[str]) -> bool:
    name = os.path.basename(path)
    if _excluded(path.split(os.sep), exclude):
        return False
    return any(fnmatch.fnmatch(name, p) or fnmatch.fnmatch(path, p) for p in include)


def _snapshot(paths: Sequence[str], include: Sequence[str], exclude: Sequence[str]) -> _Snapshot:
    found: _Snapshot = {}

    def record(path: str) -> None:
        try:
            info = os.stat(path)
        except OSError:
            return  # gone between listing and stat: the next pass sees it missing
        found[path] = (info.st_mtime_ns, info.st_size)

    for root in paths:
        if os.path.isfile(root):
            record(root)  # a file named outright is watched whatever its name
            continue
        for directory, subdirectories, files in os.walk(root):
            subdirectories[:] = [d for d in subdirectories if not _excluded((d,), exclude)]
            for name in files:
                path = os.path.join(directory, name)
                if _wanted(path, include, exclude):
                    record(path)
    return found


def _poll(
    paths: Sequence[str],
    include: Sequence[str],
    exclude: Sequence[str],
    interval: float,
    stop: threading.Event,
    ready: threading.Event,
) -> Iterator[set[str]]:
    before = _snapshot(paths, include, exclude)
    ready.set()
    while not stop.wait(interval):
        after = _snapshot(paths, include, exclude)
        changed = {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}
        before = after
        if changed:
            yield changed


def watch(
    paths: Iterable[str | os.PathLike[str]],
    include: Sequence[str] = DEFAULT_INCLUDE,
    exclude: Sequence[str] = DEFAULT_EXCLUDE,
    *,
    interval: float = 0.5,
    backend: str = "auto",
    stop: threading.Event | None = None,
    ready: threading.Event | None = None,
) -> Iterator[set[str]]:
    """Yield the set of absolute paths that changed, each time some did.

    *paths* are directories (searched recursively) and files.  A file under a
    directory counts when its name or path matches a glob in *include* and no
    part of its path matches one in *exclude*; files named in *paths* always
    count.  Creation, modification and deletion all count.  *backend* is
    ``"watchfiles"``, ``"poll"`` (every *interval* seconds) or ``"auto"``
    (watchfiles when installed).  Iteration ends when *stop* is set.  *ready* is
    set once changes are being watched: a change made after it is never missed
    (iterating starts the watching; :class:`ChangeWatcher` does it in a thread).

    .. versionadded:: 0.1
    """
    roots = [os.path.abspath(os.fspath(p)) for p in paths]
    roots = [p for p in roots if os.path.exists(p)]
    stop = threading.Event() if stop is None else stop
    ready = threading.Event() if ready is None else ready
    if backend not in ("auto", "watchfiles", "poll"):
        raise ValueError("unknown backend %r" % backend)
    if backend != "poll":
        try:
            import watchfiles
        except ImportError:
            if backend == "watchfiles":
                raise
        else:
            files = {p for p in roots if os.path.isfile(p)}

            def keep(change: object, path: str) -> bool:
                return path in files or _wanted(path, include, exclude)

            # The watcher exists once the generator first yields: a timeout (an empty
            # set) or a change; only then can *ready* say that nothing will be missed.
            for changes in watchfiles.watch(
                *roots, watch_filter=keep, stop_event=stop, debounce=200, step=50,
                rust_timeout=_READY_WITHIN_MS, yield_on_timeout=True,
                raise_interrupt=False,
            ):  # fmt: skip
                ready.set()
                if changes:
                    yield {path for _change, path in changes}
            return
    yield from _poll(roots, include, exclude, interval, stop, ready)


class ChangeWatcher:
    """Watch *paths* (as :func:`watch` does) in a thread of its own from :meth:`start` on.

    Started before the application is imported, it sees a file saved while the
    import runs; :meth:`changes` then yields it at once.

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        paths: Iterable[str | os.PathLike[str]],
        include: Sequence[str] = DEFAULT_INCLUDE,
        exclude: Sequence[str] = DEFAULT_EXCLUDE,
        *,
        interval: float = 0.5,
        backend: str = "auto",
    ) -> None:
        self._arguments = (list(paths), include, exclude, interval, backend)
        self._found: queue.SimpleQueue[set[str] | None] = queue.SimpleQueue()
        self._stop = threading.Event()
        #: Set once changes are being watched.
        self.ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="devserve-watch", daemon=True)

    def start(self) -> ChangeWatcher:
        """Start watching in the background; return self."""
        self._thread.start()
        return self

    def _run(self) -> None:
        paths, include, exclude, interval, backend = self._arguments
        try:
            for changed in watch(
                paths, include, exclude,
                interval=interval, backend=backend, stop=self._stop, ready=self.ready,
            ):  # fmt: skip
                self._found.put(changed)
        finally:
            self.ready.set()
            self._found.put(None)

    def changes(self) -> Iterator[set[str]]:
        """Yield each set of changed paths as it is found, until :meth:`stop`."""
        while (changed := self._found.get()) is not None:
            yield changed

    def stop(self) -> None:
        """Stop watching and end :meth:`changes`."""
        self._stop.set()


def restart_with_reloader(sockets: Sequence[socket.socket]) -> int:
    """Run this program again as a child until it exits with anything but :data:`RESTART_CODE`.

    The child gets ``WERKZEUG_RUN_MAIN=true`` and the *sockets*, which stay open
    here for the whole run.  Returns the child's last exit status (0 after Ctrl+C).
    """
    fds = [s.fileno() for s in sockets]
    for sock in sockets:
        sock.set_inheritable(True)
    env = {**os.environ, "WERKZEUG_RUN_MAIN": "true", _FDS_VARIABLE: ",".join(map(str, fds))}
    argv = [sys.executable, *sys.orig_argv[1:]]
    while True:
        child = subprocess.Popen(argv, env=env, pass_fds=fds)
        try:
            status = child.wait()
        except KeyboardInterrupt:
            # The child got the same Ctrl+C (one process group); let it finish.
            child.send_signal(signal.SIGINT)
            child.wait()
            return 0
        if status != RESTART_CODE:
            return 0 if status == -signal.SIGINT else status


def serve_until_changed(
    serve: Callable[[], None] | None,
    shutdown: Callable[[], None],
    watcher: ChangeWatcher,
    *,
    on_change: Callable[[set[str]], bool] | None = None,
) -> int:
    """In the child: run *serve* in a thread until *watcher* sees a change; return 3.

    *watcher* is started already, ideally before the application was imported.
    *serve* may be ``None`` (the application failed to load): then only the
    watching is done, and the next edit restarts the child.  *on_change*, when
    given, sees each set of changed paths first and returns true when it dealt
    with them without a restart (live reload swapping a stylesheet).
    """
    watcher.ready.wait()
    if serve is not None:
        threading.Thread(target=serve, name="devserve-serve", daemon=True).start()
    try:
        for changed in watcher.changes():
            if on_change is None or not on_change(changed):
                break
        else:  # pragma: no cover -- changes() only ends when the watcher is stopped
            return 0
    except KeyboardInterrupt:
        watcher.stop()
        shutdown()
        return 0
    watcher.stop()
    shown = sorted(changed)
    sys.stderr.write(
        " * Detected change in %s%s, reloading\n"
        % (
            ", ".join(repr(p) for p in shown[:3]),
            " and %d more" % (len(shown) - 3) if len(shown) > 3 else "",
        )
    )
    shutdown()
    return RESTART_CODE
