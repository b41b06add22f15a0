"""Start-up latency of devserve against http.server, as whole fresh processes.

Usage (from the repository root, with the project's virtual environment)::

    python bench/startup.py                      # 20 runs of each after 2 warm-up pairs
    python bench/startup.py -n 25 --json startup.json
    python bench/startup.py --warm-caches        # let the warm-ups write bytecode caches
    # an editable install under PYTHONDONTWRITEBYTECODE=1, caches kept out of src/:
    PYTHONPYCACHEPREFIX=/tmp/pycache python bench/startup.py --warm-caches

Two figures of the developer loop, each the wall time of a new process, interpreter
start included:

- import: ``python -c "from devserve import BaseHTTPRequestHandler,
  SimpleHTTPRequestHandler, ThreadingHTTPServer"`` against the same line importing from
  ``http.server``, from start to exit;
- first answer: ``devserve PORT -d DIR`` (run as ``python -m devserve``, the same
  interpreter as this script) against ``python -m http.server PORT -b 127.0.0.1 -d
  DIR``, from just before the process is started to the end of the first complete
  response to ``GET /hello.txt HTTP/1.1`` on 127.0.0.1. devserve binds 127.0.0.1 and ::1
  by default and http.server every interface, hence ``-b 127.0.0.1``: both listen on
  loopback and are asked on the same address.

Rule 1: the two commands alternate, pair by pair (the first of a pair alternating too),
after unmeasured warm-up pairs; min, median and max are reported, and the quoted figure
is the median of the pair-by-pair ratios devserve / http.server.
Rule 2: the environment is the user's own. Whether PYTHONDONTWRITEBYTECODE is set is
printed, with how many of the modules the commands import have a fresh bytecode cache:
a module without one is compiled from source in every run, and the figures are then
flagged as not the ones to quote. ``--warm-caches`` lets the warm-up processes (only
those) write the caches.
Rule 3: a server is found ready by trying to connect every millisecond; the request
goes out as soon as a connection is accepted. It is then stopped by its pid with
SIGINT, a developer's Ctrl+C (SIGKILL after 5 s), and waited for. Each run uses a fresh
free port.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from processes import LOOPBACK, ServerProcess, ServerStartError, free_port, stop_all

NAMES = "BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer"
SIDES = ("devserve", "http.server")
TARGETS = {"import": 1.5, "first answer": 1.3}  # from the issue: ratio at most
HELLO = b"hello, world\n"
POLL_S = 0.001  # between connection attempts
CONNECT_TIMEOUT_S = 0.05
READY_TIMEOUT_S = 30.0
STOP_GRACE_S = 5.0
Env = dict[str, str] | None  # a child's environment; None: this process's

# Run in a child: how many modules the commands import have a valid bytecode cache.
CACHE_CHECK = """
import importlib.util, json, os, sys
import devserve, devserve.cli.main, http.server
counts = {}
for module in list(sys.modules.values()):
    spec = getattr(module, "__spec__", None)
    if spec is None or not spec.cached or not str(spec.origin).endswith(".py"):
        continue
    try:
        with open(spec.cached, "rb") as file:
            head = file.read(16)
        stat = os.stat(spec.origin)
    except OSError:
        fresh = False
    else:
        word = [int.from_bytes(head[i : i + 4], "little") for i in (4, 8, 12)]
        fresh = head[:4] == importlib.util.MAGIC_NUMBER and (
            word[0] != 0  # hash-based
            or word[1:] == [int(stat.st_mtime) & 0xFFFFFFFF, stat.st_size & 0xFFFFFFFF]
        )
    group = "devserve" if module.__name__.partition(".")[0] == "devserve" else "others"
    done, total = counts.get(group, (0, 0))
    counts[group] = (done + fresh, total + 1)
print(json.dumps(counts))
"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Start-up latency of devserve against http.server, as whole processes."
    )
    parser.add_argument("-n", "--runs", type=int, default=20, help="counted runs of each (20)")
    parser.add_argument("--warmup", type=int, default=2, help="unmeasured pairs first (2)")
    parser.add_argument(
        "--warm-caches",
        action="store_true",
        help="run the warm-ups without PYTHONDONTWRITEBYTECODE, so they write bytecode caches",
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write every run here")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.warmup < 0:
        parser.error("--runs >= 1 and --warmup >= 0")
    if args.warm_caches and args.warmup < 1:
        parser.error("--warm-caches needs --warmup >= 1")
    return args


# -- the commands -----------------------------------------------------------------


def import_argv(side: str) -> list[str]:
    return [sys.executable, "-c", "from %s import %s" % (side, NAMES)]


def server_argv(side: str, port: object, docroot: object) -> list[str]:
    if side == "devserve":
        return [sys.executable, "-m", "devserve", str(port), "-d", str(docroot)]
    return [sys.executable, "-m", "http.server", str(port), "-b", LOOPBACK, "-d", str(docroot)]


def time_import(side: str, env: Env) -> float:
    started = time.perf_counter()
    subprocess.run(import_argv(side), stdin=subprocess.DEVNULL, env=env, check=True)
    return time.perf_counter() - started


def get_when_ready(server: ServerProcess, port: int) -> tuple[int, bytes]:
    """Connect as soon as *server* listens, send the request, return status and body."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    request = b"GET /hello.txt HTTP/1.1\r\nHost: %s:%d\r\nConnection: close\r\n\r\n" % (
        LOOPBACK.encode(),
        port,
    )
    while True:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.settimeout(CONNECT_TIMEOUT_S)
        try:
            sock.connect((LOOPBACK, port))
        except OSError:
            sock.close()
            if not server.alive() or time.monotonic() > deadline:
                raise ServerStartError(
                    "%s did not listen on %s:%d:\n%s"
                    % (server.name, LOOPBACK, port, server.log_tail())
                ) from None
            time.sleep(POLL_S)
            continue
        with sock:
            sock.settimeout(READY_TIMEOUT_S)
            sock.sendall(request)
            response = http.client.HTTPResponse(sock)
            response.begin()
            return response.status, response.read()


def time_first_answer(side: str, workdir: Path, env: Env, exits: dict[str, list[int]]) -> float:
    port = free_port()
    argv = server_argv(side, port, workdir / "docroot")
    server = ServerProcess(side, argv, workdir / ("%s.log" % side), cpu=None)
    started = time.perf_counter()
    server.start(env)
    popen = server.process
    assert popen is not None
    try:
        status, body = get_when_ready(server, port)
        elapsed = time.perf_counter() - started
    finally:
        server.stop(grace=STOP_GRACE_S, signum=signal.SIGINT)
    if status != 200 or body != HELLO:
        raise ServerStartError("%s answered %d %r" % (side, status, body[:80]))
    exits[side].append(popen.returncode)
    return elapsed


# -- measuring and reporting --------------------------------------------------------


def interleave(
    measure: Callable[[str, Env], float], runs: int, warmup: int, warm_env: Env
) -> dict[str, Any]:
    """Warm-up pairs, then *runs* pairs; the first of each pair alternates."""
    times: dict[str, list[float]] = {side: [] for side in SIDES}
    for pair in range(warmup + runs):
        order = SIDES if pair % 2 == 0 else SIDES[::-1]
        figures = {side: measure(side, warm_env if pair < warmup else None) for side in order}
        if pair >= warmup:
            for side in SIDES:
                times[side].append(figures[side])
    ratios = [mine / theirs for mine, theirs in zip(*times.values(), strict=True)]
    return {
        "times_s": times,
        "pair_ratios": ratios,
        "ratio_of_medians": statistics.median(times["devserve"])
        / statistics.median(times["http.server"]),
        "median_pair_ratio": statistics.median(ratios),
    }


def cache_state() -> dict[str, tuple[int, int]]:
    """Per group (devserve, others): modules with a fresh bytecode cache, modules."""
    output = subprocess.run(
        [sys.executable, "-c", CACHE_CHECK], capture_output=True, text=True, check=True
    ).stdout
    return {group: (int(done), int(total)) for group, (done, total) in json.loads(output).items()}


def render(phase: str, result: dict[str, Any], commands: list[str]) -> list[str]:
    target = TARGETS[phase]
    quoted = result["median_pair_ratio"]
    lines = ["", "%s:" % phase] + ["  %s" % command for command in commands]
    lines.append("  %-12s %9s %9s %9s" % ("", "min", "median", "max"))
    for side, times in result["times_s"].items():
        ms = [1e3 * value for value in times]
        lines.append(
            "  %-12s %6.1f ms %6.1f ms %6.1f ms" % (side, min(ms), statistics.median(ms), max(ms))
        )
    lines.append(
        "  devserve / http.server: median of pair ratios %.2f (ratio of medians %.2f);"
        " target <= %.1f: %s"
        % (quoted, result["ratio_of_medians"], target, "met" if quoted <= target else "missed")
    )
    return lines


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Ctrl+C must reach this script, and SIGINT must stop the servers, even when this
    # script was started with SIGINT ignored (which its children would inherit).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    warm_env: Env = None
    if args.warm_caches:
        warm_env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    dont_write = os.environ.get("PYTHONDONTWRITEBYTECODE")
    prefix = os.environ.get("PYTHONPYCACHEPREFIX")
    load_start = os.getloadavg()[0]
    exits: dict[str, list[int]] = {side: [] for side in SIDES}
    results: dict[str, Any] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="devserve-startup-") as tmp:
            workdir = Path(tmp)
            (workdir / "docroot").mkdir()
            (workdir / "docroot" / "hello.txt").write_bytes(HELLO)
            results["import"] = interleave(time_import, args.runs, args.warmup, warm_env)
            results["first answer"] = interleave(
                lambda side, env: time_first_answer(side, workdir, env, exits),
                args.runs,
                args.warmup,
                warm_env,
            )
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (ServerStartError, subprocess.CalledProcessError, OSError) as error:
        print("failed: %s" % error, file=sys.stderr)
        return 1
    finally:
        stop_all()
    caches = cache_state()

    lines = [
        "devserve start-up against http.server: whole new processes, interpreter start included",
        "Python %s (%s), Linux %s, %d CPUs; load average %.2f at start, %.2f at end"
        % (
            sys.version.split()[0],
            sys.executable,
            platform.release(),
            os.cpu_count() or 0,
            load_start,
            os.getloadavg()[0],
        ),
        "PYTHONDONTWRITEBYTECODE: %s%s; PYTHONPYCACHEPREFIX: %s"
        % (
            "set (%r)" % dont_write if dont_write is not None else "not set",
            ", but not for the warm-ups (--warm-caches)" if args.warm_caches else "",
            prefix or "not set",
        ),
        "fresh bytecode caches, modules the commands import: %s"
        % ", ".join("%s %d/%d" % (group, *caches[group]) for group in sorted(caches)),
        "%d counted runs of each after %d warm-up pair(s), interleaved; the first of a pair"
        " alternates; ratios are devserve / http.server" % (args.runs, args.warmup),
    ]
    if any(done < total for done, total in caches.values()):
        lines.append(
            "WARNING: modules without a fresh cache were compiled from source in every run;"
            " these figures are not the ones to quote (see --warm-caches)"
        )
    if args.runs < 20:
        lines.append("NOTE: fewer than 20 runs of each; for a quick look only")
    lines += render("import", results["import"], [shlex.join(import_argv(side)) for side in SIDES])
    lines += render(
        "first answer",
        results["first answer"],
        [
            "devserve PORT -d DIR, run as: %s" % shlex.join(server_argv(SIDES[0], "PORT", "DIR")),
            "%s (-b: loopback only, as devserve by default; both asked on %s)"
            % (shlex.join(server_argv(SIDES[1], "PORT", "DIR")), LOOPBACK),
        ],
    )
    lines.append(
        "  until the end of the first complete response to GET /hello.txt HTTP/1.1;"
        " exit statuses after SIGINT: %s"
        % "; ".join("%s %s" % (side, sorted(set(codes))) for side, codes in exits.items())
    )
    print("\n".join(lines))
    if args.json:
        facts = {
            "python": sys.version.split()[0],
            "executable": sys.executable,
            "PYTHONDONTWRITEBYTECODE": dont_write,
            "PYTHONPYCACHEPREFIX": prefix,
            "warm_caches": args.warm_caches,
            "fresh_caches": caches,
            "runs": args.runs,
            "warmup_pairs": args.warmup,
            "targets": TARGETS,
            "exit_statuses_after_sigint": exits,
        }
        args.json.write_text(json.dumps({"facts": facts, "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
