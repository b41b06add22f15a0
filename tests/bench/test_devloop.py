"""bench/devloop.py end to end, one round: real devserve and flask run processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
SCRIPT = ROOT / "bench" / "devloop.py"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux's /proc"),
]


def test_one_round_measures_every_step_for_both_servers() -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "-n", "1"],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = {
        line.split("|")[1].strip(): [cell.strip() for cell in line.split("|")[2:4]]
        for line in result.stdout.splitlines()
        if line.startswith("| ") and not line.startswith("| measure")
    }
    for measure in ("save → new code", "save during a request → new code",
                    "syntax error → error page", "fix → new code",
                    "SIGTERM → port free"):  # fmt: skip
        for value in rows[measure]:
            assert "timeout" not in value, (measure, value)
            assert value.endswith(")"), (measure, value)
            assert float(value.split(" s ")[0]) > 0
    assert rows["left running"] == ["0 processes", "0 processes"]
    assert rows["requests cut at a save"][0] == "0 of 1"  # devserve finishes it
    assert rows["requests cut at a save"][1] in ("0 of 1", "1 of 1")
