"""devserve.handler.given: a handler serving requests another server parsed.

The connection hands the handler its requests as a line and fields; its ``rfile``
holds the bodies alone.  What the handler makes of a head (command, path, headers,
framing, keep-alive, errors) must be what it makes of the same head read as bytes.
"""

from __future__ import annotations

import io
from typing import Any

import pytest

import devserve
from devserve.handler.given import GivenRequest, GivenRequests


class Given(GivenRequests):
    """A connection carrying *requests* parsed, their bodies in *bodies*, one after another."""

    def __init__(self, requests: list[GivenRequest], bodies: bytes = b"") -> None:
        self.requests = list(requests)
        self.rfile = io.BytesIO(bodies)
        self.wfile = io.BytesIO()

    def take_request(self) -> GivenRequest | None:
        return self.requests.pop(0) if self.requests else None

    def makefile(self, mode: str = "r", buffering: int | None = None) -> Any:
        return self.wfile if "w" in mode else self.rfile

    def sendall(self, data: bytes) -> None:
        self.wfile.write(data)


class Echo(devserve.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        body = b"%s %s %s|%s|%s" % (
            self.command.encode(), self.path.encode(), self.request_version.encode(),
            self.headers.get("X-Thing", "").encode(), self.rfile.read(length),
        )  # fmt: skip
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST

    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve(connection: Given, handler: type[Any] = Echo) -> list[bytes]:
    """Serve *connection*; return each response's status line and body."""

    class Server:
        server_name, server_port = "localhost", 80

    handler(connection, ("127.0.0.1", 1), Server())
    out = connection.wfile.getvalue()
    return [part.split(b"\r\n")[0] + b" | " + part.split(b"\r\n\r\n", 1)[1]
            for part in out.split(b"HTTP/1.1 ")[1:]]  # fmt: skip


def test_requests_are_taken_parsed_and_bodies_read_from_rfile() -> None:
    connection = Given(
        [
            (
                b"POST /a?x=1 HTTP/1.1\r\n",
                [(b"Host", b"h"), (b"Content-Length", b"3"), (b"X-Thing", b"one")],
            ),
            (b"GET /b HTTP/1.1\r\n", [(b"Host", b"h")]),
        ],
        bodies=b"abc",
    )
    assert serve(connection) == [
        b"200 OK | POST /a?x=1 HTTP/1.1|one|abc",
        b"200 OK | GET /b HTTP/1.1||",
    ]
    assert connection.requests == []


@pytest.mark.parametrize(
    ("request_", "status"),
    [
        ((b"GET / HTTP/1.1\r\n", [(b"Host", b"h"), (b"Host", b"i")]), b"400"),
        ((b"POST / HTTP/1.1\r\n", [(b"Host", b"h"), (b"Content-Length", b"1"),
                                   (b"Transfer-Encoding", b"chunked")]), b"400"),
        ((b"GET / HTTP/3.0\r\n", [(b"Host", b"h")]), b"505"),
        ((b"BREW / HTTP/1.1\r\n", [(b"Host", b"h")]), b"501"),
        # What a server's parser let through that devserve's refuses, with its reason.
        ((b"GET / HTTP/1.1\r\n", [(b"Host", b"h"), (b"X-A", b"a\x01b")]),
         b"400 Bad header | Invalid character in header value"),
        ((b"GET / HTTP/1.1\r\n", [(b"Host", b"h"), (b"X A", b"b")]),
         b"400 Bad header | Invalid character in header name"),
        ((b"GET / HTTP/1.1\r\n", [(b"Host", b"h"), (b"X-A", b"a\rb")]),
         b"400 Bad header | Bare CR in header value"),
    ],
    ids=["two-hosts", "length-and-chunked", "version", "method", "control-in-value",
         "name-not-a-token", "bare-cr"],
)  # fmt: skip
def test_a_head_given_parsed_is_judged_as_one_read(request_: GivenRequest, status: bytes) -> None:
    strict = type("Strict", (Echo,), {"strict_parsing": True})
    [answer] = serve(Given([request_]), strict)
    code, _, reason = status.partition(b" | ")
    assert answer.startswith(code + b" "), answer
    assert reason in answer, answer  # the explanation a head read as bytes gets
