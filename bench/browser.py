"""Live reload as a browser sees it: a saved file → the open page shows it, in headless Chromium.

Usage (from the repository root, with the project's virtual environment)::

    python bench/browser.py              # 5 rounds of each measure
    python bench/browser.py -n 10 --json browser.json

Each round starts ``python -m devserve -d SITE --livereload -q`` on 127.0.0.1 at a free
port, in a new temporary site holding ``index.html`` and ``style.css``, opens the page
in one headless Chromium (driven over the DevTools protocol by
``tests/support/cdp.py``, stdlib only) and measures:

- **saved page → reloaded**: ``index.html`` is rewritten with a new heading; the time
  from the write to the moment the page shows it (asked every 5 ms), the page having
  been reloaded;
- **saved stylesheet → swapped**: ``style.css`` gets a new background; the time to the
  moment the page's computed style has it, without a reload.

Target (issue 13): a saved static file → browser reloaded ≤ 0.2 s.  ``flask run`` has
no live reload to compare with.  A measure that does not happen within 10 s is a
timeout, never a figure.  Needs ``chromium`` on PATH.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from support.cdp import Chromium, Page  # noqa: E402

PAGE = """<!doctype html>
<html><head><title>bench</title><link rel="stylesheet" href="style.css"></head>
<body><h1>%s</h1></body></html>"""
STYLE = "body { background: %s; }"
LIMIT = 10.0
TARGET = 0.2
HEADING = (
    "document.readyState === 'complete' && window.__devserveLiveReload === true && "
    "document.querySelector('h1') !== null && document.querySelector('h1').textContent === %r"
)
BACKGROUND = "getComputedStyle(document.body).backgroundColor === %r"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(page: Page, expression: str, started: float) -> float | None:
    """Seconds from *started* until *expression* is true in the page, or ``None``."""
    while time.perf_counter() - started < LIMIT:
        try:
            if page.evaluate(expression) is True:
                return time.perf_counter() - started
        except (RuntimeError, KeyError, AssertionError):
            pass  # the page is navigating: its context is being replaced
        time.sleep(0.005)
    return None


def start_devserve(site: Path, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "devserve", str(port), "-b", "127.0.0.1", "-d", str(site),
         "--livereload", "-q"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )  # fmt: skip
    deadline = time.monotonic() + LIMIT
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc
        except OSError:
            time.sleep(0.02)
    proc.kill()
    raise SystemExit("devserve did not start")


def one_round(page: Page, workdir: Path) -> dict[str, float | None]:
    site = Path(tempfile.mkdtemp(dir=workdir))
    (site / "index.html").write_text(PAGE % "first")
    (site / "style.css").write_text(STYLE % "rgb(1, 2, 3)")
    port = free_port()
    proc = start_devserve(site, port)
    try:
        page.navigate("http://127.0.0.1:%d/" % port)
        if wait_until(page, HEADING % "first", time.perf_counter()) is None:
            raise SystemExit("the page did not load")
        time.sleep(0.3)  # the watcher has taken its first look
        started = time.perf_counter()
        (site / "index.html").write_text(PAGE % "second")
        reloaded = wait_until(page, HEADING % "second", started)
        time.sleep(0.3)
        started = time.perf_counter()
        (site / "style.css").write_text(STYLE % "rgb(4, 5, 6)")
        swapped = wait_until(page, BACKGROUND % "rgb(4, 5, 6)", started)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(LIMIT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return {"saved page → reloaded": reloaded, "saved stylesheet → swapped": swapped}


def report(runs: list[dict[str, float | None]]) -> str:
    lines = ["| measure | devserve (median, min-max) | target |", "|---|---:|---|"]
    for measure in runs[0]:
        values = [run[measure] for run in runs]
        timed = [value for value in values if value is not None]
        if len(timed) < len(values):
            cell = "timeout in %d of %d" % (len(values) - len(timed), len(values))
        else:
            cell = "%.3f s (%.3f-%.3f)" % (statistics.median(timed), min(timed), max(timed))
        met = bool(timed) and len(timed) == len(values) and statistics.median(timed) <= TARGET
        lines.append(
            "| %s | %s | ≤ %.1f s: %s |" % (measure, cell, TARGET, "met" if met else "missed")
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("-n", "--rounds", type=int, default=5)
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        print("bench/browser.py: chromium is not on PATH", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="devserve-browser-bench-"))
    browser = Chromium(binary, workdir / "profile")
    runs = []
    try:
        page = browser.page()
        page.call("Page.enable")
        page.call("Runtime.enable")
        for number in range(args.rounds):
            print("round %d/%d" % (number + 1, args.rounds), file=sys.stderr, flush=True)
            runs.append(one_round(page, workdir))
        page.close()
    finally:
        browser.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    print(report(runs))
    if args.json:
        Path(args.json).write_text(json.dumps(runs, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
