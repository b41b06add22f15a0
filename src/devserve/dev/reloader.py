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
restarts it; the parent never imports the application at all.  The first child is told
it is the first (``DEVSERVE_FIRST_START``): its failure to load ends devserve, as
``flask run``'s does, with :data:`~devserve.dev.children.LOAD_FAILED_CODE`.
Rule 4: the parent owns stopping.  SIGINT or SIGTERM (a shell's background job may
ignore SIGINT, so the children are always sent SIGTERM) closes the parent's listening
sockets, stops every child (the serving one, those retiring, the spare), and kills
them past :data:`STOP_GRACE` seconds beyond the grace; a second Ctrl+C kills them at
once (a second SIGTERM asks nothing new: :mod:`devserve.net.signals`).  A child never
outlives its parent: it holds the read end of a pipe whose write end only the parent
has (``DEVSERVE_LIFELINE``), and stops when it reads the end of it, however the parent
died.
Rule 5: a restart never runs stale bytecode: Python trusts a ``__pycache__`` entry whose
source has the same size and modification second, so the changed sources' entries are
removed before the next child imports anything.
Rule 6: a reload overlaps: the child that saw a change stops accepting (its servers'
``stop_accepting``), and only then tells the parent (``handoff`` on its
``DEVSERVE_REPORT`` pipe), which starts the next child at once, while the old one
finishes its requests in flight within the grace and exits.  Two children never
accept at once; new connections wait in the backlog for the next one.  The next child
is a spare started ahead when one is ready (:mod:`devserve.dev.spare`): each child
says when it serves (``ready``, with the library modules it imported), and the
parent starts the spare then.
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
import queue
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Protocol

from ..net.signals import signals_to
from .children import (
    FIRST_VARIABLE,
    LOAD_FAILED_CODE,
    REPORT_VARIABLE,
    RESTART_CODE,
    Family,
)
from .spare import library_modules

__all__ = [
    "DEFAULT_EXCLUDE",
    "DEFAULT_INCLUDE",
    "EDITOR_TEMPORARY",
    "LOAD_FAILED_CODE",
    "RESTART_CODE",
    "STOP_GRACE",
    "Accepting",
    "ChangeWatcher",
    "forget_bytecode",
    "inherited_sockets",
    "is_first_start",
    "is_running_from_reloader",
    "restart_with_reloader",
    "watch",
    "watch_lifeline",
]

#: Seconds the parent gives a stopping child beyond the server's grace, before SIGKILL.
STOP_GRACE = 1.5
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
_LIFELINE_VARIABLE = "DEVSERVE_LIFELINE"
# Seconds a child waits for its servers to stop accepting before it hands over.
_HANDOFF_WITHIN = 1.0
# watchfiles says it is watching by yielding once, at the latest after this many ms.
_READY_WITHIN_MS = 50
_Snapshot = dict[str, tuple[int, int]]


def is_running_from_reloader() -> bool:
    """Whether this process is a reloader's child (``WERKZEUG_RUN_MAIN`` is ``true``)."""
    return os.environ.get("WERKZEUG_RUN_MAIN") == "true"


def is_first_start() -> bool:
    """Whether this reloader child is the first its parent started."""
    return is_running_from_reloader() and os.environ.get(FIRST_VARIABLE) == "1"


def watch_lifeline(on_parent_gone: Callable[[], None]) -> None:
    """In a reloader child: call *on_parent_gone* (in a thread) once the parent has died."""
    value = os.environ.get(_LIFELINE_VARIABLE, "") if is_running_from_reloader() else ""
    if not value:
        return
    fd = int(value)

    def wait() -> None:
        with contextlib.suppress(OSError):
            while os.read(fd, 64):
                pass  # the parent never writes: only the end of the pipe counts
        on_parent_gone()

    threading.Thread(target=wait, name="devserve-lifeline", daemon=True).start()


def forget_bytecode(paths: Iterable[str]) -> None:
    """Remove the ``__pycache__`` entries of the Python sources among *paths*.

    Python reuses an entry whose source has the size and the modification second it
    was compiled from: an edit that keeps the size, saved within the second, would
    run the old code.
    """
    import importlib.util

    for path in paths:
        if path.endswith(".py"):
            with contextlib.suppress(OSError, ValueError, NotImplementedError):
                os.unlink(importlib.util.cache_from_source(path))


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

    def interrupt(self) -> None:
        """End :meth:`changes` now; safe in a signal handler (it takes no lock)."""
        self._found.put(None)  # SimpleQueue.put is reentrant


def restart_with_reloader(
    sockets: Sequence[socket.socket],
    grace: float = 1.0,
    stopped: Callable[[int], None] | None = None,
    *,
    spare: bool = True,
) -> int:
    """Run this program again as a child until it exits with anything but the restart status.

    The restart status is :data:`~devserve.dev.children.RESTART_CODE`.  The child
    gets ``WERKZEUG_RUN_MAIN=true`` and the *sockets*, which stay open here until a
    stop is asked.  A child that saw a change and stopped accepting
    says so, and its successor starts at once, while it finishes its requests in
    flight; with *spare*, the successor was started ahead (:mod:`devserve.dev.spare`).
    Returns 0 once SIGINT or SIGTERM has stopped it (after calling *stopped* with
    the signal), 1 when the first child could not load the application, else the
    child's status.  *grace* is the server's own grace for requests in flight.
    """
    fds = [s.fileno() for s in sockets]
    for sock in sockets:
        sock.set_inheritable(True)
    lifeline, keep = os.pipe()  # the children read; only this process holds the write end
    env = {**os.environ, "WERKZEUG_RUN_MAIN": "true", _FDS_VARIABLE: ",".join(map(str, fds))}
    env[_LIFELINE_VARIABLE] = str(lifeline)
    family = Family(
        [sys.executable, *sys.orig_argv[1:]], env, [*fds, lifeline], grace + STOP_GRACE, spare
    )
    stop = _ParentStop(sockets, family)
    try:
        with stop.installed():
            status = family.run(stop)
            family.end(stop)
        if stop.asked:
            if stopped is not None:
                stopped(stop.signum)
            return 0
        return status
    finally:
        family.end(stop)
        os.close(lifeline)
        os.close(keep)


class _ParentStop:
    """The reloader's answer to SIGINT and SIGTERM: close the sockets, stop the children."""

    def __init__(self, sockets: Sequence[socket.socket], family: Family) -> None:
        self._sockets = sockets
        self._family = family
        self.asked = 0  # signals received
        #: Whether a second Ctrl+C asked for the children to be killed at once.
        self.forced = False
        #: The first signal received.
        self.signum = 0
        #: When the children still running are killed, once a stop is asked.
        self.deadline: float | None = None

    def installed(self) -> contextlib.AbstractContextManager[list[int]]:
        return signals_to(self._on_signal)

    def _on_signal(self, signum: int, frame: object) -> None:
        self.asked += 1
        children = list(self._family.children)
        if self.asked == 1:
            self.signum = signum
            for sock in self._sockets:
                sock.close()  # the port is free once the children have closed their copies
            self.deadline = time.monotonic() + self._family.patience
            for child in children:
                child.signal(signal.SIGTERM)  # SIGINT may be ignored there
        elif signum == signal.SIGINT:
            self.forced = True
            for child in children:
                child.signal(signal.SIGKILL)  # a second Ctrl+C: at once
        # A SIGTERM again asks nothing new (devserve.net.signals, Rule 3): the children
        # keep their grace.


class Accepting(Protocol):
    """A server a reloader's child can stop accepting, its requests in flight going on."""

    def stop_accepting(self, timeout: float | None = None) -> bool: ...


def _report(message: bytes) -> None:
    """Tell the reloader's parent *message* (a line), if this child has one to tell."""
    value = os.environ.get(REPORT_VARIABLE, "") if is_running_from_reloader() else ""
    if value:
        with contextlib.suppress(OSError):
            os.write(int(value), message + b"\n")


def _handed_over(servers: Sequence[Accepting]) -> bool:
    """Stop *servers* accepting; once none does, ask the parent for the next child now."""
    if not all(server.stop_accepting(_HANDOFF_WITHIN) for server in servers):
        return False  # the next child starts once this one has exited
    _report(b"handoff")
    return True


def serve_until_changed(
    serve: Callable[[], None] | None,
    shutdown: Callable[[], None],
    watcher: ChangeWatcher,
    *,
    on_change: Callable[[set[str]], bool] | None = None,
    servers: Sequence[Accepting] = (),
) -> int:
    """In the child: run *serve* in a thread until *watcher* sees a change; return 3.

    *watcher* is started already, ideally before the application was imported.
    *serve* may be ``None`` (the application failed to load): then only the
    watching is done, and the next edit restarts the child.  *on_change*, when
    given, sees each set of changed paths first and returns true when it dealt
    with them without a restart (live reload swapping a stylesheet).  On a change,
    *servers* stop accepting at once and the parent starts the next child, while
    *shutdown* lets the requests in flight finish.
    """
    watcher.ready.wait()
    if serve is not None:
        threading.Thread(target=serve, name="devserve-serve", daemon=True).start()
    _report(b"ready " + ",".join(library_modules()).encode())
    # SIGTERM (what the parent sends), SIGINT, or the parent's death end the wait.
    watch_lifeline(watcher.interrupt)
    with _interrupting(watcher):
        try:
            for changed in watcher.changes():
                if on_change is None or not on_change(changed):
                    break
            else:  # stopped: not a change
                watcher.stop()
                shutdown()
                return 0
        except KeyboardInterrupt:
            watcher.stop()
            shutdown()
            return 0
    watcher.stop()
    forget_bytecode(changed)  # before the next child imports anything
    with _ignoring_stops():
        _handed_over(servers)
        shown = sorted(changed)
        sys.stderr.write(
            " * Detected change in %s%s, reloading\n"
            % (
                ", ".join(repr(p) for p in shown[:3]),
                " and %d more" % (len(shown) - 3) if len(shown) > 3 else "",
            )
        )
        # Bounded by the grace; the parent kills this child past it.
        shutdown()
    return RESTART_CODE


def _ignoring_stops() -> contextlib.AbstractContextManager[list[int]]:
    """Let SIGINT and SIGTERM not cut the requests a retiring child finishes."""
    return signals_to(signal.SIG_IGN)


def _interrupting(watcher: ChangeWatcher) -> contextlib.AbstractContextManager[list[int]]:
    """Make SIGINT and SIGTERM end *watcher*'s changes, in the main thread."""

    def interrupt(signum: int, frame: object) -> None:
        watcher.interrupt()

    return signals_to(interrupt)
