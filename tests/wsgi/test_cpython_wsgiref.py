"""CPython's own test_wsgiref.py, with wsgiref.simple_server swapped for devserve.wsgi.server."""

from __future__ import annotations

from pathlib import Path

from support.stdlib_suite import check_suite


def test_cpython_test_wsgiref_passes_against_devserve(tmp_path: Path) -> None:
    check_suite(
        "test.test_wsgiref",
        ["wsgiref.simple_server=devserve.wsgi.server"],
        "wsgiref_expected_failures.txt",
        tmp_path,
    )
