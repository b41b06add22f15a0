"""CPython's own tests for SimpleHTTPRequestHandler, run against devserve.

The installed interpreter's ``test/test_httpservers.py`` is loaded with its imports
pointed at devserve (``http.server`` -> :mod:`devserve.static`, whose ``os`` is the
one CPython's Windows test swaps ``os.path`` on), and ``SimpleHTTPServerTestCase``
and ``SimpleHTTPRequestHandlerTestCase`` are run unchanged.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import types
import unittest
from pathlib import Path

import pytest

_CLASSES = ("SimpleHTTPServerTestCase", "SimpleHTTPRequestHandlerTestCase")


def _load_cpython_tests() -> types.ModuleType:
    spec = importlib.util.find_spec("test.test_httpservers")
    if spec is None or spec.origin is None:
        pytest.skip("CPython's test package is not installed")
    source = Path(spec.origin).read_text(encoding="utf-8")
    replacements = {
        "from http.server import BaseHTTPRequestHandler, HTTPServer, \\\n"
        "     SimpleHTTPRequestHandler, CGIHTTPRequestHandler\n": (
            "from devserve import BaseHTTPRequestHandler, HTTPServer\n"
            "from devserve.static import SimpleHTTPRequestHandler\n"
            "CGIHTTPRequestHandler = SimpleHTTPRequestHandler  # CGI tests are not run\n"
        ),
        "from http import server, HTTPStatus\n": (
            "from devserve import static as server\nfrom http import HTTPStatus\n"
        ),
    }
    for old, new in replacements.items():
        if old not in source:
            pytest.skip("this CPython's test_httpservers imports differ")
        source = source.replace(old, new)
    module = types.ModuleType("cpython_test_httpservers")
    module.__file__ = spec.origin
    exec(compile(source, spec.origin, "exec"), module.__dict__)
    return module


@pytest.mark.parametrize("class_name", _CLASSES)
def test_cpython_suite_passes(class_name: str) -> None:
    module = _load_cpython_tests()
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(getattr(module, class_name))
    assert suite.countTestCases() > 0
    cwd = os.getcwd()
    environ = os.environ
    try:
        result = unittest.TextTestRunner(stream=sys.stderr, verbosity=2).run(suite)
    finally:
        os.chdir(cwd)
        os.environ = environ  # noqa: B003 -- undo the suite's EnvironmentVarGuard
    problems = [f"{test}: {trace}" for test, trace in result.failures + result.errors]
    assert not problems, "\n".join(problems)
    assert result.testsRun == suite.countTestCases()
