"""WSGI servers for tests, and reading their answers: split a response, undo chunking."""

from __future__ import annotations

from typing import Any

from devserve.wsgi.handler import WSGIHandler
from support.sockets import RunningServer


class QuietWSGIHandler(WSGIHandler):
    """Keeps access lines out of the output; errors still go to stderr."""

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        pass


def split(response: bytes) -> tuple[bytes, dict[str, str], bytes]:
    """Return the status line, the headers (lower-cased names) and the body."""
    head, _, body = response.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        assert name.lower() not in headers, "duplicate header %s" % name
        headers[name.lower()] = value.strip()
    return status.encode(), headers, body


def get(
    server: RunningServer, target: str = "/", *, extra: str = "", version: str = "1.1"
) -> bytes:
    request = "GET %s HTTP/%s\r\nHost: a\r\nConnection: close\r\n%s\r\n" % (target, version, extra)
    return server.exchange(request.encode("latin-1"))


def dechunk(body: bytes) -> bytes:
    out = b""
    while True:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            assert body == b"\r\n"
            return out
        out += body[:size]
        assert body[size : size + 2] == b"\r\n"
        body = body[size + 2 :]
