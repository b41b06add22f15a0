"""A raw-socket client of the live-reload event stream: its head, then events one by one."""

from __future__ import annotations

import json
import socket
from typing import Any

from devserve.dev.livereload import ENDPOINT
from support.sockets import CLIENT_TIMEOUT


class Stream:
    """A raw-socket event-stream client: the head, then events one by one."""

    def __init__(self, port: int, path: str = ENDPOINT, **headers: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=CLIENT_TIMEOUT)
        fields = {"Host": "127.0.0.1:%d" % port, "Accept": "text/event-stream", **headers}
        lines = "".join("%s: %s\r\n" % item for item in fields.items())
        self.buffer = b""
        try:
            self.sock.sendall(("GET %s HTTP/1.1\r\n%s\r\n" % (path, lines)).encode())
            head = self._until(b"\r\n\r\n")
        except BaseException:
            self.sock.close()  # a server that closed at once (a stopping one)
            raise
        self.status = int(head.split(b" ", 2)[1])
        self.head = head.decode("latin-1").lower()

    def _until(self, marker: bytes) -> bytes:
        while marker not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError(self.buffer)
            self.buffer += chunk
        found, _, self.buffer = self.buffer.partition(marker)
        return found

    def event(self) -> dict[str, Any]:
        """The next event (keep-alive comments skipped) as its fields, data decoded."""
        while True:
            block = self._until(b"\n\n").decode()
            fields = dict(line.split(": ", 1) for line in block.split("\n") if ": " in line)
            fields.pop("", None)
            if "event" in fields:
                fields["data"] = json.loads(fields["data"])
                return fields

    def close(self) -> None:
        self.sock.close()
