"""Benchmark devserve against the stdlib and its peers, in the same run.

Usage (from the repository root, with the project's virtual environment)::

    python bench/run.py                          # every scenario, 3 repeats of 5 s
    python bench/run.py --scenario handler-hello
    python bench/run.py --smoke                  # 1 s runs, 1 repeat: does the harness work?
    python bench/run.py --list                   # scenarios and their servers

Rule 1: each server is a process of its own on 127.0.0.1, pinned to one core
(``--server-cpu``, default 0); wrk and this script are pinned to another
(``--client-cpu``, default 1).
Rule 2: servers are interleaved round-robin, one wrk run each per variant and round,
the starting server rotating every round; medians over rounds are reported, and
ratios are taken within a round (see report.py).
Rule 3: server CPU per request is the user + system time of the server's process tree
over the wrk run (from /proc) divided by the requests wrk saw answered.
Rule 4: every server this script starts is stopped by its pid, also on Ctrl+C.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import wrk
from install import ToolMissing, ensure_tool
from processes import ServerProcess, ServerStartError, free_port, stop_all
from procstat import CLOCK_TICKS, PeakSampler, read_cpu_times, sample_tree
from report import evaluate_target, markdown_scenario, summarise
from scenarios import SCENARIOS, Scenario, Server, Variant

BENCH = Path(__file__).resolve().parent
SERVERS_DIR = BENCH / "servers"
DEFAULT_RESULTS = BENCH / "results"
MIB = 2**20


# -- options ----------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark devserve against http.server and its peers with wrk."
    )
    parser.add_argument(
        "--scenario",
        action="append",
        metavar="NAME",
        help="scenario(s) to run, repeatable or comma-separated (default: all): "
        + ", ".join(SCENARIOS),
    )
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run (5)")
    parser.add_argument("--repeats", type=int, default=3, help="rounds over all servers (3)")
    parser.add_argument(
        "--connections",
        type=int,
        default=8,
        help="wrk connections for variants that do not fix their own (8)",
    )
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (1)")
    parser.add_argument(
        "--warmup", type=int, default=1, help="seconds of unmeasured load before each run (1)"
    )
    parser.add_argument("--timeout", type=int, default=2, help="wrk's response timeout, s (2)")
    parser.add_argument("--server-cpu", type=int, default=0, help="core for the servers (0)")
    parser.add_argument("--client-cpu", type=int, default=1, help="core for wrk (1)")
    parser.add_argument(
        "--only", metavar="SERVER", action="append", help="run only these servers (repeatable)"
    )
    parser.add_argument("--smoke", action="store_true", help="self-check: 1 s runs, 1 repeat")
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS, help="output directory")
    parser.add_argument("--list", action="store_true", help="list scenarios and servers, then exit")
    args = parser.parse_args(argv)
    if args.duration < 1 or args.repeats < 1 or args.warmup < 0 or args.timeout < 1:
        parser.error("wrk takes whole seconds: --duration and --timeout >= 1, --warmup >= 0")
    if args.smoke:
        args.duration, args.repeats, args.warmup = 1, 1, 0
    names: list[str] = []
    for item in args.scenario or list(SCENARIOS):
        names += [name.strip() for name in item.split(",") if name.strip()]
    unknown = [name for name in names if name not in SCENARIOS]
    if unknown:
        parser.error("unknown scenario(s): %s" % ", ".join(unknown))
    args.scenarios = names
    return args


# -- availability -----------------------------------------------------------------


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def why_unavailable(server: Server) -> str | None:
    """Return why *server* cannot run here, or ``None`` if it can."""
    missing = [module for module in server.requires if not _importable(module)]
    if missing:
        return "%s not importable yet" % ", ".join(missing)
    for tool in server.tools:
        try:
            ensure_tool(tool)
        except ToolMissing as error:
            return str(error)
    return None


# -- measuring --------------------------------------------------------------------


class Bench:
    """One benchmark run: options, the scenario's temporary directory, the results."""

    def __init__(self, args: argparse.Namespace, workdir: Path, log_dir: Path) -> None:
        self.args = args
        self.workdir = workdir
        self.log_dir = log_dir

    def argv_for(self, server: Server, port: int) -> list[str]:
        values = {
            "{python}": sys.executable,
            "{servers}": str(SERVERS_DIR),
            "{port}": str(port),
            "{workdir}": str(self.workdir),
            "{docroot}": str(self.workdir / "docroot"),
        }
        argv = []
        for item in server.argv:
            for placeholder, value in values.items():
                item = item.replace(placeholder, value)
            argv.append(item)
        return argv

    def start(self, scenario: Scenario, server: Server) -> tuple[ServerProcess, int]:
        port = free_port()
        log = self.log_dir / ("%s--%s.log" % (scenario.name, server.name))
        process = ServerProcess(
            server.name, self.argv_for(server, port), log, cpu=self.args.server_cpu
        )
        process.start()
        try:
            process.wait_ready(port, scenario.ready_path)
        except BaseException:
            process.stop()
            raise
        return process, port

    def wrk_argv(self, port: int, variant: Variant, duration: int) -> list[str]:
        return wrk.build_command(
            "http://127.0.0.1:%d%s" % (port, variant.path),
            connections=variant.connections or self.args.connections,
            duration=duration,
            threads=self.args.threads,
            headers=variant.headers,
            timeout=self.args.timeout,
            cpu=self.args.client_cpu,
        )

    def measure(
        self, scenario: Scenario, process: ServerProcess, port: int, variant: Variant
    ) -> dict[str, Any]:
        """One wrk run against a running server, with its CPU time and peaks."""
        args = self.args
        if args.warmup > 0:
            wrk.run(self.wrk_argv(port, variant, args.warmup), duration=args.warmup)
        argv = self.wrk_argv(port, variant, args.duration)
        sampler = PeakSampler(
            process.pid,
            count_sockets=scenario.resources,
            interval=0.1 if scenario.resources else 0.25,
        )
        before = sample_tree(process.pid)
        cores_before = read_cpu_times()
        started = time.monotonic()
        sampler.start()
        try:
            result, text = wrk.run(argv, duration=args.duration)
        finally:
            sampler.finish()
        after = sample_tree(process.pid)
        wall_s = time.monotonic() - started
        cores_after = read_cpu_times()
        process.remember_family()
        cpu_seconds = after.cpu_seconds - before.cpu_seconds
        core = "cpu%d" % args.server_cpu
        busy = (cores_after[core][0] - cores_before[core][0]) / CLOCK_TICKS
        span = (cores_after[core][1] - cores_before[core][1]) / CLOCK_TICKS
        return {
            "requests": result.requests,
            "duration_s": result.duration_s,
            "rps": result.requests_per_s,
            "p50_ms": result.latency_s.get("50", 0.0) * 1e3,
            "p99_ms": result.p99_s * 1e3,
            "cpu_s": cpu_seconds,
            # Server CPU over the wrk process's whole life, connects included: near 1.0
            # means the server's core was the limit.
            "wall_s": wall_s,
            "server_cpu_share": cpu_seconds / wall_s if wall_s > 0 else None,
            # Whatever else kept the server's core busy (other processes, interrupts,
            # the hypervisor): the noise this run was measured under.
            "other_load_on_server_core": max(busy - cpu_seconds, 0.0) / span if span else None,
            "cpu_us": cpu_seconds / result.requests * 1e6 if result.requests else None,
            "errors": result.errors,
            "error_total": result.error_count,
            "bytes_per_s": result.transfer_bytes_per_s,
            "peak_threads": sampler.threads,
            "peak_rss_mib": sampler.rss_bytes / MIB,
            "peak_sockets": sampler.sockets if scenario.resources else None,
            "server_alive": process.alive(),
            "wrk_argv": argv,
            "wrk_output": text,
        }

    def run_scenario(self, scenario: Scenario, result: dict[str, Any]) -> None:
        """Measure *scenario*, filling *result* as it goes (so Ctrl+C keeps what was done)."""
        args = self.args
        print("\n== %s: %s" % (scenario.name, scenario.title), flush=True)
        servers: list[Server] = []
        skipped: list[tuple[str, str]] = []
        for server in scenario.servers:
            if args.only and server.name not in args.only:
                continue
            reason = why_unavailable(server)
            if reason is None:
                servers.append(server)
            else:
                skipped.append((server.name, reason))
                print("   skipping %s: %s" % (server.name, reason), flush=True)
        runs: list[dict[str, Any]] = []
        result.update(title=scenario.title, runs=runs, skipped=skipped)
        if not servers:
            return
        if scenario.prepare is not None:
            scenario.prepare(self.workdir)
        running: dict[str, tuple[ServerProcess, int]] = {}
        try:
            for round_no in range(args.repeats):
                shift = round_no % len(servers)
                order = servers[shift:] + servers[:shift]
                for variant in scenario.variants:
                    for server in order:
                        run = self.run_one(scenario, server, variant, running)
                        run.update(round=round_no, variant=variant.name, server=server.name)
                        runs.append(run)
                        print_run(scenario, args.repeats, run)
        finally:
            for process, _port in running.values():
                process.stop()
            names = [server.name for server in servers]
            result["rows"] = summarise(scenario, runs, names)
            result["targets"] = [evaluate_target(target, runs) for target in scenario.targets]
            result["notes"] = {server.name: server.note for server in servers}

    def run_one(
        self,
        scenario: Scenario,
        server: Server,
        variant: Variant,
        running: dict[str, tuple[ServerProcess, int]],
    ) -> dict[str, Any]:
        entry = running.get(server.name)
        if entry is not None and not entry[0].alive():
            print("   %s had exited; starting it again" % server.name, flush=True)
            entry[0].stop()
            entry = None
        try:
            if entry is None:
                entry = self.start(scenario, server)
                if not scenario.restart_each_run:
                    running[server.name] = entry
            process, port = entry
            return self.measure(scenario, process, port, variant)
        except (ServerStartError, wrk.WrkOutputError, subprocess.TimeoutExpired, OSError) as error:
            return {"failed": str(error)}
        finally:
            if scenario.restart_each_run and entry is not None:
                entry[0].stop()


def print_run(scenario: Scenario, repeats: int, run: dict[str, Any]) -> None:
    where = "   [%d/%d] %-10s %-16s" % (run["round"] + 1, repeats, run["variant"], run["server"])
    if run.get("failed"):
        print("%s FAILED: %s" % (where, run["failed"].splitlines()[0]), flush=True)
        return
    extra = ", other load on server core %.0f%%" % (100 * (run["other_load_on_server_core"] or 0))
    if scenario.resources:
        extra += ", %d threads, %.0f MiB, %d sockets" % (
            run["peak_threads"],
            run["peak_rss_mib"],
            run["peak_sockets"],
        )
    cpu = run["cpu_us"]
    print(
        "%s %9.0f req/s  p99 %8.2f ms  %7s µs/req  errors %d%s"
        % (
            where,
            run["rps"],
            run["p99_ms"],
            "—" if cpu is None else "%.1f" % cpu,
            run["error_total"],
            extra,
        ),
        flush=True,
    )


# -- the machine, for the record ---------------------------------------------------


def machine_facts(args: argparse.Namespace) -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        version = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
        wrk_version = (version.stdout + version.stderr).splitlines()[0]
    except (OSError, IndexError):
        wrk_version = ""
    return {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "cpu_model": model,
        "cpus": os.cpu_count(),
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "python_executable": sys.executable,
        "wrk": wrk_version,
        "loadavg_start": os.getloadavg(),
        "options": {
            "duration_s": args.duration,
            "repeats": args.repeats,
            "connections": args.connections,
            "wrk_threads": args.threads,
            "warmup_s": args.warmup,
            "server_cpu": args.server_cpu,
            "client_cpu": args.client_cpu,
            "smoke": args.smoke,
        },
    }


def render(facts: dict[str, Any], results: dict[str, Any]) -> str:
    options = facts["options"]
    lines = [
        "## devserve benchmark, %s" % facts["date"],
        "",
        "%s (%s CPUs), Linux %s, Python %s, %s. Servers on core %d, wrk on core %d; "
        "wrk -t%d, %d connections unless the variant says otherwise, %gs runs after %gs "
        "of warm-up, %d round(s) interleaved; medians. Load average at start %.2f, at end %.2f."
        % (
            facts["cpu_model"] or "unknown CPU",
            facts["cpus"],
            facts["kernel"],
            facts["python"],
            facts["wrk"] or "wrk",
            options["server_cpu"],
            options["client_cpu"],
            options["wrk_threads"],
            options["connections"],
            options["duration_s"],
            options["warmup_s"],
            options["repeats"],
            facts["loadavg_start"][0],
            facts.get("loadavg_end", (0.0,))[0],
        ),
        "",
    ]
    for name, result in results.items():
        scenario = SCENARIOS[name]
        if "rows" not in result:
            lines.append("### %s — not measured\n" % name)
            lines += ["- skipped `%s`: %s" % item for item in result.get("skipped", ())]
            lines.append("")
            continue
        lines.append(
            markdown_scenario(
                scenario, result["rows"], result["targets"], result["skipped"], result["notes"]
            )
        )
    return "\n".join(lines)


def list_scenarios() -> None:
    for scenario in SCENARIOS.values():
        print("%s: %s" % (scenario.name, scenario.title))
        print("  variants: %s" % ", ".join(variant.name for variant in scenario.variants))
        for server in scenario.servers:
            reason = None
            missing = [module for module in server.requires if not _importable(module)]
            if missing:
                reason = "%s not importable yet" % ", ".join(missing)
            print("  - %-16s %s" % (server.name, "(skipped: %s)" % reason if reason else ""))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Ctrl+C must reach this script even when it was started with SIGINT ignored
    # (a background job of a non-interactive shell): the servers are stopped on it.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if args.list:
        list_scenarios()
        return 0
    try:
        # This script and wrk share the client core; the server core stays the servers'.
        os.sched_setaffinity(0, {args.client_cpu})
        ensure_tool("taskset")
        ensure_tool("wrk")
    except (OSError, ToolMissing) as error:
        print("cannot run the benchmark: %s" % error, file=sys.stderr)
        return 2
    facts = machine_facts(args)
    args.results.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    log_dir = args.results / ("logs-" + stamp)
    log_dir.mkdir()
    results: dict[str, Any] = {}
    status = 0
    try:
        for name in args.scenarios:
            with tempfile.TemporaryDirectory(prefix="devserve-bench-") as workdir:
                bench = Bench(args, Path(workdir), log_dir)
                results[name] = {}
                bench.run_scenario(SCENARIOS[name], results[name])
    except KeyboardInterrupt:
        print("\ninterrupted: stopping the servers; partial results follow", file=sys.stderr)
        status = 130
    finally:
        stop_all()
    facts["loadavg_end"] = os.getloadavg()
    table = render(facts, results)
    suffix = "-smoke" if args.smoke else ""
    json_path = args.results / ("%s%s.json" % (stamp, suffix))
    md_path = args.results / ("%s%s.md" % (stamp, suffix))
    json_path.write_text(json.dumps({"machine": facts, "scenarios": results}, indent=1))
    md_path.write_text(table)
    print("\n" + table)
    print("results: %s and %s (server logs in %s)" % (md_path, json_path, log_dir))
    failed = any(run.get("failed") for result in results.values() for run in result.get("runs", ()))
    if failed and status == 0:
        print("some runs failed: see the table and the logs", file=sys.stderr)
        status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
