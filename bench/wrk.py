"""Driving ``wrk`` and reading what it prints.

Rule 1: wrk runs pinned to the client core, one thread, with ``--latency`` so its
percentile table gives p99.
Rule 2: :func:`parse_output` is a pure function of wrk's text; a figure wrk did not
print is an error (:class:`WrkOutputError`), never a silent zero — except the error
lines, which wrk prints only when there were errors.
Rule 3: wrk counts only answered requests; unanswered ones show up as socket errors
(connect, read, write, timeout), which are kept apart so a run that served few
connections cannot pass for a fast one.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["WrkOutputError", "WrkResult", "build_command", "parse_output", "run"]

_TIME_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
# wrk prints sizes in binary units with decimal-looking names.
_SIZE_UNITS = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}

_NUMBER = r"([0-9]+(?:\.[0-9]+)?)"
_REQUESTS = re.compile(r"^\s*([0-9]+) requests in " + _NUMBER + r"(us|ms|s|m|h),", re.M)
_RATE = re.compile(r"^Requests/sec:\s+" + _NUMBER + r"\s*$", re.M)
_TRANSFER = re.compile(r"^Transfer/sec:\s+" + _NUMBER + r"([KMGT]?B)\s*$", re.M)
_PERCENTILE = re.compile(r"^\s+([0-9]+(?:\.[0-9]+)?)%\s+" + _NUMBER + r"(us|ms|s|m|h)\s*$", re.M)
_SOCKET_ERRORS = re.compile(
    r"^\s*Socket errors: connect ([0-9]+), read ([0-9]+), write ([0-9]+), timeout ([0-9]+)",
    re.M,
)
_NON_2XX = re.compile(r"^\s*Non-2xx or 3xx responses: ([0-9]+)", re.M)


class WrkOutputError(ValueError):
    """wrk's output lacks a figure the benchmark needs (or wrk failed)."""


@dataclass(frozen=True)
class WrkResult:
    """The figures of one wrk run."""

    requests: int
    duration_s: float
    requests_per_s: float
    transfer_bytes_per_s: float
    latency_s: dict[str, float]  # percentile ("50", "99", ...) -> seconds
    errors: dict[str, int] = field(default_factory=dict)  # connect/read/write/timeout/status

    @property
    def p99_s(self) -> float:
        return self.latency_s["99"]

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


def parse_output(text: str) -> WrkResult:
    """Return the figures in wrk's output *text* (run with ``--latency``)."""
    requests = _REQUESTS.search(text)
    rate = _RATE.search(text)
    transfer = _TRANSFER.search(text)
    if requests is None or rate is None or transfer is None:
        raise WrkOutputError("no request count, rate or transfer line in wrk output:\n" + text)
    latency = {
        _percentile_key(point): float(value) * _TIME_UNITS[unit]
        for point, value, unit in _PERCENTILE.findall(text)
    }
    if "99" not in latency:
        raise WrkOutputError("no 99% latency in wrk output (was --latency given?):\n" + text)
    errors = {"connect": 0, "read": 0, "write": 0, "timeout": 0, "status": 0}
    socket_errors = _SOCKET_ERRORS.search(text)
    if socket_errors is not None:
        for name, value in zip(
            ("connect", "read", "write", "timeout"), socket_errors.groups(), strict=True
        ):
            errors[name] = int(value)
    non_2xx = _NON_2XX.search(text)
    if non_2xx is not None:
        errors["status"] = int(non_2xx.group(1))
    return WrkResult(
        requests=int(requests.group(1)),
        duration_s=float(requests.group(2)) * _TIME_UNITS[requests.group(3)],
        requests_per_s=float(rate.group(1)),
        transfer_bytes_per_s=float(transfer.group(1)) * _SIZE_UNITS[transfer.group(2)],
        latency_s=latency,
        errors=errors,
    )


def _percentile_key(text: str) -> str:
    # "99.000" and "99" name the same point.
    return text.rstrip("0").rstrip(".") if "." in text else text


def build_command(
    url: str,
    *,
    connections: int,
    duration: int,
    threads: int = 1,
    headers: Sequence[str] = (),
    timeout: int = 2,
    cpu: int | None = None,
) -> list[str]:
    """Return the argv that runs wrk against *url*, pinned to *cpu* with taskset.

    wrk reads times as whole numbers with a unit, so *duration* and *timeout* are
    whole seconds.
    """
    argv = [] if cpu is None else ["taskset", "-c", str(cpu)]
    argv += [
        "wrk",
        "-t%d" % threads,
        "-c%d" % max(connections, threads),
        "-d%ds" % duration,
        "--timeout",
        "%ds" % timeout,
        "--latency",
    ]
    for header in headers:
        argv += ["-H", header]
    argv.append(url)
    return argv


def run(argv: Sequence[str], *, duration: float) -> tuple[WrkResult, str]:
    """Run wrk and return its parsed figures and its raw output."""
    completed = subprocess.run(
        list(argv),
        capture_output=True,
        text=True,
        timeout=duration + 60,
        check=False,
    )
    text = completed.stdout
    if completed.returncode != 0:
        raise WrkOutputError(
            "wrk exited with status %d:\n%s%s" % (completed.returncode, text, completed.stderr)
        )
    return parse_output(text), text
