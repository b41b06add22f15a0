"""Hostile and slow clients against devserve's own server (and http.server), as processes.

Usage (from the repository root, with the project's virtual environment)::

    python bench/hostile.py                               # devserve, every kind, 1000 each
    python bench/hostile.py --server stdlib --count 300
    python bench/hostile.py --server devserve,devserve-compat --kinds no-read,idle
    python bench/hostile.py --count 20 --kinds idle,body-never-sent   # a quick look

What is measured, for each server and each kind of hostile client, on a fresh server:

1. ``--count`` connections (1000) are opened from this process, each with a small
   receive buffer (``SO_RCVBUF`` 4096, set before ``connect``), and each sends its
   kind's bytes and then nothing more, staying open:

   - ``body-never-sent``: ``GET /hello.txt`` announcing ``Content-Length: 100``, no body;
   - ``no-read``: ``GET /big.bin`` (8 MiB), and the response is never read;
   - ``stalled-upload``: ``POST /hello.txt`` announcing 100 bytes of body, 2 sent
     (the file server answers 501; what counts is whether a worker waits for the body);
   - ``trickle-head``: ``GET / HTTP/1.1\\r\\nHo`` and no more of the head;
   - ``idle``: connect and send nothing;
   - ``mixed``: the count shared round-robin among the five kinds above.

   Connections are opened in batches with non-blocking ``connect``; one that fails or
   is not established within ``--connect-timeout`` is counted (``connect failed``) and
   the run goes on with the others.  ``opened`` counts the rest, as this side sees
   them; ``open s`` is how long opening took.
2. After ``--settle`` seconds (1), while every hostile connection is still open, a
   normal client makes ``--probes`` (50) sequential ``GET /hello.txt`` requests, each
   on a new connection with ``Connection: close`` and a whole-request deadline of
   ``--timeout`` seconds (5).  A request fails unless it gets ``200`` and the file's
   bytes; a timed-out request counts as a failure *and* as ``--timeout`` of latency.
   After ``--give-up`` (3) timeouts in a row the remaining probes are not sent (a
   stuck server would otherwise cost 50 x 5 s): ``probes`` says how many were.
   p50 and p99 are nearest-rank percentiles over the probes sent (of 50, p99 is the
   slowest).
3. Meanwhile the server's threads, resident memory and open sockets (the listener
   included) are read from /proc by ``procstat.PeakSampler``, as ``run.py`` reads them,
   every 0.1 s from the settle to the last probe; the peaks are
   reported.  ``server sockets`` is what the server really holds: a connection this
   side sees as established may not have been accepted (a full listen backlog drops
   the handshake's last packet, and the server takes the connection only when that
   is repeated; http.server listens with a backlog of 5, devserve with 1024).  Then
   each hostile connection is looked at without reading it (``MSG_PEEK``):
   ``answered`` ones have bytes from the server waiting (the status
   codes are counted), ``closed`` ones were ended by the server with no answer.
4. Every hostile connection is closed, and the normal client runs again at once:
   ``p99 after`` and ``failed after`` show whether the server has recovered.

Servers: ``devserve`` is ``python -m devserve -b 127.0.0.1 -d DIR PORT -q`` (the bounded
server, with the command line's time limits), ``devserve-compat`` the same with
``--compat`` (a thread per connection and no time limits, as http.server), ``stdlib``
is ``python -m http.server -b 127.0.0.1 -d DIR PORT``.  DIR holds ``hello.txt``
(13 bytes) and ``big.bin`` (8 MiB).

Rule 1: each (server, kind) gets a server process of its own, on 127.0.0.1 at a free
port, started with the interpreter running this script, its output going to a log
file; it is stopped by its pid (SIGTERM, then SIGKILL; bench/processes.py), also on
Ctrl+C.  Nothing is pinned: the figures are for comparing kinds and servers in one
run, not for quoting to the millisecond.
Rule 2: this script raises its ``RLIMIT_NOFILE`` soft limit to the hard limit before
starting anything, so the server inherits it too.
Rule 3: nothing is hard-coded: every figure in the table is measured by the run that
prints it.  The table goes to stdout, progress to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import math
import os
import platform
import resource
import selectors
import signal
import socket
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from processes import LOOPBACK, ServerProcess, ServerStartError, free_port, stop_all
from procstat import PeakSampler

HELLO = b"hello, world\n"
BIG_SIZE = 8 * 2**20
RCVBUF = 4096
BATCH = 200  # connections in flight at once while opening
SAMPLE_INTERVAL_S = 0.1

BASE_KINDS = ("body-never-sent", "no-read", "stalled-upload", "trickle-head", "idle")
KINDS = (*BASE_KINDS, "mixed")
SERVERS = ("devserve", "devserve-compat", "stdlib")

# What each kind sends once connected; {host} is 127.0.0.1:PORT.
PAYLOADS = {
    "body-never-sent": b"GET /hello.txt HTTP/1.1\r\nHost: {host}\r\nContent-Length: 100\r\n\r\n",
    "no-read": b"GET /big.bin HTTP/1.1\r\nHost: {host}\r\n\r\n",
    "stalled-upload": b"POST /hello.txt HTTP/1.1\r\nHost: {host}\r\nContent-Length: 100\r\n\r\nab",
    "trickle-head": b"GET / HTTP/1.1\r\nHo",
    "idle": b"",
}


# -- options ----------------------------------------------------------------------


def _names(values: list[str] | None, known: tuple[str, ...], default: list[str]) -> list[str]:
    names: list[str] = []
    for item in values or default:
        names += [name.strip() for name in item.split(",") if name.strip()]
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError("unknown: %s (known: %s)" % (", ".join(unknown), ", ".join(known)))
    return list(dict.fromkeys(names))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="How devserve's server copes with hostile and slow clients, held open."
    )
    parser.add_argument(
        "--kinds",
        action="append",
        metavar="KIND",
        help="hostile kinds, repeatable or comma-separated (default: all): " + ", ".join(KINDS),
    )
    parser.add_argument(
        "--server",
        action="append",
        metavar="NAME",
        help="servers, repeatable or comma-separated (default: devserve): " + ", ".join(SERVERS),
    )
    parser.add_argument("--count", type=int, default=1000, help="hostile connections (1000)")
    parser.add_argument("--probes", type=int, default=50, help="normal requests per phase (50)")
    parser.add_argument("--timeout", type=float, default=5.0, help="deadline of a probe, s (5)")
    parser.add_argument(
        "--give-up",
        type=int,
        default=3,
        help="stop a phase's probes after this many timeouts in a row; 0: never (3)",
    )
    parser.add_argument(
        "--settle", type=float, default=1.0, help="wait after opening, before probing, s (1)"
    )
    parser.add_argument(
        "--connect-timeout",
        type=float,
        default=10.0,
        help="for each batch of hostile connects, s (10)",
    )
    args = parser.parse_args(argv)
    try:
        args.kinds = _names(args.kinds, KINDS, list(KINDS))
        args.servers = _names(args.server, SERVERS, ["devserve"])
    except ValueError as error:
        parser.error(str(error))
    if args.count < 0 or args.probes < 1 or args.timeout <= 0 or args.give_up < 0:
        parser.error("--count >= 0, --probes >= 1, --timeout > 0, --give-up >= 0")
    if args.settle < 0 or args.connect_timeout <= 0:
        parser.error("--settle >= 0 and --connect-timeout > 0")
    return args


# -- the servers ------------------------------------------------------------------


def server_argv(name: str, port: int, docroot: Path) -> list[str]:
    if name == "stdlib":
        return [sys.executable, "-m", "http.server", "-b", LOOPBACK, "-d", str(docroot), str(port)]
    argv = [sys.executable, "-m", "devserve", "-b", LOOPBACK, "-d", str(docroot), str(port), "-q"]
    if name == "devserve-compat":
        argv.append("--compat")
    return argv


def raise_nofile_limit() -> int:
    """Raise this process's soft RLIMIT_NOFILE to the hard limit; return the soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != soft:
        target = hard
        if hard == resource.RLIM_INFINITY:
            target = int(Path("/proc/sys/fs/nr_open").read_text())
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# -- the hostile clients ----------------------------------------------------------


def kinds_for(kind: str, count: int) -> list[str]:
    """The kind of each of *count* connections: ``mixed`` takes the others in turn."""
    if kind == "mixed":
        return [BASE_KINDS[i % len(BASE_KINDS)] for i in range(count)]
    return [kind] * count


def open_hostile(
    port: int, kinds: list[str], connect_timeout: float
) -> tuple[list[socket.socket], int]:
    """Open a connection per entry of *kinds* and send its bytes; return them, and failures."""
    host = ("%s:%d" % (LOOPBACK, port)).encode()
    opened: list[socket.socket] = []
    failed = 0
    for start in range(0, len(kinds), BATCH):
        selector = selectors.DefaultSelector()
        for kind in kinds[start : start + BATCH]:
            try:
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            except OSError:  # out of file descriptors
                failed += 1
                continue
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
            sock.setblocking(False)
            code = sock.connect_ex((LOOPBACK, port))
            if code not in (0, errno.EINPROGRESS):
                sock.close()
                failed += 1
                continue
            selector.register(sock, selectors.EVENT_WRITE, PAYLOADS[kind].replace(b"{host}", host))
        deadline = time.monotonic() + connect_timeout
        while selector.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            for key, _events in selector.select(remaining):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                selector.unregister(sock)
                try:
                    code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if code:
                        raise OSError(code, os.strerror(code))
                    if key.data and sock.send(key.data) != len(key.data):
                        raise OSError("short send")
                except OSError:
                    sock.close()
                    failed += 1
                    continue
                opened.append(sock)
        for key in list(selector.get_map().values()):  # not established in time
            selector.unregister(key.fileobj)
            assert isinstance(key.fileobj, socket.socket)
            key.fileobj.close()
            failed += 1
        selector.close()
    return opened, failed


def look_at(socks: list[socket.socket]) -> tuple[Counter[str], int]:
    """Status codes of the answers waiting on *socks* (unread), and how many were closed."""
    answers: Counter[str] = Counter()
    closed = 0
    for sock in socks:
        try:
            data = sock.recv(32, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            continue  # open and silent
        except OSError:
            closed += 1  # reset
            continue
        if not data:
            closed += 1
            continue
        parts = data.split(None, 2)
        status = parts[1].decode("ascii", "replace") if len(parts) > 1 else "?"
        answers[status if parts[0].startswith(b"HTTP/") else "?"] += 1
    return answers, closed


# -- the normal client ------------------------------------------------------------


def complete(data: bytes) -> bool:
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    return False  # no length: read to the end


def get_hello(port: int, timeout: float) -> tuple[str, float]:
    """One ``GET /hello.txt`` on a new connection: ("ok"|"timeout"|"error"|"status N", s)."""
    request = b"GET /hello.txt HTTP/1.1\r\nHost: %s:%d\r\nConnection: close\r\n\r\n" % (
        LOOPBACK.encode(),
        port,
    )
    started = time.perf_counter()
    deadline = started + timeout
    data = b""
    try:
        with socket.create_connection((LOOPBACK, port), timeout=timeout) as sock:
            sock.sendall(request)
            while not complete(data):
                remaining = deadline - time.perf_counter()
                if remaining <= 0:
                    raise TimeoutError
                sock.settimeout(remaining)
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
    except TimeoutError:
        return "timeout", timeout
    except OSError:
        return "error", time.perf_counter() - started
    elapsed = time.perf_counter() - started
    status_line, _, rest = data.partition(b"\r\n")
    parts = status_line.split()
    if len(parts) < 2 or parts[1] != b"200":
        code = parts[1].decode("ascii", "replace") if len(parts) > 1 else "?"
        return "status %s" % code, elapsed
    if rest.partition(b"\r\n\r\n")[2] != HELLO:
        return "error", elapsed
    return "ok", elapsed


@dataclass
class Probe:
    """One phase of the normal client."""

    sent: int = 0
    latencies_s: list[float] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)

    @property
    def failed(self) -> int:
        return self.sent - self.outcomes["ok"]

    def percentile_ms(self, share: float) -> float:
        ordered = sorted(self.latencies_s)
        return 1e3 * ordered[max(math.ceil(share * len(ordered)) - 1, 0)]


def probe(port: int, args: argparse.Namespace) -> Probe:
    result = Probe()
    in_a_row = 0
    for _ in range(args.probes):
        outcome, elapsed = get_hello(port, args.timeout)
        result.sent += 1
        result.latencies_s.append(elapsed)
        result.outcomes[outcome] += 1
        in_a_row = in_a_row + 1 if outcome == "timeout" else 0
        if args.give_up and in_a_row >= args.give_up:
            break
    return result


# -- one row ----------------------------------------------------------------------


@dataclass
class Row:
    """What one (server, kind) run measured."""

    server: str
    kind: str
    planned: int  # probes per phase
    opened: int = 0
    connect_failed: int = 0
    open_s: float = 0.0
    threads: int = 0
    rss_bytes: int = 0
    sockets: int = 0
    during: Probe = field(default_factory=Probe)
    answers: Counter[str] = field(default_factory=Counter)
    closed: int = 0
    after: Probe = field(default_factory=Probe)
    alive: bool = True

    def cells(self) -> list[str]:
        answered = ", ".join("%s:%d" % item for item in sorted(self.answers.items()))
        return [
            self.server + ("" if self.alive else " (exited)"),
            self.kind,
            str(self.opened),
            str(self.connect_failed),
            "%.1f" % self.open_s,
            str(self.sockets),
            str(self.threads),
            "%.1f" % (self.rss_bytes / 2**20),
            "%d/%d" % (self.during.sent, self.planned),
            "%.1f" % self.during.percentile_ms(0.50),
            "%.1f" % self.during.percentile_ms(0.99),
            str(self.during.failed),
            answered or "—",
            str(self.closed),
            "%.1f" % self.after.percentile_ms(0.99),
            str(self.after.failed),
        ]


COLUMNS = (
    "server",
    "kind",
    "opened",
    "connect failed",
    "open s",
    "server sockets",
    "threads",
    "RSS MiB",
    "probes",
    "p50 ms",
    "p99 ms",
    "failed",
    "answered (status:n)",
    "closed",
    "p99 after ms",
    "failed after",
)


def measure(server: str, kind: str, workdir: Path, args: argparse.Namespace) -> Row:
    row = Row(server, kind, args.probes)
    port = free_port()
    argv = server_argv(server, port, workdir / "docroot")
    process = ServerProcess(server, argv, workdir / ("%s--%s.log" % (server, kind)), cpu=None)
    process.start()
    hostile: list[socket.socket] = []
    try:
        process.wait_ready(port, "/hello.txt")
        started = time.monotonic()
        hostile, row.connect_failed = open_hostile(
            port, kinds_for(kind, args.count), args.connect_timeout
        )
        row.open_s = time.monotonic() - started
        row.opened = len(hostile)
        sampler = PeakSampler(process.pid, count_sockets=True, interval=SAMPLE_INTERVAL_S)
        sampler.start()
        try:
            time.sleep(args.settle)
            row.during = probe(port, args)
        finally:
            sampler.finish()
        row.threads, row.rss_bytes, row.sockets = (
            sampler.threads,
            sampler.rss_bytes,
            sampler.sockets,
        )
        row.answers, row.closed = look_at(hostile)
        row.alive = process.alive()
        for sock in hostile:
            sock.close()
        hostile = []
        row.after = probe(port, args)
        row.alive = row.alive and process.alive()
        return row
    finally:
        for sock in hostile:
            sock.close()
        process.stop()


# -- the table --------------------------------------------------------------------


def markdown(rows: list[list[str]]) -> str:
    widths = [max(len(cells[i]) for cells in [list(COLUMNS), *rows]) for i in range(len(COLUMNS))]

    def line(cells: list[str]) -> str:
        padded = (cell.ljust(width) for cell, width in zip(cells, widths, strict=True))
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join("-" * (width + 2) for width in widths) + "|"
    return "\n".join([line(list(COLUMNS)), rule, *(line(cells) for cells in rows)])


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Ctrl+C must reach this script (which then stops the servers, by their pids) even
    # if it was started with SIGINT ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    nofile = raise_nofile_limit()
    needed = args.count + 64
    if nofile < needed:
        print(
            "RLIMIT_NOFILE is %d, below the %d needed; lower --count" % (nofile, needed),
            file=sys.stderr,
        )
        return 2
    rows: list[list[str]] = []
    load_start = os.getloadavg()[0]
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix="devserve-hostile-") as tmp:
            workdir = Path(tmp)
            docroot = workdir / "docroot"
            docroot.mkdir()
            (docroot / "hello.txt").write_bytes(HELLO)
            (docroot / "big.bin").write_bytes(bytes(range(256)) * (BIG_SIZE // 256))
            for server in args.servers:
                for kind in args.kinds:
                    print("%s, %s: %d connections..." % (server, kind, args.count), file=sys.stderr)
                    rows.append(measure(server, kind, workdir, args).cells())
                    print("   " + " | ".join(rows[-1][2:]), file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (ServerStartError, OSError) as error:
        print("failed: %s" % error, file=sys.stderr)
        return 1
    finally:
        stop_all()
    print(
        "Hostile clients held open: %d per row (SO_RCVBUF %d); %d probes per phase, %g s"
        " deadline, give up after %d timeouts in a row; settle %g s."
        % (args.count, RCVBUF, args.probes, args.timeout, args.give_up, args.settle)
    )
    print(
        "Python %s, Linux %s, %d CPUs, RLIMIT_NOFILE %d; load average %.2f at start, %.2f at"
        " end; %.0f s in all."
        % (
            sys.version.split()[0],
            platform.release(),
            os.cpu_count() or 0,
            nofile,
            load_start,
            os.getloadavg()[0],
            time.monotonic() - started,
        )
    )
    print()
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
