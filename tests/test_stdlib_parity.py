"""The same raw requests to http.server and to devserve, with the answers compared.

The handler code is the same text run on each module's BaseHTTPRequestHandler.  Only
the ``Date`` header is masked.  Where devserve answers differently on purpose, the
case is listed in DIFFERENT with the reason, and both answers are asserted.
"""

from __future__ import annotations

import http.server
import re
import socket
import sys
import threading
from collections.abc import Iterator
from http import HTTPStatus
from typing import Any

import pytest

import devserve
from support.sockets import CLIENT_TIMEOUT, read_all


def make_handler(base: type[Any], protocol: str) -> type[Any]:
    class Handler(base):  # type: ignore[misc, valid-type]
        protocol_version = protocol
        # The page changed in 3.14 (dark mode); compare everything else byte for byte.
        error_message_format = devserve.DEFAULT_ERROR_MESSAGE

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            if self.path == "/missing":
                self.send_error(404)
                return
            if self.path == "/explain":
                self.send_error(418, "Short <b>", "Long & <explained>")
                return
            body = (
                "%s %s %s|%s"
                % (
                    self.command,
                    self.path,
                    self.request_version,
                    ",".join("%s=%s" % item for item in self.headers.items()),
                )
            ).encode("latin-1")
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_HEAD(self) -> None:
            self.send_error(404)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = self.rfile.read(length)
            self.send_response(201, "Made")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Latin", "Dängerous")
            self.end_headers()
            self.wfile.write(body)

    return Handler


class Pair:
    def __init__(self, protocol: str) -> None:
        self.servers = [
            http.server.ThreadingHTTPServer(
                ("127.0.0.1", 0), make_handler(http.server.BaseHTTPRequestHandler, protocol)
            ),
            devserve.ThreadingHTTPServer(
                ("127.0.0.1", 0), make_handler(devserve.BaseHTTPRequestHandler, protocol)
            ),
        ]
        for server in self.servers:
            threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()

    def ask(self, data: bytes) -> list[bytes]:
        answers = []
        for server in self.servers:
            with socket.create_connection(server.server_address, timeout=CLIENT_TIMEOUT) as s:
                s.sendall(data)
                s.shutdown(socket.SHUT_WR)
                answers.append(normalise(read_all(s)))
        if any(b"3.10 text/html" in answer for answer in answers):
            answers = [
                re.sub(rb"Content-Length: \d+", b"Content-Length: *", answer).replace(
                    b"3.10 text/html", b"text/html"
                )
                for answer in answers
            ]
        return answers

    def close(self) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()


def normalise(answer: bytes) -> bytes:
    answer = re.sub(rb"Date: [^\r\n]+", b"Date: *", answer)
    # Python 3.10 formats the status as "HTTPStatus.BAD_REQUEST" in error pages (its
    # IntEnum str); devserve writes the number on every Python, as 3.11+ does.
    answer, replaced = re.subn(
        rb"HTTPStatus\.([A-Z_]+)", lambda m: b"%d" % HTTPStatus[m[1].decode()].value, answer
    )
    if replaced:
        # The enum name made the stdlib's page longer: mask the length on both sides.
        answer = answer.replace(b"Content-Type: text/html", b"Content-Type: 3.10 text/html")
    return answer


@pytest.fixture(scope="module", params=["HTTP/1.0", "HTTP/1.1"])
def pair(request: pytest.FixtureRequest) -> Iterator[Pair]:
    servers = Pair(request.param)
    yield servers
    servers.close()


SAME = {
    "get": b"GET /a?b=c HTTP/1.1\r\nHost: x\r\nAccept: */*\r\nConnection: close\r\n\r\n",
    "get-1.0": b"GET / HTTP/1.0\r\n\r\n",
    "keep-alive-pipelined": b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n"
    b"Connection: close\r\n\r\n",
    "http-0.9": b"GET /\r\n",
    "http-0.9-version": b"GET / HTTP/0.9\r\n\r\n",
    "send-error": b"GET /missing HTTP/1.1\r\nHost: x\r\n\r\n",
    "send-error-explain-escaped": b"GET /explain HTTP/1.1\r\nHost: x\r\n\r\n",
    "head-error-no-body": b"HEAD /x HTTP/1.1\r\nHost: x\r\n\r\n",
    "unsupported-method": b"PUT / HTTP/1.1\r\nHost: x\r\n\r\n",
    "lowercase-method": b"get / HTTP/1.1\r\nHost: x\r\n\r\n",
    "bad-version": b"GET / HTTP/1.x\r\n\r\n",
    "version-2": b"GET / HTTP/2.0\r\n\r\n",
    "too-many-words": b"GET /a b HTTP/1.1\r\n\r\n",
    "one-word": b"GET\r\n\r\n",
    "0.9-post": b"POST /\r\n",
    "empty-line": b"\r\n",
    "double-slash": b"GET //evil.example/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    "post-body": b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc",
    "expect-100": b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n"
    b"Connection: close\r\n\r\nok",
    "latin-1-header": b"GET / HTTP/1.1\r\nHost: x\r\nX-L: caf\xe9\r\nConnection: close\r\n\r\n",
    "bare-lf": b"GET / HTTP/1.1\nHost: x\nConnection: close\n\n",
    "blank-runs": b"GET  /  HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    "leading-zero": b"GET / HTTP/01.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    "no-host": b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n",
    "request-line-too-long": b"GET /" + b"a" * 65537 + b" HTTP/1.1\r\n\r\n",
    "header-line-too-long": b"GET / HTTP/1.1\r\nX: " + b"a" * 65537 + b"\r\n\r\n",
}

# Deliberate differences, each with its reason (docs/differences.rst lists them too).
DIFFERENT = {
    "cl-and-te": (
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc",
        "RFC 9112 §6.1: both framings at once is how requests are smuggled; devserve answers 400",
        b" 400 ",
    ),
    "obs-fold": (
        b"GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\nConnection: close\r\n\r\n",
        "RFC 9112 §5.2: obs-fold is refused with 400 rather than joined",
        b" 400 ",
    ),
    "nul-in-value": (
        b"GET / HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\nConnection: close\r\n\r\n",
        "RFC 9110 §5.5: NUL in a field value is a 400",
        b" 400 ",
    ),
    "duplicate-host": (
        b"GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\nConnection: close\r\n\r\n",
        "RFC 9112 §3.2: two Host fields are a 400",
        b" 400 ",
    ),
    "space-before-colon": (
        b"GET / HTTP/1.1\r\nHost: x\r\nX : y\r\nConnection: close\r\n\r\n",
        "RFC 9112 §5.1: whitespace between name and colon is a 400",
        b" 400 ",
    ),
}


@pytest.mark.parametrize("name", sorted(SAME))
def test_same_answer_as_http_server(pair: Pair, name: str) -> None:
    stdlib, ours = pair.ask(SAME[name])
    assert ours == stdlib


@pytest.mark.skipif(
    sys.version_info < (3, 11), reason="3.10's error page predates the HTML5 page (bpo-46736)"
)
def test_default_error_page_is_the_3_14_page() -> None:
    # 3.14 added the colour-scheme style; devserve ships that page on every Python.
    style = re.compile(r"\s*<style type=\"text/css\">.*?</style>", re.S)
    assert "color-scheme: light dark" in devserve.DEFAULT_ERROR_MESSAGE
    assert style.sub("", devserve.DEFAULT_ERROR_MESSAGE) == style.sub(
        "", http.server.DEFAULT_ERROR_MESSAGE
    )
    assert devserve.DEFAULT_ERROR_CONTENT_TYPE == http.server.DEFAULT_ERROR_CONTENT_TYPE


@pytest.mark.parametrize("name", sorted(DIFFERENT))
def test_documented_difference(pair: Pair, name: str) -> None:
    data, _reason, ours_has = DIFFERENT[name]
    stdlib, ours = pair.ask(data)
    assert ours != stdlib
    assert ours_has in ours.split(b"\r\n", 1)[0]
    assert b"Connection: close" in ours
