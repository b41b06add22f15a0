"""The development loop of a Flask app: devserve --reload against flask run --reload, same run.

Usage (from the repository root, with the project's virtual environment)::

    python bench/devloop.py              # 5 rounds of each measure
    python bench/devloop.py -n 10 --json devloop.json

Each round starts each server fresh, on 127.0.0.1 at a free port, in a new temporary
project holding a two-route Flask app (``app.py``), and measures, alternating the two
servers (the first alternating from round to round):

- **save → new code**: ``app.py`` is rewritten with a new version string; the time
  from the write to the first response that carries it (asked every 5 ms);
- **save during a request → new code**: the same, while a request to a route that
  takes 1 s is in flight (sent 0.2 s before the save); and whether that request was
  **cut** (no complete ``200`` with the old version) instead of finished;
- **syntax error → error page**: a line that cannot compile is appended; the time to
  the first ``500`` answer;
- **fix → new code**: the line is removed again; the time to the fixed version;
- **SIGTERM → port free**: the time from ``kill`` to the moment the port can be bound
  again (with ``SO_REUSEADDR``, as servers bind), and whether any process of the tree
  is left behind.

Commands: ``python -m devserve --app app:app --reload --debug -q PORT`` and ``python -m
flask --app app run --reload --debug --port PORT`` (``--debug``: flask shows a syntax
error as a page only with its debugger; devserve shows it without).  Both run with the
user's environment (bytecode caches written as usual).  A measure that does not happen
within 10 s is reported as a timeout, never as a figure.

Targets (the issue): save → new code ≤ 0.25 s; SIGTERM → port free ≤ 1 s; syntax error
→ error page ≤ 0.5 s.  Rule: nothing is hard-coded; every figure is measured by the run
that prints it.  The table goes to stdout, progress to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from procstat import read_stat, sample_tree

APP = """import time

from flask import Flask

app = Flask(__name__)
VERSION = "{version}"


@app.get("/")
def index():
    return VERSION


@app.get("/slow")
def slow():
    time.sleep(1.0)
    return VERSION
"""
LIMIT = 10.0
POLL = 0.005
SERVERS = ("devserve", "flask")
MEASURES = (
    "save → new code", "save during a request → new code", "syntax error → error page",
    "fix → new code", "SIGTERM → port free",
)  # fmt: skip
COUNTS = ("requests cut at a save", "left running")
TARGETS = {
    "save → new code": 0.25, "save during a request → new code": 0.25,
    "syntax error → error page": 0.5, "SIGTERM → port free": 1.0,
}  # fmt: skip


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ask(port: int, path: str = "/") -> tuple[int, bytes] | None:
    """One ``GET``: its status and body, or ``None`` if nothing answered."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(
                b"GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n" % path.encode()
            )
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
    except OSError:
        return None
    head, _, body = data.partition(b"\r\n\r\n")
    try:
        return int(head.split(b" ", 2)[1]), body
    except (IndexError, ValueError):
        return None


def until(port: int, wanted: object, started: float) -> float | None:
    """Seconds from *started* until an answer matches *wanted*: a body or a status."""
    while time.monotonic() - started < LIMIT:
        answer = ask(port)
        if answer is not None and wanted in answer:
            return time.monotonic() - started
        time.sleep(POLL)
    return None


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def tree(pid: int) -> list[int]:
    """*pid* and every process below it."""
    return [member for member, _started in sample_tree(pid).processes]


def alive(pid: int) -> bool:
    stat = read_stat(pid)
    return stat is not None and stat.state != "Z"


def command(server: str, port: int) -> list[str]:
    if server == "devserve":
        return [sys.executable, "-m", "devserve", "--app", "app:app", "--reload", "--debug",
                "-q", str(port)]  # fmt: skip
    return [sys.executable, "-m", "flask", "--app", "app", "run", "--reload", "--debug",
            "--port", str(port)]  # fmt: skip


def one_round(server: str) -> dict[str, float | None]:
    """Start *server* in a fresh project; return each measure's seconds (``None``: timeout)."""
    figures: dict[str, float | None] = dict.fromkeys(MEASURES)
    with tempfile.TemporaryDirectory(prefix="devloop-") as directory:
        project = Path(directory)
        source = project / "app.py"
        source.write_text(APP.format(version="v1"))
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "WERKZEUG_"))}
        proc = subprocess.Popen(
            command(server, port), cwd=project, env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        try:
            if until(port, b"v1", time.monotonic()) is None:
                raise RuntimeError("%s never served the app" % server)
            time.sleep(0.5)  # settled: the reloader watches
            started = time.monotonic()
            source.write_text(APP.format(version="v2"))
            figures["save → new code"] = until(port, b"v2", started)
            time.sleep(0.5)
            answers: list[tuple[int, bytes] | None] = []
            request = threading.Thread(target=lambda: answers.append(ask(port, "/slow")))
            request.start()
            time.sleep(0.2)  # in flight
            started = time.monotonic()
            source.write_text(APP.format(version="v2b"))
            figures["save during a request → new code"] = until(port, b"v2b", started)
            request.join(LIMIT)
            figures["requests cut at a save"] = float(answers != [(200, b"v2")])
            time.sleep(0.5)
            started = time.monotonic()
            source.write_text(APP.format(version="v3") + "def broken(:\n")
            figures["syntax error → error page"] = until(port, 500, started)
            time.sleep(0.5)
            started = time.monotonic()
            source.write_text(APP.format(version="v4"))
            figures["fix → new code"] = until(port, b"v4", started)
            time.sleep(0.3)
            members = tree(proc.pid)
            started = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            while not port_free(port) and time.monotonic() - started < LIMIT:
                time.sleep(POLL)
            freed = time.monotonic() - started
            figures["SIGTERM → port free"] = freed if freed < LIMIT else None
            time.sleep(1.0)
            figures["left running"] = float(sum(alive(pid) for pid in members))
        finally:
            for pid in tree(proc.pid):
                if alive(pid):
                    os.kill(pid, signal.SIGKILL)
            proc.wait()
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("-n", "--rounds", type=int, default=5)
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()
    runs: dict[str, list[dict[str, float | None]]] = {name: [] for name in SERVERS}
    for index in range(args.rounds):
        order = SERVERS if index % 2 == 0 else SERVERS[::-1]
        for server in order:
            print("round %d: %s" % (index + 1, server), file=sys.stderr, flush=True)
            runs[server].append(one_round(server))
    print(report(runs, args.rounds))
    if args.json:
        Path(args.json).write_text(json.dumps(runs, indent=2))
    return 0


def report(runs: dict[str, list[dict[str, float | None]]], rounds: int) -> str:
    lines = [
        "Development loop of a small Flask app, %d rounds each, medians (min-max); "
        "Python %s." % (rounds, sys.version.split()[0]),
        "",
        "| measure | devserve | flask run | target (devserve) |",
        "|---|---|---|---|",
    ]
    for measure in (*MEASURES, *COUNTS):
        cells = [cell([run.get(measure) for run in runs[name]], measure) for name in SERVERS]
        target = TARGETS.get(measure)
        verdict = "—"
        if target is not None:
            values = [run.get(measure) for run in runs["devserve"]]
            known = [v for v in values if v is not None]
            met = len(known) == len(values) and statistics.median(known) <= target
            verdict = "≤ %g s: %s" % (target, "met" if met else "missed")
        lines.append("| %s | %s | %s | %s |" % (measure, *cells, verdict))
    return "\n".join(lines)


def cell(values: list[float | None], measure: str) -> str:
    known = [v for v in values if v is not None]
    timeouts = len(values) - len(known)
    if measure == "left running":
        return "%d processes" % int(sum(known))
    if measure in COUNTS:
        return "%d of %d" % (int(sum(known)), len(values))
    if not known:
        return "timeout x%d" % timeouts
    text = "%.3f s (%.3f-%.3f)" % (statistics.median(known), min(known), max(known))
    return text + (", timeout x%d" % timeouts if timeouts else "")


if __name__ == "__main__":
    sys.exit(main())
