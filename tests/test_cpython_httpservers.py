"""CPython's own test_httpservers.py, run against devserve in place of http.server."""

from __future__ import annotations

from pathlib import Path

from support.stdlib_suite import check_suite


def test_cpython_test_httpservers_passes_against_devserve(tmp_path: Path) -> None:
    check_suite(
        "test.test_httpservers",
        ["http.server=devserve"],
        "httpservers_expected_failures.txt",
        tmp_path,
    )
