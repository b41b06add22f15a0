"""HTTPServer, ThreadingHTTPServer and HTTPSServer over real sockets."""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import devserve
from support.sockets import CLIENT_TIMEOUT, QuietHandler


class ThreadName(QuietHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = threading.current_thread().name.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def get(url_host: str, port: int, path: str = "/") -> tuple[int, bytes]:
    connection = http.client.HTTPConnection(url_host, port, timeout=CLIENT_TIMEOUT)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_server_name_and_port_without_dns(serve: Any) -> None:
    server = serve(ThreadName).server
    assert server.server_name == "127.0.0.1"
    assert server.server_port == server.server_address[1]


def test_wildcard_bind_names_the_host_without_dns() -> None:
    with devserve.HTTPServer(("0.0.0.0", 0), ThreadName) as server:
        assert server.server_name == socket.gethostname()


def test_listen_backlog_takes_a_burst() -> None:
    assert devserve.HTTPServer.request_queue_size >= 1024


def test_threads_are_reused_across_connections(serve: Any) -> None:
    server = serve(ThreadName)
    _, first = get(server.host, server.port)
    time.sleep(0.1)  # let the worker return to the pool
    _, second = get(server.host, server.port)
    assert first == second


def test_each_connection_has_its_own_thread(serve: Any) -> None:
    server = serve(ThreadName)
    idle = server.connect()  # a persistent connection that stays open and idle
    idle.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    busy_name = idle.recv(65536).rsplit(b"\r\n\r\n", 1)[1]
    status, other_name = get(server.host, server.port)
    idle.close()
    assert status == 200
    assert other_name != busy_name


def test_threading_server_has_documented_mixin_attributes() -> None:
    assert devserve.ThreadingHTTPServer.daemon_threads is True
    assert devserve.ThreadingHTTPServer.block_on_close is True


def test_server_close_waits_for_non_daemon_connections() -> None:
    finished = threading.Event()

    class Slow(QuietHandler):
        def do_GET(self) -> None:
            time.sleep(0.3)
            self.send_error(404)
            finished.set()

    class Blocking(devserve.ThreadingHTTPServer):
        daemon_threads = False

    server = Blocking(("127.0.0.1", 0), Slow)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    client = socket.create_connection(server.server_address, timeout=CLIENT_TIMEOUT)
    client.sendall(b"GET / HTTP/1.0\r\n\r\n")
    time.sleep(0.1)
    server.shutdown()
    server.server_close()
    assert finished.is_set()
    client.close()
    thread.join(CLIENT_TIMEOUT)


def test_handle_request_loop_serves_one_request_each() -> None:
    with devserve.HTTPServer(("127.0.0.1", 0), ThreadName) as server:
        server.timeout = CLIENT_TIMEOUT
        answers: list[int] = []

        def client() -> None:
            for _ in range(2):
                answers.append(get("127.0.0.1", server.server_port)[0])

        thread = threading.Thread(target=client)
        thread.start()
        server.handle_request()
        server.handle_request()
        thread.join(CLIENT_TIMEOUT)
    assert answers == [200, 200]


def test_context_manager_closes_the_socket() -> None:
    with devserve.HTTPServer(("127.0.0.1", 0), ThreadName) as server:
        sock = server.socket
    assert sock.fileno() == -1


def https_get(port: int, cert: Path) -> bytes:
    context = ssl.create_default_context(cafile=str(cert))
    with (
        socket.create_connection(("127.0.0.1", port), timeout=CLIENT_TIMEOUT) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        tls.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        chunks = []
        while chunk := tls.recv(65536):
            chunks.append(chunk)
        assert tls.selected_alpn_protocol() in (None, "http/1.1")
        return b"".join(chunks)


def test_https_server_serves_tls(serve: Any, certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    server = serve(ThreadName, devserve.ThreadingHTTPSServer, certfile=str(cert), keyfile=str(key))
    assert https_get(server.port, cert).startswith(b"HTTP/1.1 200 OK")


def test_silent_tls_client_does_not_stall_the_accept_loop(
    serve: Any, certificate: tuple[Path, Path]
) -> None:
    # The stdlib shakes hands in the accept loop: one silent client blocks everyone.
    cert, key = certificate
    server = serve(ThreadName, devserve.ThreadingHTTPSServer, certfile=str(cert), keyfile=str(key))
    silent = socket.create_connection(("127.0.0.1", server.port), timeout=CLIENT_TIMEOUT)
    try:
        started = time.monotonic()
        assert https_get(server.port, cert).startswith(b"HTTP/1.1 200 OK")
        assert time.monotonic() - started < 2
    finally:
        silent.close()


def test_https_server_needs_ssl(monkeypatch: pytest.MonkeyPatch, certificate: Any) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "ssl", None)
    with pytest.raises(RuntimeError, match="SSL module is missing"):
        devserve.HTTPSServer(("127.0.0.1", 0), ThreadName, certfile=str(certificate[0]))


def test_test_helper_serves_prints_the_stdlib_banner_and_exits_0_on_ctrl_c() -> None:
    import re
    import signal
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-u", "-c", "import devserve; devserve.test(port=0, bind='127.0.0.1')"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A shell's background job ignores SIGINT and its children inherit that.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        match = re.fullmatch(
            r"Serving HTTP on 127\.0\.0\.1 port (\d+) \(http://127\.0\.0\.1:\1/\) \.\.\.\n", banner
        )
        assert match, banner
        status, _ = get("127.0.0.1", int(match[1]))
        assert status == 501  # BaseHTTPRequestHandler has no do_GET, as documented
        proc.send_signal(signal.SIGINT)
        out, _err = proc.communicate(timeout=CLIENT_TIMEOUT)
        assert "Keyboard interrupt received, exiting." in out
        assert proc.returncode == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
