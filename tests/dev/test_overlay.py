"""Errors in the browser: an application's 500s reach the event stream, over a real socket.

The application runs under ReportFailures and LiveReloadMiddleware, as ``devserve
--app ... --livereload`` runs it; the pages' side is tests/dev/test_browser.py.
"""

from __future__ import annotations

import faulthandler
import socket
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from devserve import WSGIHandler
from devserve.dev.injection import LiveReloadMiddleware
from devserve.dev.livereload import LiveReload
from devserve.dev.overlay import ReportFailures
from devserve.testing import serve_in_thread
from support.event_stream import Stream
from support.sockets import CLIENT_TIMEOUT

FLAKY = {"failing": True}


def broken_generator(start_response: Any) -> Iterator[bytes]:
    raise KeyError("config")  # before its head: the server answers 500
    yield b""  # a generator: the head would come with its first item


def cut_body(start_response: Any) -> Iterator[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    yield b"first part"
    raise RuntimeError("after the head")


def app(environ: dict[str, Any], start_response: Any) -> Any:
    path = environ["PATH_INFO"]
    if path == "/raise":
        return 1 // 0  # the line the failure names
    if path == "/answer-500":
        start_response("500 Internal Server Error", [("Content-Type", "text/html")])
        return [b"<h1>Sorry</h1>"]
    if path == "/generator":
        return broken_generator(start_response)
    if path == "/cut":
        return cut_body(start_response)
    if path == "/flaky" and FLAKY["failing"]:
        raise ValueError("not yet")
    status = "404 Not Found" if path == "/missing" else "200 OK"
    start_response(status, [("Content-Type", "text/plain")])
    return [b"ok"]


RAISE_LINE = app.__code__.co_firstlineno + 3


class Quiet(WSGIHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def log_exception(self, exc_info: Any) -> None:
        pass


@pytest.fixture
def served() -> Iterator[tuple[LiveReload, int]]:
    livereload = LiveReload()
    handler = type("Live", (Quiet,), {"responders": (livereload,)})
    wrapped = LiveReloadMiddleware(ReportFailures(app, livereload), livereload)
    FLAKY["failing"] = True
    with serve_in_thread(wrapped, handler_class=handler) as server:
        yield livereload, server.port
    livereload.close()


def status_of(port: int, target: str) -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=CLIENT_TIMEOUT) as sock:
        sock.sendall(b"GET %s HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n" % target.encode())
        data = b""
        try:
            while chunk := sock.recv(65536):
                data += chunk
        except ConnectionResetError:
            pass  # a response cut after its head is reset, never ended cleanly
        except TimeoutError:
            faulthandler.dump_traceback(sys.stderr)  # where the server's threads are
            raise AssertionError("no end of %s after %r" % (target, data)) from None
    return int(data.split(b" ", 2)[1]) if data else 0


def listening(port: int) -> Stream:
    stream = Stream(port)
    assert stream.event()["event"] == "hello"
    return stream


def test_an_exception_is_reported_with_its_line_and_without_the_query(
    served: tuple[LiveReload, int],
) -> None:
    _livereload, port = served
    stream = listening(port)
    assert status_of(port, "/raise?token=secret") == 500
    event = stream.event()
    assert event["event"] == "failure"
    assert event["data"] == {
        "key": "path /raise", "kind": "response", "method": "GET", "path": "/raise",
        "message": "ZeroDivisionError: integer division or modulo by zero",
        "file": __file__, "line": RAISE_LINE, "detail": "",
    }  # fmt: skip
    stream.close()


@pytest.mark.parametrize(
    ("target", "message", "has_place"),
    [
        ("/answer-500", "500 Internal Server Error", False),
        ("/generator", "KeyError: 'config'", True),
    ],
    ids=["answered-500", "generator-raises-before-its-head"],
)
def test_other_500s_are_reported(
    served: tuple[LiveReload, int], target: str, message: str, has_place: bool
) -> None:
    _livereload, port = served
    stream = listening(port)
    assert status_of(port, target) == 500
    data = stream.event()["data"]
    assert (data["path"], data["message"], data["file"] is not None) == (target, message, has_place)
    stream.close()


def test_a_later_answer_below_500_clears_the_failure(served: tuple[LiveReload, int]) -> None:
    livereload, port = served
    stream = listening(port)
    assert status_of(port, "/flaky") == 500
    assert stream.event()["data"]["message"] == "ValueError: not yet"
    assert status_of(port, "/other") == 200  # another path clears nothing
    FLAKY["failing"] = False
    assert status_of(port, "/flaky") == 200
    assert stream.event() == {"id": "0", "event": "fixed", "data": {"key": "path /flaky"}}
    assert livereload.failures() == []
    stream.close()


def test_a_body_cut_after_its_head_and_a_404_are_not_failures(
    served: tuple[LiveReload, int],
) -> None:
    livereload, port = served
    status_of(port, "/cut")  # its head may arrive before the reset, or not
    assert status_of(port, "/missing") == 404
    assert livereload.failures() == []
