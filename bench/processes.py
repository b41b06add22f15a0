"""Starting the servers under test, and making sure each one is stopped.

Rule 1: every server is a process of its own, pinned to the server core, listening on
127.0.0.1 only, with its output going to a log file (never a pipe, which a chatty
server would fill and then block on).
Rule 2: a server is stopped by its own pid: SIGTERM (or SIGINT, a developer's Ctrl+C,
for startup.py), then SIGKILL.  Processes it
forked (nginx and gunicorn workers) are remembered by (pid, start time) and killed the
same way if they outlive it; nothing is ever killed by name.
Rule 3: :func:`stop_all` runs at exit, on SIGTERM and after Ctrl+C, so no server
outlives the benchmark.
"""

from __future__ import annotations

import atexit
import contextlib
import http.client
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from procstat import read_stat, sample_tree

__all__ = ["ServerProcess", "ServerStartError", "free_port", "stop_all"]

LOOPBACK = "127.0.0.1"
_RUNNING: list[ServerProcess] = []


class ServerStartError(RuntimeError):
    """A server did not start, or did not answer its readiness request."""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


class ServerProcess:
    """One server under test, started with :meth:`start` and ended with :meth:`stop`."""

    def __init__(self, name: str, argv: Sequence[str], log_path: Path, *, cpu: int | None):
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.cpu = cpu
        self.process: subprocess.Popen[bytes] | None = None
        self._family: set[tuple[int, int]] = set()

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, env: Mapping[str, str] | None = None) -> None:
        argv = self.argv if self.cpu is None else ["taskset", "-c", str(self.cpu), *self.argv]
        with open(self.log_path, "ab") as log:
            # A session of its own: a Ctrl+C at the terminal reaches the benchmark,
            # which then stops the server itself, in order.
            self.process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=env,
            )
        _RUNNING.append(self)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_ready(self, port: int, path: str, *, timeout: float = 30.0) -> None:
        """Wait until ``GET path`` answers 200; raise :class:`ServerStartError` if not."""
        deadline = time.monotonic() + timeout
        last_error = "no answer"
        while time.monotonic() < deadline:
            if not self.alive():
                raise ServerStartError(
                    "%s exited with status %s; log %s:\n%s"
                    % (
                        self.name,
                        self.process and self.process.returncode,
                        self.log_path,
                        self.log_tail(),
                    )
                )
            connection = http.client.HTTPConnection(LOOPBACK, port, timeout=2.0)
            try:
                connection.request("GET", path)
                response = connection.getresponse()
                response.read()
                if response.status == 200:
                    self.remember_family()
                    return
                last_error = "status %d" % response.status
            except OSError as error:
                last_error = str(error)
            finally:
                connection.close()
            time.sleep(0.1)
        raise ServerStartError(
            "%s did not answer GET %s with 200 within %gs (%s)"
            % (self.name, path, timeout, last_error)
        )

    def remember_family(self) -> None:
        """Record the live processes of this server's tree, to stop them all later."""
        if self.alive():
            self._family.update(sample_tree(self.pid).processes)

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, *, grace: float = 5.0, signum: int = signal.SIGTERM) -> None:
        """Stop the server by its pid, then any process it forked that outlived it."""
        process = self.process
        if process is None:
            return
        self.remember_family()
        if process.poll() is None:
            process.send_signal(signum)
            try:
                process.wait(grace)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for pid, starttime in self._family:
            if pid == process.pid:
                continue
            stat = read_stat(pid)
            if stat is not None and stat.starttime == starttime:
                # Same pid and start time: the very process this server forked.
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        self.process = None
        if self in _RUNNING:
            _RUNNING.remove(self)


def stop_all() -> None:
    """Stop every server still running (at exit, on SIGTERM, after Ctrl+C)."""
    for server in list(_RUNNING):
        try:
            server.stop(grace=2.0)
        except Exception as error:  # keep stopping the others
            print("could not stop %s (pid %s): %s" % (server.name, server.pid, error))


def _on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


atexit.register(stop_all)
signal.signal(signal.SIGTERM, _on_sigterm)
