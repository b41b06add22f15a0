"""bench/hostile.py end to end, scaled down: a real devserve process, real sockets.

The script runs as the user runs it (a subprocess, with this checkout's ``src`` first on
``PYTHONPATH``), with 20 hostile connections of two kinds; the table must have a row
per kind with a figure in every numeric column, and the normal client must have been
answered beside the idle and body-less connections.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
SCRIPT = ROOT / "bench" / "hostile.py"
KINDS = ("idle", "body-never-sent")
NUMERIC = ("opened", "connect failed", "open s", "server sockets", "threads", "RSS MiB")
NUMERIC += ("p50 ms", "p99 ms", "failed", "closed", "p99 after ms", "failed after")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux's /proc"),
]


def table(output: str) -> list[dict[str, str]]:
    """The markdown table in *output*, as one dict per row."""
    lines = [line for line in output.splitlines() if line.startswith("|")]
    header, rule, *rows = ([cell.strip() for cell in line.strip("|").split("|")] for line in lines)
    assert set("".join(rule)) == {"-"}
    return [dict(zip(header, row, strict=True)) for row in rows]


def test_small_run_prints_a_row_per_kind() -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    argv = [sys.executable, str(SCRIPT), "--count", "20", "--kinds", ",".join(KINDS)]
    argv += ["--probes", "10", "--settle", "0.2"]
    result = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    rows = table(result.stdout)
    assert [(row["server"], row["kind"]) for row in rows] == [("devserve", kind) for kind in KINDS]
    for row in rows:
        for column in NUMERIC:
            float(row[column])  # a figure, not a placeholder
        assert int(row["opened"]) + int(row["connect failed"]) == 20
        assert row["probes"] == "10/10"
        # 20 such connections hold no worker: every normal request is answered.
        assert int(row["failed"]) == 0
        assert int(row["failed after"]) == 0
        assert int(row["threads"]) >= 1
        # The bounded server accepts them all: the listener, and a socket each.
        assert int(row["server sockets"]) >= 1 + int(row["opened"])
        assert float(row["RSS MiB"]) > 0
