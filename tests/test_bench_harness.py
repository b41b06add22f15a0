"""The benchmark harness's pure helpers, on canned text: no server, no wrk, no timing.

The benchmark itself (bench/run.py) never runs in the test suite or CI.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
wrk = importlib.import_module("wrk")
procstat = importlib.import_module("procstat")
report = importlib.import_module("report")
scenarios = importlib.import_module("scenarios")

KEEP_ALIVE_OUTPUT = """\
Running 5s test @ http://127.0.0.1:40123/
  1 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   178.40us   65.12us   3.91ms   93.47%
    Req/Sec    44.61k     1.52k   46.90k    78.00%
  Latency Distribution
     50%  167.00us
     75%  181.00us
     90%  207.00us
     99%  413.00us
  222012 requests in 5.00s, 22.02MB read
Requests/sec:  44399.31
Transfer/sec:      4.40MB
"""

CLOSE_OUTPUT = """\
Running 5s test @ http://127.0.0.1:40123/
  1 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    44.02ms    1.10ms  47.98ms   99.00%
    Req/Sec   181.00     12.00    200.00     80.00%
  Latency Distribution
     50%   44.00ms
     75%   44.10ms
     90%   44.20ms
     99%    1.02s
  905 requests in 5.01s, 101.05KB read
  Socket errors: connect 3, read 905, write 2, timeout 1
  Non-2xx or 3xx responses: 7
Requests/sec:    180.64
Transfer/sec:     20.17KB
"""


def test_wrk_keep_alive_output() -> None:
    result = wrk.parse_output(KEEP_ALIVE_OUTPUT)
    assert result.requests == 222012
    assert result.duration_s == pytest.approx(5.0)
    assert result.requests_per_s == pytest.approx(44399.31)
    assert result.transfer_bytes_per_s == pytest.approx(4.40 * 2**20)
    assert result.latency_s == pytest.approx(
        {"50": 167e-6, "75": 181e-6, "90": 207e-6, "99": 413e-6}
    )
    assert result.error_count == 0


def test_wrk_errors_and_units() -> None:
    result = wrk.parse_output(CLOSE_OUTPUT)
    assert result.p99_s == pytest.approx(1.02)
    assert result.latency_s["50"] == pytest.approx(0.044)
    assert result.transfer_bytes_per_s == pytest.approx(20.17 * 1024)
    assert result.errors == {"connect": 3, "read": 905, "write": 2, "timeout": 1, "status": 7}
    assert result.error_count == 918


@pytest.mark.parametrize(
    "text",
    [
        "",
        KEEP_ALIVE_OUTPUT.replace("Requests/sec:", "Requests per second:"),
        KEEP_ALIVE_OUTPUT.replace("     99%  413.00us\n", ""),
        "unable to connect to 127.0.0.1:1 Connection refused\n",
    ],
    ids=["empty", "no-rate", "no-latency-table", "connect-failure"],
)
def test_wrk_missing_figures_are_errors(text: str) -> None:
    with pytest.raises(wrk.WrkOutputError):
        wrk.parse_output(text)


def test_wrk_command_is_pinned_and_whole_seconds() -> None:
    argv = wrk.build_command(
        "http://127.0.0.1:9/x",
        connections=8,
        duration=5,
        headers=["Connection: close"],
        cpu=1,
    )
    assert argv == [
        "taskset", "-c", "1", "wrk", "-t1", "-c8", "-d5s", "--timeout", "2s", "--latency",
        "-H", "Connection: close", "http://127.0.0.1:9/x",
    ]  # fmt: skip


# A command name with a space and a parenthesis: fields are found from the last ')'.
STAT_LINE = (
    "4242 (python3 (x) y) S 4200 4242 4242 0 -1 4194560 2543 0 0 0 "
    "731 112 5 3 20 0 9 0 123456 401408000 5120 18446744073709551615 "
    "1 1 0 0 0 0 0 16781312 2 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
)


def test_parse_stat() -> None:
    stat = procstat.parse_stat(STAT_LINE)
    assert stat.pid == 4242
    assert stat.comm == "python3 (x) y"
    assert stat.ppid == 4200
    assert (stat.utime, stat.stime, stat.cutime, stat.cstime) == (731, 112, 5, 3)
    assert stat.cpu_ticks == 851
    assert stat.num_threads == 9
    assert stat.starttime == 123456
    assert stat.rss_pages == 5120


def _stat(pid: int, ppid: int) -> object:
    return procstat.ProcStat(pid, "p", ppid, 1, 1, 0, 0, 1, pid, 1)


def test_descendants_walks_the_tree_only() -> None:
    stats = {pid: _stat(pid, ppid) for pid, ppid in [(1, 0), (10, 1), (11, 10), (12, 11), (20, 1)]}
    assert sorted(stat.pid for stat in procstat.descendants(10, stats)) == [10, 11, 12]
    assert procstat.descendants(99, stats) == []


def test_own_process_reads_from_proc() -> None:
    if not Path("/proc/self/stat").exists():
        pytest.skip("no /proc on this platform")
    stat = procstat.read_stat(os.getpid())
    assert stat is not None
    assert stat.pid == os.getpid()
    assert stat.num_threads >= 1


def _run(round_no: int, server: str, rps: float, **extra: float) -> dict[str, object]:
    return {"round": round_no, "variant": "keep-alive", "server": server, "rps": rps, **extra}


def test_ratio_is_median_of_same_round_ratios() -> None:
    runs = [
        _run(0, "devserve", 30.0),
        _run(0, "stdlib", 10.0),
        _run(1, "devserve", 40.0),
        _run(1, "stdlib", 20.0),
        _run(2, "devserve", 90.0),
        _run(2, "stdlib", 10.0),
        _run(3, "devserve", 50.0),  # no baseline in round 3: not a ratio
    ]
    assert report.ratio(runs, "keep-alive", "devserve", "stdlib") == pytest.approx(3.0)
    assert report.ratio(runs, "close", "devserve", "stdlib") is None


def test_failed_runs_are_left_out() -> None:
    runs = [_run(0, "devserve", 30.0), _run(0, "stdlib", 10.0), _run(1, "devserve", 0.0)]
    runs[-1]["failed"] = "wrk exited with status 1"
    assert report.ratio(runs, "keep-alive", "devserve", "stdlib") == pytest.approx(3.0)


def test_targets() -> None:
    runs = [
        _run(0, "devserve", 15.0, error_total=0),
        _run(0, "stdlib", 10.0, error_total=5),
    ]
    ratio_target = scenarios.Target("keep-alive", "devserve", "rps", "stdlib", at_least=1.5)
    assert report.evaluate_target(ratio_target, runs)["met"] is True
    errors_target = scenarios.Target("keep-alive", "stdlib", "errors", at_most=0)
    assert report.evaluate_target(errors_target, runs) == {
        "target": errors_target.describe(),
        "value": 5,
        "met": False,
    }
    missing = scenarios.Target("close", "devserve", "rps", "stdlib", at_least=2)
    assert report.evaluate_target(missing, runs)["met"] is None


def test_scenarios_are_consistent() -> None:
    for scenario in scenarios.SCENARIOS.values():
        names = {server.name for server in scenario.servers}
        variants = {variant.name for variant in scenario.variants}
        assert len(names) == len(scenario.servers), scenario.name
        assert set(scenario.ratio_against) <= names, scenario.name
        for target in scenario.targets:
            assert target.subject in names, target
            assert target.variant in variants, target
            assert target.baseline is None or target.baseline in names, target
        for server in scenario.servers:
            assert "{port}" in " ".join(server.argv), server.name


def test_parse_cpu_times() -> None:
    text = (
        "cpu  100 0 50 800 10 0 5 3 0 0\n"
        "cpu0 60 0 30 400 5 0 3 2 0 0\n"
        "cpu1 40 0 20 400 5 0 2 1 0 0\n"
        "intr 12345 0 0\n"
    )
    times = procstat.parse_cpu_times(text)
    # busy = user + nice + system + irq + softirq + steal; idle and iowait are not.
    assert times["cpu0"] == (95, 500)
    assert times["cpu1"] == (63, 468)
    assert set(times) == {"cpu", "cpu0", "cpu1"}
