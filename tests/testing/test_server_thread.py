"""serve_in_thread and the pytest plugin: ready on start, nothing left after stop."""

from __future__ import annotations

import os
import socket
import threading
import urllib.request
from typing import Any

import pytest

import devserve
from devserve.testing import serve_in_thread
from support.sockets import CLIENT_TIMEOUT, QuietHandler

pytest_plugins = ["devserve.testing.pytest_plugin", "pytester"]


class Hello(QuietHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"hi")


def open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def test_serve_in_thread_serves_then_leaves_no_thread_or_socket() -> None:
    threads_before = set(threading.enumerate())
    fds_before = open_fds()
    with serve_in_thread(Hello) as server:
        assert server.url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(server.url + "/", timeout=CLIENT_TIMEOUT) as response:
            assert response.read() == b"hi"
        # An idle persistent connection must not keep the server from stopping.
        idle = socket.create_connection((server.host, server.port), timeout=CLIENT_TIMEOUT)
        idle.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        assert idle.recv(1024).endswith(b"hi")
    assert idle.recv(1024) == b""  # the server closed it
    idle.close()
    assert set(threading.enumerate()) <= threads_before
    assert open_fds() <= fds_before


def test_serve_in_thread_rejects_what_it_cannot_serve() -> None:
    with pytest.raises(TypeError, match="WSGI"):
        serve_in_thread(42)


def test_pytest_fixture_serves_a_handler(devserve_server: Any) -> None:
    server = devserve_server(Hello)
    with urllib.request.urlopen(server.url + "/", timeout=CLIENT_TIMEOUT) as response:
        assert response.status == 200


def test_serve_in_thread_is_exported() -> None:
    assert devserve.serve_in_thread is serve_in_thread


def hello_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"app"]


def test_wsgi_app_in_thread_leaves_nothing_even_when_the_block_raises() -> None:
    threads_before = set(threading.enumerate())
    fds_before = open_fds()
    server = serve_in_thread(hello_app)

    def use_then_fail() -> None:
        with server:
            with urllib.request.urlopen(server.url + "/", timeout=CLIENT_TIMEOUT) as response:
                assert response.read() == b"app"
            raise RuntimeError("inside")

    with pytest.raises(RuntimeError, match="inside"):
        use_then_fail()
    server.stop()  # a second stop is harmless
    assert set(threading.enumerate()) <= threads_before
    assert open_fds() <= fds_before
    with (
        pytest.raises(ConnectionRefusedError),
        socket.create_connection((server.host, server.port), timeout=CLIENT_TIMEOUT),
    ):
        pass


def test_ready_on_start_without_waiting() -> None:
    server = serve_in_thread(Hello).start()
    try:
        # No sleep, no retry: the socket listened before start() returned.
        with socket.create_connection((server.host, server.port), timeout=CLIENT_TIMEOUT) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
            assert s.recv(1024).endswith(b"hi")
    finally:
        server.stop()


def test_fixture_stops_servers_at_the_end_of_the_test(pytester: pytest.Pytester) -> None:
    pytester.makeconftest('pytest_plugins = ["devserve.testing.pytest_plugin"]')
    pytester.makepyfile(
        """
        import threading, urllib.request

        def app(environ, start_response):
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok"]

        BEFORE = set(threading.enumerate())

        def test_one(devserve_server):
            server = devserve_server(app)
            assert urllib.request.urlopen(server.url, timeout=5).read() == b"ok"

        def test_nothing_left():
            assert set(threading.enumerate()) <= BEFORE
        """
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
