"""The devserve command line in a subprocess on 127.0.0.1, stopped by its pid.

:class:`Devserve` runs ``python -m devserve`` (files mode) and reads its port from the
banner; :func:`start_app` and :func:`stop_app` run and stop the ``--app`` mode;
:func:`flask_project` writes a small Flask project with a template and a stylesheet;
:class:`DevserveProcess` runs either mode in a directory and reads stderr while it runs.
"""

from __future__ import annotations

import contextlib
import os
import re
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from support import processes

ROOT = Path(__file__).resolve().parent.parent.parent
TIMEOUT = 5.0
BANNER = re.compile(r"Serving (HTTP|HTTPS) on (\S+) port (\d+)")


class Devserve:
    """A ``python -m devserve`` process; :attr:`port` is read from its banner."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        environment = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "devserve", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=environment,
            # A shell's background job ignores SIGINT, and the child would inherit
            # that; Ctrl+C is what these tests send.
            preexec_fn=processes.default_sigint,
        )
        self.banner: list[tuple[str, str, int]] = []
        self.stdout = self._read_banner()

    def _read_banner(self) -> str:
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        received = b""
        deadline = time.monotonic() + TIMEOUT
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            # Raw reads: a buffered readline would keep lines select() cannot see.
            while b"\nDirectory " not in received and time.monotonic() < deadline:
                if not selector.select(deadline - time.monotonic()):
                    break
                chunk = os.read(fd, 4096)
                if not chunk:
                    break
                received += chunk
        text = received.decode()
        for found in BANNER.finditer(text):
            self.banner.append((found[1], found[2], int(found[3])))
        return text

    @property
    def port(self) -> int:
        return self.banner[0][2]

    @property
    def url(self) -> str:
        return "http://127.0.0.1:%d" % self.port

    def stop(self, sig: int = signal.SIGINT) -> tuple[int, str, str]:
        if self.process.poll() is None:
            os.kill(self.process.pid, sig)
        try:
            out, err = self.process.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            os.kill(self.process.pid, signal.SIGKILL)
            out, err = self.process.communicate(timeout=TIMEOUT)
        return self.process.returncode, self.stdout + out.decode(), err.decode()


def start(running: list[Devserve], *args: str, env: dict[str, str] | None = None) -> Devserve:
    """Start ``devserve *args``, add it to *running* (stopped by the caller), check its banner."""
    server = Devserve(*args, env=env)
    running.append(server)
    assert server.banner, server.stop()
    return server


def start_app(*args: str, cwd: Path = ROOT) -> tuple[subprocess.Popen[str], int]:
    """Start ``devserve *args`` in the ``--app`` mode; return it and the port it printed."""
    proc = processes.start(
        [sys.executable, "-m", "devserve", *args], cwd=cwd, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    for _ in range(5):
        line = proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        if match:
            return proc, int(match[1])
    proc.kill()
    raise AssertionError("no banner: %s" % proc.communicate(timeout=processes.TIMEOUT)[1])


def stop_app(proc: subprocess.Popen[str]) -> tuple[int, str]:
    """Ctrl+C a :func:`start_app` process; return its exit status and its stderr."""
    _out, err = processes.interrupt(proc)
    return proc.returncode, err


FLASK_APP = """
from flask import Flask, render_template
app = Flask(__name__)

@app.get("/")
def page():
    return render_template("page.html")
"""


def flask_project(root: Path) -> Path:
    (root / "templates").mkdir()
    (root / "static").mkdir()
    (root / "app.py").write_text(FLASK_APP)
    (root / "templates" / "page.html").write_text(
        '<html><head><link rel="stylesheet" href="/static/site.css"></head>'
        "<body><h1>first</h1></body></html>"
    )
    (root / "static" / "site.css").write_text("h1 { color: red }")
    return root


BANNER_END = "press Ctrl+C to stop"


def same_devserve_path() -> str:
    """``PYTHONPATH`` for a child that imports the devserve this process imported.

    The directory holding the package comes first and every inherited entry is made
    absolute: a child started in another directory would otherwise import another
    devserve (``PYTHONPATH=src`` means nothing from a temporary directory).
    """
    import devserve

    entries = [str(Path(devserve.__file__).resolve().parent.parent)]
    for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep):
        if entry and os.path.abspath(entry) not in entries:
            entries.append(os.path.abspath(entry))
    return os.pathsep.join(entries)


class DevserveProcess:
    """``python -m devserve *args`` in *cwd*, both modes: the banner read, stderr while it runs.

    Both pipes are read raw and without blocking (:meth:`wait_for_stderr`), so a test
    can wait for an access-log line instead of sleeping; :meth:`stop` sends Ctrl+C to
    the process by its pid (SIGKILL to it and its children past the timeout) and
    returns ``(status, stdout, stderr)``.  Bytecode is written, as on most machines:
    the reloader must never serve a stale ``.pyc``.
    """

    def __init__(
        self, *args: str, cwd: Path | str | None = None, env: dict[str, str] | None = None
    ) -> None:
        environment = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": same_devserve_path(),
            **(env or {}),
        }
        environment.pop("PYTHONDONTWRITEBYTECODE", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "devserve", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env=environment,
            preexec_fn=processes.default_sigint,
        )
        self._out = b""
        self._err = b""
        assert self.process.stdout is not None
        assert self.process.stderr is not None
        self._open = {self.process.stdout.fileno(): "out", self.process.stderr.fileno(): "err"}
        self._result: tuple[int, str, str] | None = None
        self._pump(lambda: BANNER_END in self.stdout, TIMEOUT * 2)
        #: ``(scheme, host, port)`` for each ``Serving ...`` line.
        self.banner = [(m[1], m[2], int(m[3])) for m in BANNER.finditer(self.stdout)]

    @property
    def stdout(self) -> str:
        return self._out.decode(errors="replace")

    @property
    def stderr(self) -> str:
        return self._err.decode(errors="replace")

    @property
    def port(self) -> int:
        return self.banner[0][2]

    def _pump(self, done: Callable[[], bool], timeout: float) -> bool:
        """Read both pipes until *done()*, both pipes end, or *timeout*; return *done()*."""
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            for fd in self._open:
                selector.register(fd, selectors.EVENT_READ)
            while not done() and self._open:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                for key, _events in selector.select(remaining):
                    chunk = os.read(key.fd, 65536)
                    if not chunk:
                        selector.unregister(key.fd)
                        del self._open[key.fd]
                    elif self._open[key.fd] == "out":
                        self._out += chunk
                    else:
                        self._err += chunk
        return done()

    def wait_for_stderr(self, text: str, count: int = 1, timeout: float = TIMEOUT) -> str:
        """Wait until *text* appears *count* times on stderr; return stderr so far."""
        self._pump(lambda: self.stderr.count(text) >= count, timeout)
        return self.stderr

    def _children(self) -> list[int]:
        pid = self.process.pid
        try:
            with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
                return [int(child) for child in f.read().split()]
        except OSError:
            return []

    def stop(self, sig: int = signal.SIGINT) -> tuple[int, str, str]:
        """Stop the process by its pid (Ctrl+C by default); return status, stdout, stderr."""
        if self._result is not None:
            return self._result
        if self.process.poll() is None:
            os.kill(self.process.pid, sig)
        # Read while it stops (a full pipe would hold it), until every writer (a
        # reloader's child too) has closed its end.
        self._pump(lambda: False, TIMEOUT * 2)
        try:
            self.process.wait(timeout=1)
        except subprocess.TimeoutExpired:
            for child in self._children():
                with contextlib.suppress(OSError):
                    os.kill(child, signal.SIGKILL)
            self.process.kill()
            self.process.wait()
            self._pump(lambda: False, TIMEOUT)
        assert self.process.stdout is not None
        assert self.process.stderr is not None
        self.process.stdout.close()
        self.process.stderr.close()
        self._result = (self.process.returncode, self.stdout, self.stderr)
        return self._result
