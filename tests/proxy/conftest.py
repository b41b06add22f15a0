"""A backend (devserve's own WSGI server) and a front server proxying /api to it."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

import pytest

import devserve
from devserve.mount.table import MountTable
from devserve.net.bounded import BoundedHTTPServer
from support.sockets import RunningServer
from support.wsgi import QuietWSGIHandler


class Backend:
    """A WSGI backend that says what it got, and the client ports it saw (its connections)."""

    def __init__(self) -> None:
        self.ports: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        with self.lock:
            self.ports.append(environ["REMOTE_PORT"])
        path = environ["PATH_INFO"]
        if path.endswith("/events"):
            start_response("200 OK", [("Content-Type", "text/event-stream")])
            return self.events()
        if path.endswith("/big"):
            start_response("200 OK", [("Content-Type", "application/octet-stream")])
            return (b"x" * 65536 for _ in range(int(environ["QUERY_STRING"])))
        if path.endswith("/go"):
            start_response("302 Found", [("Location", "http://%s/api/there" % environ["HTTP_HOST"]),
                                         ("Content-Length", "0")])  # fmt: skip
            return []
        if path.endswith("/cookie"):
            start_response("200 OK", [("Set-Cookie", "s=1; Domain=127.0.0.1; Path=/v1/app"),
                                      ("Content-Length", "0")])  # fmt: skip
            return []
        body = environ["wsgi.input"].read()
        fields = {k[5:].lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
        answer = json.dumps(
            {
                "method": environ["REQUEST_METHOD"],
                "script": environ["SCRIPT_NAME"],
                "path": path,
                "query": environ["QUERY_STRING"],
                "body": body.decode(),
                "fields": fields,
            }
        ).encode()
        start_response("200 OK", [("Content-Type", "application/json"),
                                  ("Content-Length", str(len(answer)))])  # fmt: skip
        return [answer]

    def events(self) -> Iterator[bytes]:
        for number in range(3):
            yield b"data: event %d\n\n" % number
            time.sleep(0.3)


class Front(devserve.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 5.0
    responders = ()

    def do_GET(self) -> None:
        body = b"front"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def backend() -> Iterator[tuple[RunningServer, Backend]]:
    app = Backend()
    running = RunningServer(
        devserve.make_server("127.0.0.1", 0, app, handler_class=QuietWSGIHandler)
    )
    yield running, app
    running.stop()


def front_for(*mounts: tuple[str, Any], server_class: Any = BoundedHTTPServer) -> RunningServer:
    table = MountTable(mounts)
    handler = type("Handler", (Front,), {"responders": (table,)})
    return RunningServer(server_class(("127.0.0.1", 0), handler))


class RawBackend:
    """A socket server for edge cases: each connection is given to *serve* in a thread."""

    def __init__(self, serve: Any) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self.serve = serve
        self.connections: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            self.connections.append(sock)
            threading.Thread(target=self._run, args=(sock,), daemon=True).start()

    def _run(self, sock: socket.socket) -> None:
        with contextlib.suppress(OSError), sock:
            self.serve(sock)

    def close(self) -> None:
        self.listener.close()
        for sock in self.connections:
            with contextlib.suppress(OSError):
                sock.close()


def websocket_echo(sock: socket.socket) -> None:
    """RFC 6455's handshake, then every byte echoed back (frames and all)."""
    sock.settimeout(10)
    head = b""
    while b"\r\n\r\n" not in head:
        data = sock.recv(4096)
        if not data:
            return
        head += data
    head, _, rest = head.partition(b"\r\n\r\n")
    fields = dict(
        line.split(": ", 1) for line in head.decode("latin-1").split("\r\n")[1:]
    )  # fmt: skip
    key = {name.lower(): value for name, value in fields.items()}["sec-websocket-key"]
    accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
    sock.sendall(
        ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Accept: %s\r\n\r\n" % accept).encode() + b"hello from backend"
    )  # fmt: skip
    if rest:
        sock.sendall(rest)
    while data := sock.recv(65536):
        sock.sendall(data)


GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


@pytest.fixture
def echo() -> Iterator[RawBackend]:
    raw = RawBackend(websocket_echo)
    yield raw
    raw.close()
