"""Drive a headless Chromium over the DevTools protocol with the stdlib alone.

A minimal WebSocket client (RFC 6455: client frames masked, text messages, ping,
close, fragments) and a page session with ``call``, ``evaluate``, ``wait_for`` and
``screenshot``.  Every socket has a timeout, so a stuck browser fails a test.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1",
]  # fmt: skip


class WebSocket:
    """A client WebSocket connection sending and receiving text messages."""

    def __init__(self, url: str, timeout: float) -> None:
        parts = urllib.parse.urlsplit(url)
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=timeout)
        key = base64.b64encode(os.urandom(16))
        self.sock.sendall(
            b"GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"
            % (parts.path.encode(), parts.netloc.encode(), key)
        )
        self.buffer = b""
        head = self._read_until(b"\r\n\r\n").decode("latin-1")
        assert head.startswith("HTTP/1.1 101"), head
        accept = base64.b64encode(hashlib.sha1(key + _GUID).digest()).decode()
        assert re.search(r"(?i)sec-websocket-accept:\s*" + re.escape(accept), head), head

    def _read_until(self, marker: bytes) -> bytes:
        while marker not in self.buffer:
            self._fill()
        head, _, self.buffer = self.buffer.partition(marker)
        return head

    def _fill(self) -> None:
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise EOFError("the browser closed the DevTools connection")
        self.buffer += chunk

    def _read(self, count: int) -> bytes:
        while len(self.buffer) < count:
            self._fill()
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def _send_frame(self, opcode: int, payload: bytes) -> None:
        length = len(payload)
        if length < 126:
            header = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
        elif length < 1 << 16:
            header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, length)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def send(self, text: str) -> None:
        self._send_frame(0x1, text.encode())

    def recv(self) -> str:
        message = b""
        while True:
            first, second = self._read(2)
            opcode, length = first & 0x0F, second & 0x7F
            if length == 126:
                (length,) = struct.unpack("!H", self._read(2))
            elif length == 127:
                (length,) = struct.unpack("!Q", self._read(8))
            mask = self._read(4) if second & 0x80 else b""
            payload = self._read(length)
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            if opcode == 0x8:
                raise EOFError("the browser closed the DevTools connection")
            if opcode == 0x9:
                self._send_frame(0xA, payload)
                continue
            if opcode in (0x0, 0x1, 0x2):
                message += payload
                if first & 0x80:
                    return message.decode()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._send_frame(0x8, b"")
        self.sock.close()


class Page:
    """A DevTools session on one page target."""

    def __init__(self, websocket_url: str, timeout: float) -> None:
        self.ws = WebSocket(websocket_url, timeout)
        self.timeout = timeout
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        call_id = self.next_id
        self.ws.send(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == call_id:
                if "error" in message:
                    raise RuntimeError("%s: %s" % (method, message["error"]))
                result: dict[str, Any] = message["result"]
                return result
            if "method" in message:
                self.events.append(message)

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 10.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            try:
                value = self.evaluate(expression)
            except RuntimeError:
                value = None  # the page was navigating: its context is gone
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError("timed out waiting for %s" % expression)
            time.sleep(0.05)

    def navigate(self, url: str) -> None:
        self.call("Page.navigate", url=url)

    def screenshot(self, path: Path) -> None:
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))

    def close(self) -> None:
        self.ws.close()


class Chromium:
    """A headless Chromium process with its DevTools endpoint; stopped by its pid."""

    def __init__(self, binary: str, profile: Path, timeout: float = 15.0) -> None:
        # A log file, not a pipe: a pipe nobody reads fills up and stalls the browser.
        self.log = profile.with_name(profile.name + ".log")
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [binary, *CHROMIUM_FLAGS, "--user-data-dir=%s" % profile, "about:blank"],
                stdout=subprocess.DEVNULL, stderr=log,
            )  # fmt: skip
        self.timeout = timeout
        self.port = self._devtools_port()

    def _devtools_port(self) -> int:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            found = re.search(
                rb"DevTools listening on ws://127\.0\.0\.1:(\d+)/", self.log.read_bytes()
            )
            if found:
                return int(found[1])
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(
            "Chromium did not start: %s" % self.log.read_text(errors="replace")[-2000:]
        )

    def page(self) -> Page:
        url = "http://127.0.0.1:%d/json/list" % self.port
        deadline = time.monotonic() + self.timeout
        while True:
            with urllib.request.urlopen(url, timeout=self.timeout) as response:
                targets = json.load(response)
            pages = [t for t in targets if t.get("type") == "page"]
            if pages:
                return Page(pages[0]["webSocketDebuggerUrl"], self.timeout)
            assert time.monotonic() < deadline, "no page target"
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


INSTALL_TIMEOUT = 900


def install_chromium() -> str | None:
    """Return the Chromium binary, installing Debian's package if need be."""
    found = shutil.which("chromium")
    if found or not shutil.which("apt-get") or os.geteuid() != 0:
        return found
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]
    for command in (install, ["apt-get", "update"], install):
        subprocess.run(command, env=env, capture_output=True, timeout=INSTALL_TIMEOUT, check=False)
        found = shutil.which("chromium")
        if found:
            return found
    return None
