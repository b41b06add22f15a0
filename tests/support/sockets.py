"""Servers on 127.0.0.1 in a thread, raw-socket clients, and a certificate for TLS.

Every client socket has a timeout, so a hang fails a test instead of stalling CI.
"""

from __future__ import annotations

import datetime
import socket
import threading
import time
from pathlib import Path
from typing import Any

import devserve

CLIENT_TIMEOUT = 5.0


class RunningServer:
    """A server serving in a background thread; ``url`` and ``address`` say where."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.host, self.port = server.server_address[:2]
        self.address = (self.host, self.port)
        self.url = "http://%s:%d" % (self.host, self.port)
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(CLIENT_TIMEOUT)

    def connect(self) -> socket.socket:
        sock = socket.create_connection(self.address, timeout=CLIENT_TIMEOUT)
        return sock

    def exchange(self, data: bytes, *, until_close: bool = True) -> bytes:
        """Send raw *data* on a new connection and return everything answered."""
        with self.connect() as sock:
            sock.sendall(data)
            return read_all(sock) if until_close else sock.recv(1 << 20)


def connect(running: Any) -> socket.socket:
    """A client connection to *running* (anything with ``host`` and ``port``)."""
    return socket.create_connection((running.host, running.port), timeout=CLIENT_TIMEOUT)


def timed_get(running: Any, request: bytes = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n") -> float:
    """Seconds a new connection takes to get an answer ending in ``hello``."""
    started = time.monotonic()
    with connect(running) as sock:
        sock.sendall(request)
        assert sock.recv(4096).endswith(b"hello")
    return time.monotonic() - started


def unix_exchange(path: str | Path, request: bytes) -> bytes:
    """Send *request* on a new connection to the Unix socket *path*; return all answered."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(CLIENT_TIMEOUT)
        sock.connect(str(path))
        sock.sendall(request)
        return read_all(sock)


def unix_get(path: str | Path, target: str = "/") -> bytes:
    """``GET`` *target* over the Unix socket *path* as curl sends it; return the response."""
    request = "GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n" % target
    return unix_exchange(path, request.encode("ascii"))


def read_response(sock: socket.socket, *, head_only: bool = False) -> tuple[bytes, bytes]:
    """Read one response framed by ``Content-Length``; return its head and body.

    *head_only* (an answer to ``HEAD``) and a ``304`` have no body, whatever the head says.
    """
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "closed before the head ended"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0 if head_only or b" 304 " in head.split(b"\r\n")[0] else content_length(head)
    while len(body) < length:
        chunk = sock.recv(1 << 20)
        assert chunk, "closed before the body ended"
        body += chunk
    return head, body


def content_length(head: bytes) -> int:
    """The ``Content-Length`` of a response *head*."""
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            return int(value)
    raise AssertionError("no Content-Length in %r" % head)


def read_all(sock: socket.socket) -> bytes:
    """Read until the peer closes (or the client timeout passes)."""
    chunks = []
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    except (TimeoutError, ConnectionResetError):
        pass
    return b"".join(chunks)


def receive_until(sock: socket.socket, marker: bytes, data: bytes = b"") -> bytes:
    """Read until *marker* has arrived (after *data*, already read); fail at the end."""
    while marker not in data:
        piece = sock.recv(65536)
        assert piece, data
        data += piece
    return data


def receive_to_end(sock: socket.socket) -> tuple[bytes, bool]:
    """Read until the connection ends; return the bytes and whether the end was a reset."""
    data = b""
    while True:
        try:
            piece = sock.recv(65536)
        except ConnectionResetError:
            return data, True
        if not piece:
            return data, False
        data += piece


class QuietHandler(devserve.BaseHTTPRequestHandler):
    """A base handler that keeps its access log out of the test output."""

    def log_message(self, format: str, *args: Any) -> None:
        pass


def counting_sends(handler_class: Any) -> tuple[Any, list[bytes]]:
    """Return a subclass of *handler_class* whose socket writes are recorded, and the record.

    Each element of the list is one ``sendall`` call: how the one-send-per-response
    rule is checked over a real socket.
    """
    from devserve.net.streams import SocketWriter

    sends: list[bytes] = []

    class CountingSocket:
        def __init__(self, sock: socket.socket) -> None:
            self._sock = sock

        def sendall(self, data: bytes) -> None:
            sends.append(bytes(data))
            self._sock.sendall(data)

        def send(self, data: bytes) -> int:
            sent = self._sock.send(data)
            sends.append(bytes(data[:sent]))
            return sent

        def gettimeout(self) -> float | None:
            return self._sock.gettimeout()

    class Counted(handler_class):  # type: ignore[misc, valid-type]
        def setup(self) -> None:
            super().setup()
            assert type(self.wfile) is SocketWriter
            self.wfile._sock = CountingSocket(self.connection)

    return Counted, sends


CERTIFICATE_PASSWORD = "somepass"


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """Write a self-signed certificate for localhost and its key (PEM files) into *folder*.

    The key is also written encrypted with :data:`CERTIFICATE_PASSWORD`, as
    ``key.encrypted.pem``.  Returns the certificate's and the plain key's paths.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    encrypted = folder / "key.encrypted.pem"
    encrypted.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(CERTIFICATE_PASSWORD.encode()),
        )
    )
    return cert_path, key_path
