"""The reloader's children, as its parent holds them: the serving one, the retiring, the spare.

Rule 1: each child gets a pipe to report on (``DEVSERVE_REPORT``), a line a message:
``ready NAMES`` once it serves (with the library modules it imported, for the next
spare), ``handoff`` once it has stopped accepting after a change.  Only the serving
child is listened to; the end of its pipe or its exit status says the rest.
Rule 2: on ``handoff`` the child retires: it is given the grace to finish its
requests in flight and killed past it, while its successor (the spare, told to go by
one byte on its own pipe, or else a new child) takes over at once.
Rule 3: a spare is started only once the serving child says it is ready, so a spare
never slows a start down; at most one spare exists.
Rule 4: nothing here handles signals; ``Family`` only tells what is running
(``Family.children``) to whoever does, and ``Family.end`` stops and reaps
every child left, killing those past the deadline.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import time
from typing import Protocol

from .spare import PRELOAD_VARIABLE, SPARE_VARIABLE

__all__ = ["FIRST_VARIABLE", "LOAD_FAILED_CODE", "REPORT_VARIABLE", "RESTART_CODE", "Family"]

#: The exit status with which a child asks its parent to start it again.
RESTART_CODE = 3
#: The exit status with which the first child says the application cannot be loaded.
LOAD_FAILED_CODE = 4
#: The environment variable telling the first child it is the first.
FIRST_VARIABLE = "DEVSERVE_FIRST_START"
#: The environment variable naming the pipe a child reports on.
REPORT_VARIABLE = "DEVSERVE_REPORT"


class Stopping(Protocol):
    """What the parent's signal handling tells the family: signals seen, and the deadline."""

    asked: int
    deadline: float | None
    #: Whether the children are to be killed at once (a second Ctrl+C).
    forced: bool


class _Child:
    """One child process and the pipes the parent holds to it."""

    def __init__(self, proc: subprocess.Popen[bytes], reports: int, go: int | None) -> None:
        self.proc = proc
        self._reports: int | None = reports  # what the child says, a line a message
        self._go = go  # a spare's: one byte starts it
        self._pending = b""
        #: When a retiring child is killed.
        self.deadline = 0.0

    def messages(self, timeout: float) -> list[bytes]:
        """The messages that arrive within *timeout* seconds (fewer once one has)."""
        fd = self._reports
        if fd is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout)
            return []
        if not select.select([fd], [], [], timeout)[0]:
            return []
        data = os.read(fd, 65536)
        if not data:  # the child has gone: its status says the rest
            self._close_reports()
        *lines, self._pending = (self._pending + data).split(b"\n")
        return lines

    def go(self) -> bool:
        """Start a spare; false if it cannot be (it has died)."""
        fd, self._go = self._go, None
        if fd is None or self.proc.poll() is not None:
            return False
        try:
            os.write(fd, b"g")
        except OSError:
            return False
        finally:
            os.close(fd)
        return True

    def signal(self, signum: int) -> None:
        with contextlib.suppress(OSError):
            self.proc.send_signal(signum)

    def _close_reports(self) -> None:
        fd, self._reports = self._reports, None
        if fd is not None:
            os.close(fd)

    def close(self) -> None:
        """Close the parent's ends of the pipes (the process has exited)."""
        self._close_reports()
        fd, self._go = self._go, None
        if fd is not None:
            os.close(fd)


class Family:
    """The parent's children: the one serving, those retiring, and the spare."""

    def __init__(
        self, argv: list[str], env: dict[str, str], fds: list[int], patience: float, spare: bool
    ) -> None:
        self._argv = argv
        self._env = env
        self._fds = fds
        #: Seconds a stopping child is given before it is killed.
        self.patience = patience
        self._spares = spare
        self._spare: _Child | None = None
        self._retiring: list[_Child] = []
        self._preload = ""
        #: Every child started and not yet reaped (the signal handler's list).
        self.children: list[_Child] = []

    def _start(self, *, first: bool = False, spare: bool = False) -> _Child:
        reports, report_end = os.pipe()
        env = {**self._env, FIRST_VARIABLE: "1" if first else ""}
        env[REPORT_VARIABLE] = str(report_end)
        passed = [*self._fds, report_end]
        go_end = go = None
        if spare:
            go_end, go = os.pipe()
            env[SPARE_VARIABLE] = str(go_end)
            env[PRELOAD_VARIABLE] = self._preload
            passed.append(go_end)
        try:
            proc = subprocess.Popen(self._argv, env=env, pass_fds=passed)
        except OSError:
            os.close(reports)
            if go is not None:
                os.close(go)
            raise
        finally:
            os.close(report_end)
            if go_end is not None:
                os.close(go_end)
        child = _Child(proc, reports, go)
        self.children.append(child)
        return child

    def _successor(self) -> _Child:
        spare, self._spare = self._spare, None
        if spare is not None and spare.go():
            return spare
        return self._start()

    def run(self, stop: Stopping) -> int:
        """Keep a child serving until a stop is asked or a child ends the loop; its status."""
        try:
            return self._loop(stop)
        except OSError:
            if stop.asked:
                return 0  # a child started as the stop closed the sockets it needs
            raise

    def _loop(self, stop: Stopping) -> int:
        current = self._start(first=True)
        while not stop.asked:
            for message in current.messages(0.1):
                if message == b"handoff":
                    current.deadline = time.monotonic() + self.patience
                    self._retiring.append(current)
                    current = self._successor()
                    break
                if message.startswith(b"ready ") and self._spares:
                    self._preload = message[6:].decode("utf-8", "replace")
                    if self._spare is None and not stop.asked:
                        self._spare = self._start(spare=True)
            self._reap()
            status = current.proc.poll()
            if status is None or stop.asked:
                continue
            self._forget(current)
            if status == LOAD_FAILED_CODE:
                return 1
            if status != RESTART_CODE:
                return 0 if status == -signal.SIGINT else status
            current = self._successor()
        return 0

    def _reap(self) -> None:
        now = time.monotonic()
        for child in list(self._retiring):
            if child.proc.poll() is not None:
                self._retiring.remove(child)
                self._forget(child)
            elif now > child.deadline:
                child.proc.kill()  # past its grace: its requests are cut
        spare = self._spare
        if spare is not None and spare.proc.poll() is not None:
            self._spare = None
            self._forget(spare)

    def _forget(self, child: _Child) -> None:
        child.proc.wait()
        child.close()
        with contextlib.suppress(ValueError):
            self.children.remove(child)

    def end(self, stop: Stopping) -> None:
        """Stop every child left (SIGTERM, then SIGKILL past the deadline) and reap it."""
        deadline = stop.deadline or time.monotonic() + self.patience
        for child in self.children:
            child.signal(signal.SIGTERM)  # SIGINT may be ignored there
        for child in list(self.children):
            while True:
                try:
                    child.proc.wait(timeout=0.1)
                    break
                except subprocess.TimeoutExpired:
                    if stop.forced or time.monotonic() > deadline:
                        child.proc.kill()
            self._forget(child)
        self._spare = None
        self._retiring.clear()
