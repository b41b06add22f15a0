"""Check an installed CPython test module against devserve, with expected failures.

The test file itself is never copied into this repository: the interpreter's own copy
runs in a subprocess (tests/support/cpython/run_suite.py) with the stdlib module swapped.
Each expected failure is a line ``test_id | reason`` in a file under tests/support/cpython/;
a line may start with ``[3.12]`` to apply to that Python version only.  A test that
fails without being listed fails, and so does a listed test that passes.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent / "cpython"


def stdlib_test_available(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def expected_failures(filename: str) -> dict[str, str]:
    """Read ``test_id | reason`` lines that apply to the running Python."""
    running = "%d.%d" % sys.version_info[:2]
    expected = {}
    for raw in (HERE / filename).read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            version, _, line = line[1:].partition("]")
            if version.strip() != running:
                continue
        test_id, _, reason = (part.strip() for part in line.partition("|"))
        assert reason, "expected failure %s has no reason" % test_id
        expected[test_id] = reason
    return expected


def run_suite(module: str, swaps: list[str], cwd: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONWARNINGS", None)
    proc = subprocess.run(
        [sys.executable, str(HERE / "run_suite.py"), module, *swaps],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-5000:]
    outcomes: dict[str, str] = json.loads(proc.stdout.strip().splitlines()[-1])
    return outcomes


def check_suite(module: str, swaps: list[str], expected_file: str, cwd: Path) -> None:
    if not stdlib_test_available(module):
        pytest.skip("this interpreter ships no %s (no 'test' package)" % module)
    outcomes = run_suite(module, swaps, cwd)
    expected = expected_failures(expected_file)
    failed = {t for t, o in outcomes.items() if o in ("fail", "error", "xpass")}
    unexpected_failures = sorted(failed - set(expected))
    unexpected_passes = sorted(t for t in expected if outcomes.get(t) == "pass")
    missing = sorted(t for t in expected if t not in outcomes)
    assert outcomes, "no test ran"
    assert not unexpected_failures, "failed but not listed: %s" % unexpected_failures
    assert not unexpected_passes, "listed as failing but passed: %s" % unexpected_passes
    assert not missing, "listed but not run (renamed or removed?): %s" % missing
