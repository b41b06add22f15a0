"""What a server process costs, read from Linux's /proc.

Rule 1: a server is a process tree (nginx and gunicorn fork workers), so every figure
is summed over the root and its live descendants.
Rule 2: CPU time is user + system of the live processes plus what they have reaped
(``cutime``/``cstime``), so a worker that exits mid-run moves its time to its parent
instead of losing it.
Rule 3: the parsers take text and return values; only the ``read_*`` functions touch
/proc, so the parsers are tested on canned strings.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "PeakSampler",
    "ProcStat",
    "TreeSample",
    "descendants",
    "parse_cpu_times",
    "parse_stat",
    "read_cpu_times",
    "read_stat",
    "sample_tree",
]

PROC = Path("/proc")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class ProcStat:
    """The fields of one /proc/PID/stat line that the benchmark uses."""

    pid: int
    comm: str
    ppid: int
    utime: int  # clock ticks
    stime: int
    cutime: int
    cstime: int
    num_threads: int
    starttime: int  # clock ticks after boot: with pid, names a process uniquely
    rss_pages: int
    state: str = "R"  # field 3: Z for a zombie

    @property
    def cpu_ticks(self) -> int:
        """User and system time of the process and of the children it has reaped."""
        return self.utime + self.stime + self.cutime + self.cstime


def parse_stat(text: str) -> ProcStat:
    """Parse the one line of /proc/PID/stat.

    The command name (field 2) is in parentheses and may itself hold spaces and
    parentheses, so the fields after it are found from the *last* ``)``.
    """
    open_paren = text.index("(")
    close_paren = text.rindex(")")
    pid = int(text[:open_paren])
    comm = text[open_paren + 1 : close_paren]
    # rest[0] is field 3 (state): field N of proc(5) is rest[N - 3].
    rest = text[close_paren + 2 :].split()
    return ProcStat(
        pid=pid,
        comm=comm,
        ppid=int(rest[1]),
        utime=int(rest[11]),
        stime=int(rest[12]),
        cutime=int(rest[13]),
        cstime=int(rest[14]),
        num_threads=int(rest[17]),
        starttime=int(rest[19]),
        rss_pages=int(rest[21]),
        state=rest[0],
    )


def read_stat(pid: int) -> ProcStat | None:
    """Return the stat of *pid*, or ``None`` if it has gone."""
    try:
        return parse_stat((PROC / str(pid) / "stat").read_text())
    except (FileNotFoundError, ProcessLookupError, ValueError, IndexError):
        return None


def _all_stats() -> dict[int, ProcStat]:
    stats = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            stat = read_stat(int(entry.name))
            if stat is not None:
                stats[stat.pid] = stat
    return stats


def descendants(root: int, stats: dict[int, ProcStat]) -> list[ProcStat]:
    """Return *root* and every process below it in *stats* (a pid -> stat map)."""
    children: dict[int, list[int]] = {}
    for stat in stats.values():
        children.setdefault(stat.ppid, []).append(stat.pid)
    found = []
    pending = [root]
    while pending:
        pid = pending.pop()
        if pid in stats:
            found.append(stats[pid])
            pending.extend(children.get(pid, ()))
    return found


def _count_sockets(pid: int) -> int:
    fd_dir = PROC / str(pid) / "fd"
    count = 0
    try:
        names = os.listdir(fd_dir)
    except OSError:
        return 0
    for name in names:
        try:
            if os.readlink(fd_dir / name).startswith("socket:"):
                count += 1
        except OSError:
            pass  # closed between listdir and readlink
    return count


@dataclass(frozen=True)
class TreeSample:
    """One look at a server's process tree."""

    processes: tuple[tuple[int, int], ...]  # (pid, starttime) of each member
    cpu_seconds: float
    threads: int
    rss_bytes: int
    sockets: int  # -1 when not counted


def sample_tree(root: int, *, count_sockets: bool = False) -> TreeSample:
    """Sum CPU time, threads, resident memory (and open sockets) over *root*'s tree."""
    members = descendants(root, _all_stats())
    return TreeSample(
        processes=tuple((stat.pid, stat.starttime) for stat in members),
        cpu_seconds=sum(stat.cpu_ticks for stat in members) / CLOCK_TICKS,
        threads=sum(stat.num_threads for stat in members),
        rss_bytes=sum(stat.rss_pages for stat in members) * PAGE_SIZE,
        sockets=sum(_count_sockets(stat.pid) for stat in members) if count_sockets else -1,
    )


class PeakSampler(threading.Thread):
    """Samples a server's process tree every *interval* seconds and keeps the peaks."""

    def __init__(self, pid: int, *, count_sockets: bool, interval: float) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.count_sockets = count_sockets
        self.interval = interval
        self.threads = 0
        self.rss_bytes = 0
        self.sockets = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while True:
            sample = sample_tree(self.pid, count_sockets=self.count_sockets)
            self.threads = max(self.threads, sample.threads)
            self.rss_bytes = max(self.rss_bytes, sample.rss_bytes)
            self.sockets = max(self.sockets, sample.sockets)
            if self._stop_event.wait(self.interval):
                return

    def finish(self) -> None:
        self._stop_event.set()
        self.join()


def parse_cpu_times(text: str) -> dict[str, tuple[int, int]]:
    """Parse /proc/stat into ``{"cpu0": (busy ticks, all ticks), ...}``.

    Busy is everything but idle and iowait; steal (time the hypervisor gave to
    another machine) counts as busy, since the server could not run then either.
    """
    times = {}
    for line in text.splitlines():
        if not line.startswith("cpu"):
            continue
        name, *fields = line.split()
        ticks = [int(field) for field in fields[:8]]
        idle = ticks[3] + ticks[4]
        total = sum(ticks)
        times[name] = (total - idle, total)
    return times


def read_cpu_times() -> dict[str, tuple[int, int]]:
    """Return :func:`parse_cpu_times` of this machine's /proc/stat now."""
    return parse_cpu_times((PROC / "stat").read_text())
