"""BaseHTTPRequestHandler over real sockets: the stdlib contract and what devserve adds."""

from __future__ import annotations

import socket
import time
from typing import Any

import pytest

import devserve
from devserve.http11 import Limits
from support.sockets import QuietHandler, counting_sends, read_all

HELLO = b"Hello, world!"


class Hello(QuietHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(HELLO)))
        self.end_headers()
        self.wfile.write(HELLO)

    def do_POST(self) -> None:
        body = self.read_body()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_IGNORE(self) -> None:
        """Answers without reading the request body."""
        self.send_response(204)
        self.end_headers()

    def do_OVERREAD(self) -> None:
        """Reads past the declared body straight from rfile."""
        self.rfile.read(int(self.headers["Content-Length"]) + 4)
        self.send_response(204)
        self.end_headers()


def responses(data: bytes) -> list[bytes]:
    """Split concatenated responses on their status lines."""
    parts = data.split(b"HTTP/1.")
    return [b"HTTP/1." + part for part in parts[1:]]


def test_pipelined_requests_are_answered_in_order(serve: Any) -> None:
    server = serve(Hello)
    data = server.exchange(
        b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
        b"POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
        b"GET /3 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
    )
    answers = responses(data)
    assert len(answers) == 3
    assert answers[0].endswith(HELLO)
    assert answers[1].endswith(b"\r\n\r\nabc")
    assert answers[2].endswith(HELLO)


def test_chunked_request_body_is_decoded_by_read_body(serve: Any) -> None:
    server = serve(Hello)
    data = server.exchange(
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n"
    )
    assert data.startswith(b"HTTP/1.1 200 OK\r\n")
    assert data.endswith(b"Content-Length: 11\r\n\r\nhello world")


@pytest.mark.parametrize(
    "body_request",
    [
        b"IGNORE / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n{}GET",
        b"IGNORE / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{}GET\r\n"
        b"0\r\n\r\n",
    ],
    ids=["content-length", "chunked"],
)
def test_unread_body_is_drained_not_parsed_as_the_next_request(
    serve: Any, body_request: bytes
) -> None:
    # Werkzeug turned keep-alive off over this: an unread body read as the next request.
    server = serve(Hello)
    data = server.exchange(body_request + b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    answers = responses(data)
    assert [a.split(b"\r\n", 1)[0] for a in answers] == [
        b"HTTP/1.1 204 No Content",
        b"HTTP/1.1 200 OK",
    ]
    assert answers[1].endswith(HELLO)


def test_body_too_large_to_drain_closes_the_connection(serve: Any) -> None:
    class SmallDrain(Hello):
        limits = devserve.http11.Limits(max_drain_size=10)

    server = serve(SmallDrain)
    data = server.exchange(
        b"IGNORE / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n"
        + b"x" * 100
        + b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"
    )
    assert [a.split(b"\r\n", 1)[0] for a in responses(data)] == [b"HTTP/1.1 204 No Content"]


def test_handler_that_reads_past_its_body_closes_the_connection(serve: Any) -> None:
    server = serve(Hello)
    data = server.exchange(
        b"OVERREAD / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nab"
        b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"
    )
    assert [a.split(b"\r\n", 1)[0] for a in responses(data)] == [b"HTTP/1.1 204 No Content"]


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n",
            400,
        ),
        (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\nabc", 400),
        (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", 400),
        (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501),
        (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: a\r\nX : b\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n c\r\n\r\n", 400),
        (
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n"
            b"0\r\n\r\n",
            400,
        ),
        (
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n"
            b"helloXX0\r\n\r\n",
            400,
        ),
    ],
    ids=[
        "cl+te",
        "cl-plus",
        "cl-twice",
        "te-gzip",
        "te-not-last",
        "host-twice",
        "nul",
        "space-before-colon",
        "obs-fold",
        "chunk-size-hex-prefix",
        "chunk-missing-crlf",
    ],
)
def test_smuggling_vectors_get_an_error_then_close(
    serve: Any, request_bytes: bytes, status: int
) -> None:
    # Always on, even in the lenient drop-in: answer once, never parse what follows.
    server = serve(Hello)
    data = server.exchange(request_bytes + b"GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n")
    answers = responses(data)
    assert len(answers) == 1
    assert answers[0].startswith(b"HTTP/1.1 %d " % status)
    assert b"Connection: close\r\n" in answers[0]


class Strict(Hello):
    strict_parsing = True


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET / HTTP/1.1\nHost: a\n\n",
        b"GET  /  HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET / HTTP/01.1\r\nHost: a\r\n\r\n",
        b"GET /\xff HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET / HTTP/1.1\r\n\r\n",
    ],
    ids=["bare-lf", "blank-runs", "leading-zero-version", "raw-non-ascii", "missing-host"],
)
def test_stdlib_leniencies_follow_strict_parsing(serve: Any, request_bytes: bytes) -> None:
    lenient = serve(Hello).exchange(request_bytes, until_close=False)
    strict = serve(Strict).exchange(request_bytes)
    assert lenient.startswith(b"HTTP/1.1 200 OK")
    assert strict.startswith(b"HTTP/1.1 400 ")


def test_strict_mode_refuses_http_0_9(serve: Any) -> None:
    assert serve(Strict).exchange(b"GET /\r\n").startswith(b"HTTP/1.1 400 ")
    assert serve(Hello).exchange(b"GET /\r\n") == HELLO


def test_one_send_per_small_response(serve: Any) -> None:
    Counted, sends = counting_sends(Hello)
    server = serve(Counted)
    server.exchange(
        b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
    )
    assert len(sends) == 2
    assert all(send.startswith(b"HTTP/1.1 200 OK") and send.endswith(HELLO) for send in sends)


def test_response_without_length_is_close_delimited(serve: Any) -> None:
    class NoLength(QuietHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"streamed")

    server = serve(NoLength)
    with server.connect() as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        data = read_all(sock)  # returns only because the server closes
    assert b"Connection: close\r\n" in data
    assert data.endswith(b"\r\n\r\nstreamed")


def test_connection_header_is_a_token_list(serve: Any) -> None:
    server = serve(Hello)
    with server.connect() as sock:
        sock.sendall(b"GET / HTTP/1.0\r\nConnection: Keep-Alive, Upgrade\r\n\r\n")
        first = sock.recv(65536)
        sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
        second = read_all(sock)
    assert first.endswith(HELLO)
    assert second.endswith(HELLO)


def test_expect_100_continue_is_answered_before_the_body(serve: Any) -> None:
    server = serve(Hello)
    with server.connect() as sock:
        sock.sendall(
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nExpect: 100-continue\r\n"
            b"Connection: close\r\n\r\n"
        )
        assert sock.recv(65536) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b"data")
        assert read_all(sock).endswith(b"\r\n\r\ndata")


@pytest.mark.parametrize(
    ("request_head", "status"),
    [
        (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 999999\r\nExpect: 100-continue\r\n"
         b"\r\n", b"413"),
        (b"BREW / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n",
         b"501"),
    ],
    ids=["too-large", "unsupported-method"],
)  # fmt: skip
def test_no_100_continue_for_a_request_that_will_be_refused(
    serve: Any, request_head: bytes, status: bytes
) -> None:
    small = type("Small", (Hello,), {"limits": Limits(max_body_size=1000)})
    server = serve(small)
    with server.connect() as sock:
        sock.sendall(request_head)
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 " + status + b" ")
    assert b"100 Continue" not in answer


def test_exception_in_handler_answers_500_and_server_survives(
    serve: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    class Broken(Hello):
        def do_GET(self) -> None:
            if self.path == "/boom":
                raise RuntimeError("boom")
            super().do_GET()

    server = serve(Broken)
    data = server.exchange(b"GET /boom HTTP/1.1\r\nHost: a\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 500 Internal Server Error\r\n")
    assert b"RuntimeError" not in data
    assert server.exchange(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").endswith(
        HELLO
    )
    assert "RuntimeError: boom" in capsys.readouterr().err


def test_send_header_refuses_response_splitting(serve: Any) -> None:
    class Splitting(Hello):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Location", "/x\r\nSet-Cookie: evil=1")
            self.end_headers()

    server = serve(Splitting)
    data = server.exchange(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 500 ")
    assert b"evil" not in data


def test_client_disconnect_prints_no_traceback(
    serve: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    class Big(QuietHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(50 << 20))
            self.end_headers()
            for _ in range(50):
                self.wfile.write(b"x" * (1 << 20))

    server = serve(Big)
    sock = server.connect()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    sock.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    sock.recv(1000)
    sock.close()  # reset the connection mid-response
    time.sleep(0.3)
    assert server.exchange(
        b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", until_close=False
    )
    assert "Traceback" not in capsys.readouterr().err


def test_idle_timeout_closes_an_idle_persistent_connection(serve: Any) -> None:
    class Idle(Hello):
        idle_timeout = 0.3

    server = serve(Idle)
    with server.connect() as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        assert sock.recv(65536).endswith(HELLO)
        started = time.monotonic()
        assert read_all(sock) == b""  # closed by the server, not by our timeout
        assert time.monotonic() - started < 3


def test_head_timeout_answers_408_to_a_trickling_client(serve: Any) -> None:
    class Deadline(Hello):
        head_timeout = 0.5

    server = serve(Deadline)
    with server.connect() as sock:
        sock.sendall(b"GET / HTTP/1.1\r\n")
        data = b""
        for byte in b"Host: slow\r\nX-Slow: " + b"x" * 20:
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                break
            time.sleep(0.05)
        data = read_all(sock)
    assert data.startswith(b"HTTP/1.1 408 ")


def test_log_lines_escape_control_characters(
    serve: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    class Logged(devserve.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_error(404)

    server = serve(Logged)
    server.exchange(b"GET /\x1b[31mred HTTP/1.0\r\n\r\n")  # a 400: no raw CTLs in targets
    server.exchange(b"GET /\\red HTTP/1.0\r\n\r\n")
    err = capsys.readouterr().err
    assert "\x1b" not in err
    assert '"GET /\\x1b[31mred HTTP/1.0" 400 -' in err
    assert '"GET /\\\\red HTTP/1.0" 404 -' in err


def test_request_head_is_exposed_to_handlers(serve: Any) -> None:
    seen: list[Any] = []

    class Inspect(Hello):
        def do_GET(self) -> None:
            seen.append(self.request_head)
            seen.append(self.headers.get_all("X-Dup"))
            super().do_GET()

    serve(Inspect).exchange(
        b"GET /p?q=1 HTTP/1.1\r\nHost: h\r\nX-Dup: 1\r\nx-dup: 2\r\nConnection: close\r\n\r\n"
    )
    head, dups = seen
    assert head.line.target == "/p?q=1"
    assert head.host == "h"
    assert dups == ["1", "2"]


def test_handler_limits_apply_on_the_live_path(serve: Any) -> None:
    class Tight(Hello):
        limits = devserve.http11.Limits(max_content_length_digits=2, max_fields=3)

    server = serve(Tight)
    too_long = server.exchange(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n")
    assert too_long.startswith(b"HTTP/1.1 413 ")
    too_many = server.exchange(b"GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n")
    assert too_many.startswith(b"HTTP/1.1 431 ")


def test_announce_close_tells_the_client_the_connection_ends(serve: Any) -> None:
    class Announcing(Hello):
        announce_close = True

    request = b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
    assert b"Connection: close\r\n" in serve(Announcing).exchange(request)
    assert b"Connection:" not in serve(Hello).exchange(request)  # the stdlib's behaviour
    http10 = serve(Announcing).exchange(b"GET / HTTP/1.0\r\n\r\n")
    assert b"Connection: close\r\n" in http10
