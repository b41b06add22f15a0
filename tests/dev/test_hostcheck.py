"""The Host allowlist (DNS-rebinding protection): the rule, the mix-in, the middleware."""

from __future__ import annotations

import http.client
import socket
from typing import Any

import pytest

from devserve import WSGIHandler
from devserve.dev.hostcheck import HostCheck, HostCheckMiddleware, host_allowed, is_loopback
from devserve.testing import serve_in_thread
from support.sockets import CLIENT_TIMEOUT, QuietHandler, read_all


@pytest.mark.parametrize(
    ("host", "allowed", "expected"),
    [
        ("localhost", (), True),
        ("localhost:8000", (), True),
        ("LocalHost.:8000", (), True),
        ("app.localhost:8000", (), True),
        ("127.0.0.1:8000", (), True),
        ("[::1]:8000", (), True),
        ("192.168.1.20", (), True),
        (None, (), True),
        ("evil.example", (), False),
        ("localhost.evil.example", (), False),
        ("evillocalhost", (), False),
        ("", (), False),
        (":8000", (), False),
        ("dev.test:8000", ("dev.test",), True),
        ("api.dev.test", ("dev.test",), False),
        ("api.dev.test", (".dev.test",), True),
        ("dev.test", (".dev.test",), True),
        ("notdev.test", (".dev.test",), False),
        ("anything.example", ("*",), True),
    ],
    ids=["localhost", "with-port", "case-and-dot", "sub-localhost", "ipv4", "ipv6", "lan-ip",
         "absent", "other-name", "localhost-prefix", "localhost-suffix", "empty", "port-only",
         "allowed-name", "allowed-not-sub", "allowed-domain-sub", "allowed-domain-itself",
         "allowed-domain-lookalike", "star"],
)  # fmt: skip
def test_host_allowed(host: str | None, allowed: tuple[str, ...], expected: bool) -> None:
    assert host_allowed(host, allowed) is expected


@pytest.mark.parametrize(
    ("bind", "expected"),
    [(None, True), ("127.0.0.1", True), ("127.1.2.3", True), ("::1", True),
     ("localhost", True), ("0.0.0.0", False), ("::", False), ("192.168.1.2", False),
     ("example.test", False)],
    ids=["default", "v4", "v4-net", "v6", "name", "wild4", "wild6", "lan", "other-name"],
)  # fmt: skip
def test_is_loopback(bind: str | None, expected: bool) -> None:
    assert is_loopback(bind) is expected


class Hello(QuietHandler):
    protocol_version = "HTTP/1.1"
    request_checks = (HostCheck(("dev.test",)),)

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"hi")


def get(port: int, host: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=CLIENT_TIMEOUT)
    try:
        connection.request("GET", "/", headers={"Host": host})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_mixin_refuses_a_rebound_name_and_says_how_to_allow_it() -> None:
    with serve_in_thread(Hello) as server:
        assert get(server.port, "localhost:%d" % server.port) == (200, b"hi")
        assert get(server.port, "dev.test") == (200, b"hi")
        status, body = get(server.port, "attacker.example:%d" % server.port)
    assert status == 403
    assert b"--allowed-host attacker.example" in body


def test_no_check_unless_a_handler_asks_for_it() -> None:
    with serve_in_thread(type("Open", (Hello,), {"request_checks": ()})) as server:
        assert get(server.port, "attacker.example") == (200, b"hi")


def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"app"]


def test_middleware_and_wsgi_handler_mixin() -> None:
    with serve_in_thread(HostCheckMiddleware(app, ["dev.test"])) as server:
        assert get(server.port, "dev.test") == (200, b"app")
        status, body = get(server.port, "attacker.example")
        assert status == 403
        assert b"--allowed-host attacker.example" in body
    checked = type("Checked", (WSGIHandler,), {"request_checks": (HostCheck(),)})
    with serve_in_thread(app, handler_class=checked) as server:
        assert get(server.port, "127.0.0.1") == (200, b"app")
        assert get(server.port, "attacker.example")[0] == 403


def test_the_absolute_form_names_the_host_that_is_checked() -> None:
    # RFC 9112 §3.2.2: the target's authority replaces Host, for the check too.
    with serve_in_thread(Hello) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=CLIENT_TIMEOUT) as sock:
            sock.sendall(
                b"GET http://evil.example/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
            )
            assert read_all(sock).startswith(b"HTTP/1.1 403 ")
        with socket.create_connection(("127.0.0.1", server.port), timeout=CLIENT_TIMEOUT) as sock:
            sock.sendall(
                b"GET http://localhost:1/ HTTP/1.1\r\nHost: evil.example\r\n"
                b"Connection: close\r\n\r\n"
            )
            assert read_all(sock).endswith(b"\r\n\r\nhi")


def test_a_refused_host_is_never_invited_to_send_its_body() -> None:
    # The check runs before Expect: 100-continue is answered.
    with (
        serve_in_thread(Hello) as server,
        socket.create_connection(("127.0.0.1", server.port), timeout=CLIENT_TIMEOUT) as sock,
    ):
        sock.sendall(
            b"POST / HTTP/1.1\r\nHost: evil.example\r\nContent-Length: 4\r\n"
            b"Expect: 100-continue\r\n\r\n"
        )
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 403 ")
    assert b"100 Continue" not in answer
