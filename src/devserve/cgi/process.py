"""ScriptProcess: one running CGI script, its three pipes and the threads that serve them.

Rule 1: three pipes and never a deadlock.  One thread writes the request body to the
script's stdin, one reads its stdout into a queue, one logs its stderr line by line;
so a script may write before it reads, read nothing, or write megabytes, and the
server's thread only waits on the queue.
Rule 2: the deadline is on progress, not on the whole run: :exc:`ScriptTimeout` is
raised when neither output arrived nor input was taken for ``timeout`` seconds, so a
long upload or a long stream of output is never cut, and a silent script always is.
Rule 3: the script runs in a session of its own, and killing it kills the whole process
group; its output ends when it exits, so a child it left running with the pipe open
does not hold the response open (http.server ends the response when the script exits).
Nothing here knows about HTTP; :mod:`devserve.cgi.handler` decides what to send.
"""

from __future__ import annotations

import contextlib
import os
import queue
import select
import signal
import subprocess
import threading
import time
from collections.abc import Callable

__all__ = ["ScriptProcess", "ScriptTimeout"]

_CHUNK = 65536
# Output read ahead of the client, in chunks: past it the script waits on its pipe,
# so a slow client slows the script instead of filling the server's memory.
_QUEUED_CHUNKS = 16
_STDERR_LINE = 8192
# Joining a pipe thread waits this long at most: a descendant that left the process
# group may still hold a pipe open, and must not hold the request too.
_JOIN_TIMEOUT = 5.0
_POSIX = os.name == "posix"
# While the script runs, how often (seconds) the output reader also checks that it has
# not exited; after it exited, how many reads of what is already there end the output.
_EXIT_CHECK = 0.05
_READS_AFTER_EXIT = 64


class ScriptTimeout(Exception):
    """The script made no progress for the whole timeout."""


class ScriptProcess:
    """Start *argv* with environment *env* and serve its pipes until :meth:`close`.

    *body* is a ``read(size)`` callable whose bytes are written to the script's
    standard input until it returns ``b""`` (``None``: the input is empty).
    *user* is a ``(uid, gid)`` pair to run as, without supplementary groups.
    Each line the script writes to standard error is passed to *log*.
    Raises :exc:`OSError` when the script cannot be started.
    """

    def __init__(
        self,
        argv: list[str],
        env: dict[str, str],
        body: Callable[[int], bytes] | None,
        *,
        timeout: float | None,
        log: Callable[[str], None],
        user: tuple[int, int] | None = None,
    ) -> None:
        self._timeout = timeout
        self._output: queue.Queue[bytes | None] = queue.Queue(_QUEUED_CHUNKS)
        self._progress = time.monotonic()
        self._ended = False
        self._closed = False
        self._code: int | None = None
        #: Whether :meth:`kill` (or :meth:`close`) had to kill the script.
        self.killed = False
        #: What went wrong reading the request body, if anything did.
        self.body_error: BaseException | None = None
        self._proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE if body is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            start_new_session=_POSIX,
            user=user[0] if user else None,
            group=user[1] if user else None,
            extra_groups=[] if user else None,
        )
        self._pump = threading.Thread(target=self._read_output, daemon=True)
        self._errors = threading.Thread(target=self._log_errors, args=(log,), daemon=True)
        self._feeder: threading.Thread | None = None
        if body is not None:
            self._feeder = threading.Thread(target=self._feed, args=(body,), daemon=True)
        for thread in (self._pump, self._errors, self._feeder):
            if thread is not None:
                thread.start()

    # -- the server's side ----------------------------------------------------

    @property
    def ended(self) -> bool:
        """Whether the end of the script's output has been read."""
        return self._ended

    @property
    def feeding(self) -> bool:
        """Whether the request body is still being read and written to the script."""
        return self._feeder is not None and self._feeder.is_alive()

    def wait_fed(self, timeout: float | None) -> bool:
        """Wait up to *timeout* seconds (``None``: for ever) until the body is all read."""
        if self._feeder is not None:
            self._feeder.join(timeout)
        return not self.feeding

    def read(self) -> bytes | None:
        """Return the next output the script writes, or ``None`` at its end.

        Raises :exc:`ScriptTimeout` after *timeout* seconds without progress.
        """
        if self._ended:
            return None
        while True:
            wait = None
            if self._timeout is not None:
                wait = self._progress + self._timeout - time.monotonic()
                if wait <= 0:
                    raise ScriptTimeout
            try:
                data = self._output.get(timeout=wait)
            except queue.Empty:
                continue  # the body feeder may have made progress meanwhile
            return self._take(data)

    def read_ready(self) -> bytes:
        """Return the output already read from the script, without waiting."""
        parts = []
        while not self._ended:
            try:
                data = self._take(self._output.get_nowait())
            except queue.Empty:
                break
            if data is not None:
                parts.append(data)
        return b"".join(parts)

    def _take(self, data: bytes | None) -> bytes | None:
        if data is None:
            self._ended = True
        else:
            self._progress = time.monotonic()
        return data

    def kill(self) -> None:
        """Kill the script and every process in its group."""
        self.killed = True
        if _POSIX:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._proc.pid, signal.SIGKILL)
        else:
            with contextlib.suppress(OSError):
                self._proc.kill()

    def close(self) -> int | None:
        """Wait for the script to exit and release its pipes; return its exit code.

        A script still running *timeout* seconds later is killed.  Returns
        ``None`` for a script that was killed.  Calling it again returns the same.
        """
        if self._closed:
            return self._code
        self._closed = True
        try:
            code = self._proc.wait(timeout=self._timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            code = self._proc.wait()
        deadline = time.monotonic() + _JOIN_TIMEOUT
        while self._pump.is_alive() and time.monotonic() < deadline:
            # Output nobody will send: drop it, or the pump waits on a full queue.
            with contextlib.suppress(queue.Empty):
                while True:
                    self._output.get_nowait()
            self._pump.join(0.01)
        self._errors.join(max(0.0, deadline - time.monotonic()))
        if self._feeder is not None:
            self._feeder.join(max(0.0, deadline - time.monotonic()))
        for thread, pipe in ((self._pump, self._proc.stdout), (self._errors, self._proc.stderr)):
            if pipe is not None and not thread.is_alive():
                # Closing a pipe another thread is blocked on would block here too.
                pipe.close()
        self._code = None if self.killed else code
        return self._code

    # -- the threads ----------------------------------------------------------

    def _read_output(self) -> None:
        stdout = self._proc.stdout
        assert stdout is not None
        try:
            if _POSIX:
                self._read_until_exit(stdout.fileno())
            else:
                while data := stdout.read1(_CHUNK):  # type: ignore[attr-defined]
                    self._output.put(data)
        except (OSError, ValueError):
            pass  # the pipe broke or was closed: that is the end of the output too
        finally:
            self._output.put(None)

    def _read_until_exit(self, fd: int) -> None:
        # The output ends when the pipe does, or when the script has exited and what it
        # wrote has been read: a child it left running with the pipe open (a daemon,
        # `cmd &`) does not hold the response open, as it does not under http.server.
        after_exit = 0
        while True:
            exited = self._proc.poll() is not None
            if not select.select([fd], [], [], 0 if exited else _EXIT_CHECK)[0]:
                if exited:
                    return
                continue
            data = os.read(fd, _CHUNK)
            if not data:
                return
            self._output.put(data)
            if exited:
                after_exit += 1
                if after_exit > _READS_AFTER_EXIT:
                    return

    def _log_errors(self, log: Callable[[str], None]) -> None:
        stderr = self._proc.stderr
        assert stderr is not None
        with contextlib.suppress(OSError, ValueError):
            try:
                while line := stderr.readline(_STDERR_LINE):
                    log(line.decode("utf-8", "replace").rstrip("\r\n"))
            finally:
                # A child the script left running may hold stderr open past wait():
                # whoever reads to its end closes it.
                stderr.close()

    def _feed(self, read: Callable[[int], bytes]) -> None:
        stdin = self._proc.stdin
        assert stdin is not None
        try:
            while True:
                try:
                    data = read(_CHUNK)
                except Exception as error:  # a malformed or truncated body, a dead socket
                    self.body_error = error
                    return
                if not data:
                    return
                if stdin.closed:
                    continue  # read away: the connection stays usable, and closes cleanly
                try:
                    stdin.write(data)
                    stdin.flush()
                except (OSError, ValueError):
                    # The script stopped reading: the rest of the body is read and
                    # dropped, which the handler waits for within its drain deadline.
                    with contextlib.suppress(OSError, ValueError):
                        stdin.close()
                    continue
                self._progress = time.monotonic()
        finally:
            with contextlib.suppress(OSError, ValueError):
                stdin.close()
