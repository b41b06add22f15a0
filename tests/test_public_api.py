"""devserve exports every public name of http.server, and __all__ does not drift."""

from __future__ import annotations

import http.server
import inspect

import devserve

# http.server's public names across 3.10-3.15: __all__ plus the documented extras.
STDLIB_NAMES = {
    "HTTPServer",
    "ThreadingHTTPServer",
    "HTTPSServer",
    "ThreadingHTTPSServer",
    "BaseHTTPRequestHandler",
    "SimpleHTTPRequestHandler",
    "CGIHTTPRequestHandler",
    "DEFAULT_ERROR_MESSAGE",
    "DEFAULT_ERROR_CONTENT_TYPE",
    "test",
}
# Names the stdlib makes public that devserve deliberately leaves out, with why.
NOT_EXPORTED: dict[str, str] = {}


def test_every_stdlib_public_name_is_exported() -> None:
    for name in sorted(STDLIB_NAMES - set(NOT_EXPORTED)):
        assert name in devserve.__all__, name
        assert hasattr(devserve, name), name


def test_all_names_exist_and_are_public() -> None:
    for name in devserve.__all__:
        assert not name.startswith("_")
        assert hasattr(devserve, name), name


def test_stdlib_helpers_outside_all_are_there() -> None:
    # http.server has these outside __all__; code and CPython's tests use them.
    for name in ("nobody_uid", "executable", "_url_collapse_path"):
        assert callable(getattr(devserve, name)), name


def test_running_python_names_are_covered() -> None:
    assert set(http.server.__all__) <= STDLIB_NAMES


def test_classes_are_devserves_own() -> None:
    # The contract: none of devserve's classes inherits from http.server or wsgiref.
    for name in devserve.__all__:
        obj = getattr(devserve, name)
        if inspect.isclass(obj):
            for base in obj.__mro__:
                assert not base.__module__.startswith(("http.server", "wsgiref")), (name, base)


def test_public_names_have_docstrings() -> None:
    for name in devserve.__all__:
        obj = getattr(devserve, name)
        if callable(obj):
            assert inspect.getdoc(obj), name
