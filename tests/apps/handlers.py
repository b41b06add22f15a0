"""Request handler classes, one job each, and the WSGI application that serves them all.

Each class runs unchanged on devserve's ThreadingHTTPServer and, wrapped in
:class:`devserve.HandlerApp`, under any WSGI server.  :func:`dispatcher` is one WSGI
application for all of them, the handler chosen by the ``X-Handler`` request header, so
one gunicorn or waitress process serves every case; gunicorn loads it as
``apps.handlers:dispatcher('/path/to/root')``.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import time
from collections.abc import Callable, Iterable
from typing import Any

import devserve

HELLO = b"Hello, world!"
#: The block a large body is made of.
BLOCK = bytes(range(256)) * 256
#: Seconds the streaming handler waits for the client's go-ahead.
RELEASE_TIMEOUT = 10.0


class Quiet(devserve.BaseHTTPRequestHandler):
    """HTTP/1.1, and no access log (a subprocess's stderr pipe is not read while it runs)."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def reply(self, body: bytes, status: int = 200, content_type: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Hello(Quiet):
    def do_GET(self) -> None:
        self.reply(HELLO)


class Echo(Quiet):
    """POST: the body read by ``rfile.read(Content-Length)``, and what the handler saw."""

    def do_POST(self) -> None:
        length = self.headers.get("Content-Length")
        body = self.rfile.read(int(length)) if length is not None else b""
        seen = {
            "body": body.decode("latin-1"),
            "command": self.command,
            "path": self.path,
            "request_version": self.request_version,
            "content_length": length,
            "transfer_encoding": self.headers.get("Transfer-Encoding"),
            "expect": self.headers.get("Expect"),
            "x_custom": self.headers.get_all("X-Custom"),
        }
        self.reply(json.dumps(seen).encode(), content_type="application/json")

    do_GET = do_POST


class ReadBody(Quiet):
    """POST: the body read with ``read_body()``, whether it came with a length or chunked."""

    def do_POST(self) -> None:
        body = self.read_body()
        self.reply(b"%d:%s" % (len(body), body))


class Stream(Quiet):
    """GET: three parts and no length; ``?wait=FILE`` waits for FILE after the first part."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"first,")
        self.wfile.flush()
        _, _, query = self.path.partition("?wait=")
        if query:
            self.wfile.write(b"released," if _wait_for(query) else b"timed out,")
        self.wfile.write(b"second,")
        self.wfile.write(b"third")


def _wait_for(path: str) -> bool:
    deadline = time.monotonic() + RELEASE_TIMEOUT
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


class Chunked(Quiet):
    """GET: a body the handler chunks itself, with a trailer."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for part in (b"one,", b"two,", b"three"):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
        self.wfile.write(b"0\r\nX-Trailer: dropped\r\n\r\n")


class Errors(Quiet):
    """GET /404 and /500: ``send_error``."""

    def do_GET(self) -> None:
        if self.path == "/404":
            self.send_error(404)
        else:
            self.send_error(500, "Broken", "Something broke")


class Ignore(Quiet):
    """POST: answers without reading the body."""

    def do_POST(self) -> None:
        self.reply(b"ignored")


class Large(Quiet):
    """GET /N: N bytes of :data:`BLOCK` (a multiple of its size), with a Content-Length."""

    def do_GET(self) -> None:
        size = int(self.path.lstrip("/"))
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        for _ in range(size // len(BLOCK)):
            self.wfile.write(BLOCK)


class Facts(Quiet):
    """GET: what the handler knows of its client and server."""

    def do_GET(self) -> None:
        facts = {
            "client": list(self.client_address),
            "server_name": self.server.server_name,
            "server_port": self.server.server_port,
        }
        self.reply(json.dumps(facts).encode(), content_type="application/json")


HANDLERS: dict[str, type[devserve.BaseHTTPRequestHandler]] = {
    "hello": Hello,
    "echo": Echo,
    "read-body": ReadBody,
    "stream": Stream,
    "chunked": Chunked,
    "errors": Errors,
    "ignore": Ignore,
    "large": Large,
    "facts": Facts,
}


def handler_factories(root: str) -> dict[str, Any]:
    """Every handler by name, with devserve's and the stdlib's file handlers on *root*."""
    return {
        **HANDLERS,
        "files": functools.partial(devserve.SimpleHTTPRequestHandler, directory=root),
        "stdlib-files": functools.partial(http.server.SimpleHTTPRequestHandler, directory=root),
    }


Environ = dict[str, Any]


def dispatcher(root: str) -> Callable[[Environ, Callable[..., Any]], Iterable[bytes]]:
    """One WSGI application for every handler: ``X-Handler`` names it."""
    apps = {name: devserve.HandlerApp(factory) for name, factory in handler_factories(root).items()}

    def dispatch(environ: Environ, start_response: Callable[..., Any]) -> Iterable[bytes]:
        return apps[environ.get("HTTP_X_HANDLER", "hello")](environ, start_response)

    return dispatch
