"""Medians, same-run ratios, targets and the Markdown table.

Rule 1: every repeat's figures are kept (in the JSON); the table shows medians.
Rule 2: a ratio is taken within each round (the two servers measured minutes apart at
most, under the same background load) and the median of those is reported: a noisy
round moves both sides of its ratio together.
Rule 3: pure functions over plain dicts; nothing here runs anything.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from typing import Any

from scenarios import Scenario, Target

__all__ = ["evaluate_target", "markdown_scenario", "median_of", "ratio", "summarise"]

Measurement = dict[str, Any]

_METRIC_KEYS = {
    "rps": "rps",
    "errors": "error_total",
    "cpu_us": "cpu_us",
    "rss_mib": "peak_rss_mib",
    "p99_ms": "p99_ms",
}


def median_of(values: Iterable[float | None]) -> float | None:
    """The median of the values that are not ``None``, or ``None`` if there are none."""
    present = [value for value in values if value is not None]
    return statistics.median(present) if present else None


def _select(runs: Sequence[Measurement], variant: str, server: str) -> list[Measurement]:
    return [
        run
        for run in runs
        if run["variant"] == variant and run["server"] == server and run.get("failed") is None
    ]


def ratio(
    runs: Sequence[Measurement], variant: str, server: str, baseline: str, key: str = "rps"
) -> float | None:
    """Median over rounds of ``server[key] / baseline[key]`` within the same round."""
    mine = {run["round"]: run[key] for run in _select(runs, variant, server)}
    theirs = {run["round"]: run[key] for run in _select(runs, variant, baseline)}
    per_round = [
        mine[r] / theirs[r]
        for r in mine
        if r in theirs and mine[r] is not None and theirs[r] not in (None, 0)
    ]
    return statistics.median(per_round) if per_round else None


def summarise(
    scenario: Scenario, runs: Sequence[Measurement], servers: Sequence[str]
) -> list[dict[str, Any]]:
    """One row per (variant, server): medians of every figure and the ratios."""
    rows = []
    for variant in scenario.variants:
        for server in servers:
            selected = _select(runs, variant.name, server)
            failures = [
                run["failed"]
                for run in runs
                if run["variant"] == variant.name
                and run["server"] == server
                and run.get("failed") is not None
            ]
            row: dict[str, Any] = {
                "variant": variant.name,
                "server": server,
                "repeats": len(selected),
                "failures": failures,
            }
            for key in (
                "rps",
                "p99_ms",
                "cpu_us",
                "error_total",
                "bytes_per_s",
                "peak_threads",
                "peak_rss_mib",
                "peak_sockets",
                "server_cpu_share",
            ):
                row[key] = median_of(run.get(key) for run in selected)
            row["rps_all"] = [run["rps"] for run in selected]
            row["ratios"] = {
                baseline: ratio(runs, variant.name, server, baseline)
                for baseline in scenario.ratio_against
                if baseline != server
            }
            rows.append(row)
    return rows


def evaluate_target(target: Target, runs: Sequence[Measurement]) -> dict[str, Any]:
    """Measure *target* on *runs*: its value, and whether it is met (``None``: not measured)."""
    key = _METRIC_KEYS[target.metric]
    if target.baseline is not None:
        value = ratio(runs, target.variant, target.subject, target.baseline, key)
    else:
        value = median_of(run.get(key) for run in _select(runs, target.variant, target.subject))
    met: bool | None = None
    if value is not None:
        met = (target.at_least is None or value >= target.at_least) and (
            target.at_most is None or value <= target.at_most
        )
    return {"target": target.describe(), "value": value, "met": met}


def _number(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "—"
    if digits == 0:
        return f"{value:,.0f}".replace(",", " ")
    return f"{value:.{digits}f}"


def _percent(share: float | None) -> str:
    return "—" if share is None else "%.0f %%" % (100 * share)


def _latency(value_ms: float | None) -> str:
    if value_ms is None:
        return "—"
    if value_ms < 10:
        return "%.2f ms" % value_ms
    return "%.0f ms" % value_ms


def markdown_scenario(
    scenario: Scenario,
    rows: Sequence[dict[str, Any]],
    targets: Sequence[dict[str, Any]],
    skipped: Sequence[tuple[str, str]],
    notes: dict[str, str],
) -> str:
    """The scenario's section of the report: a table, its targets, what was skipped."""
    # "server core": how busy the server kept its core; well below 100 % means the
    # client side (wrk, or whatever else ran on its core) was the limit of that run.
    headers = ["variant", "server", "req/s", "p99", "CPU µs/req", "server core", "errors"]
    if scenario.throughput:
        headers.append("MiB/s")
    if scenario.resources:
        headers += ["threads", "RSS MiB", "sockets"]
    headers += ["vs " + baseline for baseline in scenario.ratio_against]
    lines = [
        "### %s — %s" % (scenario.name, scenario.title),
        "",
        "| " + " | ".join(headers) + " |",
        "|" + "|".join("---" if i < 2 else "---:" for i in range(len(headers))) + "|",
    ]
    subjects = {target.subject for target in scenario.targets}
    for row in rows:
        cells = [
            row["variant"],
            "**%s**" % row["server"] if row["server"] in subjects else row["server"],
            _number(row["rps"]),
            _latency(row["p99_ms"]),
            _number(row["cpu_us"], 1),
            _percent(row["server_cpu_share"]),
            _number(row["error_total"]),
        ]
        if scenario.throughput:
            bytes_per_s = row["bytes_per_s"]
            cells.append(_number(None if bytes_per_s is None else bytes_per_s / 2**20))
        if scenario.resources:
            cells += [
                _number(row["peak_threads"]),
                _number(row["peak_rss_mib"], 1),
                _number(row["peak_sockets"]),
            ]
        for baseline in scenario.ratio_against:
            if baseline == row["server"]:
                cells.append("1.00")
            else:
                cells.append(_number(row["ratios"].get(baseline), 2))
        if row["failures"]:
            cells[2] += " (%d failed)" % len(row["failures"])
        lines.append("| " + " | ".join(cells) + " |")
    if targets:
        lines += ["", "Targets (ratios: median of same-round ratios):", ""]
        for target in targets:
            verdict = {True: "**met**", False: "**not met**", None: "not measured"}[target["met"]]
            lines.append(
                "- %s — measured %s: %s" % (target["target"], _number(target["value"], 2), verdict)
            )
    if notes:
        lines += [""] + ["- `%s`: %s" % (name, note) for name, note in notes.items() if note]
    if skipped:
        lines += [""] + ["- skipped `%s`: %s" % (name, reason) for name, reason in skipped]
    return "\n".join(lines) + "\n"
