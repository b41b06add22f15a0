"""Replay every request in tests/vectors/ over a real socket to each kind of handler.

The kinds: a plain :class:`devserve.BaseHTTPRequestHandler` subclass that echoes the
parsed request (strict and lenient), :class:`devserve.SimpleHTTPRequestHandler` (strict,
as the command line serves files) and :class:`devserve.WSGIHandler` with an echo
application.  Each vector is sent whole, then the client half-closes; a head error is
followed by a valid pipelined request that must never be answered: one answer, then
the connection closes (RFC 9112 §9.3: after a framing error the server cannot know
where the next request starts, so it must not resynchronise).
"""

from __future__ import annotations

import dataclasses
import json
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import devserve
from devserve.http11 import Limits
from support.sockets import CLIENT_TIMEOUT, read_all
from support.vectors import ALL, Vector

FOLLOW_UP = b"GET /after HTTP/1.1\r\nHost: a\r\n\r\n"
# Statuses that mean "the request itself was refused".
PROTOCOL_ERRORS = {400, 408, 411, 413, 414, 431, 501, 505}


@dataclasses.dataclass
class Response:
    status: int  # 0 for an HTTP/0.9 answer (a body alone)
    headers: dict[str, str]
    body: bytes


def parse_responses(data: bytes, method: str) -> list[Response]:
    """Split everything a server sent into responses (interim 1xx ones dropped)."""
    responses = []
    while data:
        if not data.startswith(b"HTTP/"):
            responses.append(Response(0, {}, data))
            break
        head, separator, data = data.partition(b"\r\n\r\n")
        assert separator, "a response head without its end: %r" % head
        status_line, *lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ")[1])
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.lower()] = value.strip(" ")
        if status < 200:
            continue
        if method == "HEAD" or status in (204, 304):
            body = b""
        elif headers.get("transfer-encoding") == "chunked":
            parts = []
            while True:
                size_line, _, data = data.partition(b"\r\n")
                size = int(size_line.split(b";")[0], 16)
                if size == 0:
                    data = data.partition(b"\r\n")[2]
                    break
                parts.append(data[:size])
                data = data[size + 2 :]
            body = b"".join(parts)
        elif "content-length" in headers:
            length = int(headers["content-length"])
            body, data = data[:length], data[length:]
        else:
            body, data = data, b""
        responses.append(Response(status, headers, body))
    return responses


class EchoHandler(devserve.BaseHTTPRequestHandler):
    """Answer every method with the request as parsed, in JSON."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def __getattr__(self, name: str) -> Any:
        if name.startswith("do_"):
            return self._echo
        raise AttributeError(name)

    def _echo(self) -> None:
        head = self.request_head
        body = self.read_body()
        if head is None:  # HTTP/0.9
            echo: dict[str, Any] = {"method": self.command, "target": self.path}
        else:
            echo = {
                "method": head.line.method,
                "target": head.line.target,
                "version": head.line.version,
                "headers": [list(field) for field in head.fields],
            }
        echo["body"] = body.decode("latin-1")
        data = json.dumps(echo).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class StrictEchoHandler(EchoHandler):
    strict_parsing = True


class QuietFiles(devserve.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    strict_parsing = True

    def log_message(self, format: str, *args: Any) -> None:
        pass


class QuietWSGI(devserve.WSGIHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def echo_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    body = environ["wsgi.input"].read()
    data = json.dumps(
        {"method": environ["REQUEST_METHOD"], "body": body.decode("latin-1")}
    ).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [data]


KINDS = ("plain-strict", "plain-lenient", "files", "wsgi")

# Where a live connection rightly differs from the core's verdict on the same bytes:
# each of these ends with no answer at all and a closed connection.
_NO_REQUEST = "a connection that ends before any request line is closed without an answer"
_BLANK_LINE = "http.server closes on a blank request line without answering; lenient keeps that"
SILENT_CLOSE: dict[str, str] = {
    **{f"request-line/empty-input-{kind}": _NO_REQUEST for kind in KINDS},
    **{f"request-line/empty-line-only-{kind}": _NO_REQUEST + " (strict skips one empty "
       "line, RFC 9112 §2.2)" for kind in KINDS},
    "request-line/empty-line-only-plain-lenient": _BLANK_LINE,
    "request-line/leading-empty-line-plain-lenient": _BLANK_LINE,
    "request-line/two-leading-empty-lines-plain-lenient": _BLANK_LINE,
}  # fmt: skip


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[Any, Any]]:
    """Running servers keyed by (kind, limits), started on first use."""
    docroot = tmp_path_factory.mktemp("docroot")
    (docroot / "index.html").write_text("<p>hello</p>")
    running: dict[Any, Any] = {}

    def get(kind: str, limits: Limits) -> Any:
        key = (kind, limits)
        if key not in running:
            running[key] = start(kind, limits, docroot)
        return running[key]

    yield {"get": get}
    for server in running.values():
        server.stop()


def start(kind: str, limits: Limits, docroot: Path) -> Any:
    attributes: dict[str, Any] = {"limits": limits}
    if kind == "wsgi":
        handler = type("Handler", (QuietWSGI,), attributes)
        server = devserve.make_server("127.0.0.1", 0, echo_app, handler_class=handler)
        return devserve.testing.ServerThread(server).start()
    if kind == "files":
        directory = str(docroot)

        def init(self: Any, *args: Any, **kwargs: Any) -> None:
            QuietFiles.__init__(self, *args, directory=directory, **kwargs)

        attributes["__init__"] = init
        base: type = QuietFiles
    else:
        base = StrictEchoHandler if kind == "plain-strict" else EchoHandler
    handler = type("Handler", (base,), attributes)
    return devserve.serve_in_thread(handler).start()


def exchange(server: Any, data: bytes) -> tuple[bytes, bool]:
    """Send *data*, half-close, and read to the end; return (answer, closed cleanly)."""
    with socket.create_connection((server.host, server.port), timeout=CLIENT_TIMEOUT) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before reading everything
        answer = read_all(sock)
        try:
            closed = sock.recv(1) == b""
        except TimeoutError:
            closed = False
        except ConnectionResetError:
            closed = True
    return answer, closed


def status_of(response: Response) -> int:
    """The status, also of the stdlib's HTTP/0.9-style error page (a body alone)."""
    if response.status == 0:
        found = re.search(rb"Error code: (\d+)", response.body)
        return int(found[1]) if found else 0
    return response.status


def _cases() -> Iterator[Any]:
    for vector in ALL:
        for kind in KINDS:
            yield pytest.param(vector, kind, id=f"{vector.name}-{kind}")


@pytest.mark.parametrize(("vector", "kind"), list(_cases()))
def test_vector_over_socket(vector: Vector, kind: str, servers: dict[str, Any]) -> None:
    expected = vector.expected("lenient" if kind == "plain-lenient" else "strict")
    server = servers["get"](kind, vector.limits)
    head_error = expected.get("stage") == "head"
    silent = f"{vector.name}-{kind}" in SILENT_CLOSE
    data = vector.data + (FOLLOW_UP if head_error and not silent else b"")
    method = vector.data.split(b" ", 1)[0].decode("latin-1")
    answer, closed = exchange(server, data)
    responses = parse_responses(answer, method)
    assert closed, "the connection was left open"
    if silent:
        assert responses == []
        return
    over_socket = vector.spec.get("over_socket")
    if over_socket is not None:
        # Pipelined requests: how many are answered, and how.
        assert len(responses) == over_socket["answers"], [r.status for r in responses]
        if kind != "files" and "statuses" in over_socket:
            assert [status_of(r) for r in responses] == over_socket["statuses"]
        return
    if "error" in expected:
        # One answer, never a second one for the bytes after the error.
        assert len(responses) <= 1, [r.status for r in responses]
        if head_error or kind != "files":
            assert [status_of(r) for r in responses] == [expected["status"]]
        return
    assert responses, "no answer to a valid request"
    first = responses[0]
    if not expected.get("rest"):
        assert len(responses) == 1, [r.status for r in responses]
    if kind == "files":
        assert first.status not in PROTOCOL_ERRORS - {501}
        return
    assert first.status in (0, 200), first.body[:200]
    echo = json.loads(first.body)
    if kind == "wsgi":
        assert echo == {"method": expected["method"], "body": expected["body"]}
        return
    for key in ("method", "target", "body") if first.status == 0 else expected:
        if key in echo:
            assert echo[key] == expected[key], key


def test_parse_responses_reads_every_framing() -> None:
    data = (
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n1;x\r\nc\r\n0\r\n\r\n"
        b"HTTP/1.1 304 Not Modified\r\n\r\n"
        b"HTTP/1.0 200 OK\r\n\r\nrest"
    )
    responses = parse_responses(data, "GET")
    assert [(r.status, r.body) for r in responses] == [
        (200, b"ok"),
        (200, b"abc"),
        (304, b""),
        (200, b"rest"),
    ]
    assert parse_responses(b"raw", "GET") == [Response(0, {}, b"raw")]
