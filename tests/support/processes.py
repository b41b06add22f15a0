"""Servers in subprocesses for tests: a free port, wait until it answers, stop by pid.

Every process is stopped by its own pid: Ctrl+C (SIGINT) first, as a user would, then
SIGKILL if it does not exit in time.  SIGINT is reset to its default in the child,
because a shell's background job ignores SIGINT and its children inherit that.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

TIMEOUT = 10


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_free(port: int) -> bool:
    """Whether the next server can listen on *port* (as servers do: ``SO_REUSEADDR``)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (state first), or ``None``."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None


def alive(pid: int) -> bool:
    """Whether process *pid* exists and is not a zombie."""
    fields = _stat_fields(pid)
    return fields is not None and fields[0] != "Z"


def children_of(parent: int) -> list[int]:
    """The pids of the living children of *parent* (Linux's /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None and int(fields[1]) == parent and fields[0] != "Z":
                found.append(int(entry.name))
    return found


def child_of(parent: int) -> int:
    """The pid of a child of *parent* (Linux's /proc)."""
    for pid in children_of(parent):
        return pid
    raise AssertionError("no child of %d" % parent)


def default_sigint() -> None:
    """Give the child the default SIGINT action (for ``preexec_fn``)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def wait_for_port(port: int, proc: subprocess.Popen[Any], timeout: float = TIMEOUT) -> None:
    """Return once *port* accepts connections; fail with the child's stderr if it died."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                stderr = proc.communicate(timeout=timeout)[1] if proc.stderr else b""
                if isinstance(stderr, bytes):
                    stderr = stderr.decode(errors="replace")
                raise AssertionError("no server on port %d: %s" % (port, stderr)) from None
            time.sleep(0.05)


def interrupt(proc: subprocess.Popen[Any], timeout: float = TIMEOUT) -> tuple[Any, Any]:
    """Ctrl+C *proc* (SIGKILL past *timeout*); return the ``(stdout, stderr)`` it wrote."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.communicate()


def stop(proc: subprocess.Popen[Any], timeout: float = TIMEOUT) -> int:
    """Ctrl+C *proc* (SIGKILL past *timeout*) and return its exit status."""
    interrupt(proc, timeout)
    return proc.returncode


def start(
    argv: Sequence[str],
    *,
    cwd: Path | str | None = None,
    env: dict[str, str] | None = None,
    stdout: Any = subprocess.DEVNULL,
    text: bool = False,
) -> subprocess.Popen[Any]:
    """Start *argv* with stderr piped and SIGINT at its default."""
    return subprocess.Popen(
        list(argv),
        stdout=stdout,
        stderr=subprocess.PIPE,
        cwd=cwd,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        preexec_fn=default_sigint,
        text=text,
    )


@contextmanager
def serving(
    argv: Sequence[str], port: int, *, cwd: Path | str | None = None
) -> Iterator[subprocess.Popen[Any]]:
    """Run the server *argv* until the block ends; enter once *port* answers."""
    proc = start(argv, cwd=cwd)
    try:
        wait_for_port(port, proc)
        yield proc
    finally:
        stop(proc)
