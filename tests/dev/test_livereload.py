"""The live-reload event stream over a real socket, and the watcher behind it."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devserve import SimpleHTTPRequestHandler, ThreadingHTTPServer
from devserve.dev.injection import PageScript
from devserve.dev.livereload import ENDPOINT, LiveReload, same_origin
from devserve.dev.overlay import Failure
from devserve.net.bounded import BoundedHTTPServer
from devserve.testing import serve_in_thread
from support.event_stream import Stream
from support.sockets import CLIENT_TIMEOUT


def quiet(self: Any, format: str, *args: Any) -> None:
    pass


def handler(livereload: LiveReload, directory: Path) -> type:
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        SimpleHTTPRequestHandler.__init__(self, *args, directory=str(directory), **kwargs)

    return type(
        "Files",
        (SimpleHTTPRequestHandler,),
        {"page_transform": PageScript(livereload), "responders": (livereload,),
         "__init__": __init__, "log_message": quiet, "protocol_version": "HTTP/1.1"},
    )  # fmt: skip


# The stdlib's thread per connection (the stream runs on it), and devserve's bounded
# server (the stream is held by the server, its worker freed).
SERVERS = [ThreadingHTTPServer, BoundedHTTPServer]


@pytest.fixture(params=SERVERS, ids=["threading", "bounded"])
def live(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[LiveReload, int]]:
    livereload = LiveReload()
    files = handler(livereload, tmp_path)
    with serve_in_thread(files, server_class=request.param) as server:
        yield livereload, server.port
    livereload.close()


def wait_for_listeners(livereload: LiveReload, count: int) -> None:
    deadline = time.monotonic() + CLIENT_TIMEOUT
    while livereload.connected() < count:
        assert time.monotonic() < deadline, "the stream never registered"
        time.sleep(0.01)


def test_stream_says_hello_then_css_then_reload(live: tuple[LiveReload, int]) -> None:
    livereload, port = live
    stream = Stream(port)
    assert stream.status == 200
    assert "content-type: text/event-stream" in stream.head
    assert "content-length" not in stream.head
    hello = stream.event()
    assert (hello["event"], hello["data"], hello["retry"]) == (
        "hello",
        {"boot": livereload.boot, "failures": []},
        "500",
    )
    wait_for_listeners(livereload, 1)
    assert livereload.notify(["/site/a.css", "/site/B.CSS"]) == "css"
    assert stream.event() == {"id": "1", "event": "css", "data": {"names": ["B.CSS", "a.css"]}}
    assert livereload.notify(["/site/a.css", "/site/index.html"]) == "reload"
    assert stream.event() == {"id": "2", "event": "reload", "data": {"names": []}}
    stream.close()


def test_a_page_that_connects_late_gets_what_it_missed(live: tuple[LiveReload, int]) -> None:
    livereload, port = live
    livereload.notify(["/x/index.html"])
    livereload.notify(["/x/site.css"])
    page_generation = 0  # the page was served before both changes
    stream = Stream(port, ENDPOINT + "?since=%d" % page_generation)
    assert stream.event()["event"] == "hello"
    assert stream.event()["event"] == "reload"
    stream.close()
    # A reconnect after the reload, with Last-Event-ID, misses only the stylesheet.
    stream = Stream(port, ENDPOINT + "?since=0", **{"Last-Event-ID": "1"})
    stream.event()
    assert stream.event() == {"id": "2", "event": "css", "data": {"names": ["site.css"]}}
    stream.close()


LOAD_FAILURE = Failure.load("SyntaxError: invalid syntax", ("/app/app.py", 3), "detail <b>")
BOOM = Failure(
    "path /boom", "ZeroDivisionError: division by zero", "/app/app.py", 9, "", "GET", "/boom"
)


def test_failures_reach_open_pages_and_the_pages_that_connect_later(
    live: tuple[LiveReload, int],
) -> None:
    livereload, port = live
    first = Stream(port)
    assert first.event()["data"]["failures"] == []
    wait_for_listeners(livereload, 1)
    livereload.report_failure(LOAD_FAILURE)
    assert first.event() == {
        "id": "0",
        "event": "failure",
        "data": {
            "key": "load", "kind": "load", "message": "SyntaxError: invalid syntax",
            "file": "/app/app.py", "line": 3, "detail": "detail <b>", "method": "", "path": "",
        },
    }  # fmt: skip
    livereload.report_failure(BOOM)
    assert first.event()["data"]["kind"] == "response"
    # A page that connects now is told what still stands, in order, after hello.
    later = Stream(port)
    hello = later.event()
    assert (hello["event"], hello["data"]["failures"]) == ("hello", ["load", "path /boom"])
    assert [later.event()["data"]["key"] for _ in range(2)] == ["load", "path /boom"]
    wait_for_listeners(livereload, 2)
    livereload.clear_failure("path /unknown")  # nothing to clear: nothing sent
    livereload.clear_failure("path /boom")
    for stream in (first, later):
        assert stream.event() == {"id": "0", "event": "fixed", "data": {"key": "path /boom"}}
    assert livereload.failures() == [LOAD_FAILURE]
    first.close()
    later.close()


def test_a_reload_clears_failures_of_requests_not_of_loading(
    live: tuple[LiveReload, int],
) -> None:
    livereload, port = live
    livereload.report_failure(LOAD_FAILURE)
    for number in range(30):
        livereload.report_failure(BOOM._replace(key="path /%d" % number, path="/%d" % number))
    kept = livereload.failures()
    assert len(kept) == 20
    assert kept[0] == LOAD_FAILURE  # the oldest requests' go first, never the load failure
    assert kept[-1].path == "/29"
    livereload.notify(["/app/templates/page.html"])
    stream = Stream(port)
    assert stream.event()["data"]["failures"] == ["load"]
    stream.close()


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
    ],
    ids=["other-origin", "null-origin", "cross-site", "same-site"],
)
def test_cross_origin_streams_are_refused(
    live: tuple[LiveReload, int], headers: dict[str, str]
) -> None:
    stream = Stream(live[1], **headers)
    assert stream.status == 403
    assert live[0].connected() == 0
    stream.close()


def test_same_origin_stream_is_served(live: tuple[LiveReload, int]) -> None:
    port = live[1]
    stream = Stream(port, Origin="http://127.0.0.1:%d" % port, **{"Sec-Fetch-Site": "same-origin"})
    assert stream.status == 200
    stream.close()


@pytest.mark.parametrize(
    ("origin", "host", "scheme", "expected"),
    [
        (None, "localhost:8000", "http", True),
        ("http://localhost:8000", "localhost:8000", "http", True),
        ("http://LOCALHOST:8000", "localhost:8000", "http", True),
        ("https://localhost:8000", "localhost:8000", "http", False),
        ("http://localhost:8001", "localhost:8000", "http", False),
        ("https://localhost", "localhost:443", "https", True),
        ("http://localhost:8000", None, "http", False),
    ],
    ids=["absent", "same", "case", "scheme", "port", "default-port", "no-host"],
)
def test_same_origin(origin: str | None, host: str | None, scheme: str, expected: bool) -> None:
    assert same_origin(origin, host, scheme) is expected


@pytest.mark.parametrize("server_class", SERVERS, ids=["threading", "bounded"])
def test_stopping_the_server_ends_open_streams_and_their_threads(
    tmp_path: Path, server_class: type
) -> None:
    before = set(threading.enumerate())
    livereload = LiveReload()
    with serve_in_thread(handler(livereload, tmp_path), server_class=server_class) as server:
        stream = Stream(server.port)
        stream.event()
        wait_for_listeners(livereload, 1)
    assert livereload.connected() == 0
    assert stream.sock.recv(100) == b""  # the server closed the stream
    stream.close()
    assert set(threading.enumerate()) <= before


def test_close_ends_streams(live: tuple[LiveReload, int]) -> None:
    livereload, port = live
    stream = Stream(port)
    stream.event()
    wait_for_listeners(livereload, 1)
    livereload.close()
    assert stream.sock.recv(100) == b""
    stream.close()


def test_head_of_the_stream_has_no_body(live: tuple[LiveReload, int]) -> None:
    with socket.create_connection(("127.0.0.1", live[1]), timeout=CLIENT_TIMEOUT) as sock:
        sock.sendall(b"HEAD %s HTTP/1.1\r\nHost: localhost\r\n\r\n" % ENDPOINT.encode())
        data = b""
        while chunk := sock.recv(4096):
            data += chunk
    assert data.startswith(b"HTTP/1.1 200 ")
    assert data.endswith(b"\r\n\r\n")


# -- the watcher behind it ------------------------------------------------------


@pytest.mark.parametrize("backend", ["poll", "watchfiles"])
def test_a_burst_of_changes_is_one_event(tmp_path: Path, backend: str) -> None:
    livereload = LiveReload([tmp_path], delay=0.3, interval=0.05, backend=backend)
    seen: list[set[str]] = []
    livereload.on_change = seen.append
    livereload.start()
    try:
        time.sleep(0.3)
        for name in ("a.html", "b.html", "c.js"):
            (tmp_path / name).write_text("x")
            time.sleep(0.05)
        deadline = time.monotonic() + CLIENT_TIMEOUT
        while not seen and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
    finally:
        livereload.close()
    assert seen == [{str(tmp_path / n) for n in ("a.html", "b.html", "c.js")}]
    assert livereload.generation == 1


@pytest.mark.parametrize("backend", ["poll", "watchfiles"])
def test_editor_temporary_files_are_not_changes(tmp_path: Path, backend: str) -> None:
    livereload = LiveReload([tmp_path], delay=0.05, interval=0.05, backend=backend)
    seen: list[set[str]] = []
    livereload.on_change = seen.append
    livereload.start()
    try:
        time.sleep(0.3)
        # vim's probe, swap and backup files, emacs' lock and autosave, JetBrains' and
        # gedit's atomic-save temporaries, kate's swap file.
        for name in (
            "4913",
            ".index.html.swp",
            "index.html~",
            ".#index.html",
            "#index.html#",
            "index.html___jb_tmp___",
            ".goutputstream-X1Y2",
            ".index.html.kate-swp",
        ):
            (tmp_path / name).write_text("x")  # fmt: skip
        time.sleep(0.8)
        assert seen == []
        (tmp_path / "index.html").write_text("saved")
        deadline = time.monotonic() + CLIENT_TIMEOUT
        while not seen and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        livereload.close()
    assert seen == [{str(tmp_path / "index.html")}]


def test_the_bounded_server_holds_streams_without_threads(tmp_path: Path) -> None:
    livereload = LiveReload()
    files = handler(livereload, tmp_path)
    with serve_in_thread(files, server_class=BoundedHTTPServer) as server:
        streams = [Stream(server.port) for _ in range(BoundedHTTPServer.max_threads + 20)]
        for stream in streams:
            assert stream.event()["event"] == "hello"
        wait_for_listeners(livereload, len(streams))
        # More streams than the pool has threads, and a page is still served at once.
        assert server.server.thread_count <= BoundedHTTPServer.threads
        with socket.create_connection(("127.0.0.1", server.port), timeout=CLIENT_TIMEOUT) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
            assert sock.recv(4096).startswith(b"HTTP/1.1 200 ")
        livereload.notify(["page.html"])
        assert all(stream.event()["event"] == "reload" for stream in streams)
        # A client that leaves is forgotten.
        streams.pop().close()
        wait_for_listeners_at_most(livereload, len(streams))
        for stream in streams:
            stream.close()
    livereload.close()


def wait_for_listeners_at_most(livereload: LiveReload, count: int) -> None:
    deadline = time.monotonic() + CLIENT_TIMEOUT
    while livereload.connected() > count:
        assert time.monotonic() < deadline, "a stream that ended is still counted"
        time.sleep(0.01)
