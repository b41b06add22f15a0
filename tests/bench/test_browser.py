"""bench/browser.py end to end, one round: devserve and a real headless Chromium."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from support.cdp import install_chromium

ROOT = Path(__file__).resolve().parent.parent.parent
SCRIPT = ROOT / "bench" / "browser.py"

pytestmark = pytest.mark.slow


def test_one_round_measures_a_reload_and_a_stylesheet_swap() -> None:
    if install_chromium() is None:
        reason = "Chromium is not installed and 'apt-get install chromium' was not possible"
        if os.environ.get("CI") == "true":
            pytest.fail(reason + " (CI=true: the browser bench must run)")
        pytest.skip(reason)
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "-n", "1"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = {
        line.split("|")[1].strip(): line.split("|")[2].strip()
        for line in result.stdout.splitlines()
        if line.startswith("| ") and not line.startswith("| measure")
    }
    for measure in ("saved page → reloaded", "saved stylesheet → swapped"):
        value = rows[measure]
        assert "timeout" not in value, (measure, value)
        assert 0 < float(value.split(" s ")[0]) < 10, (measure, value)
