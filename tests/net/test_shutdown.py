"""Graceful shutdown of the bounded server: shutdown(), SIGINT and SIGTERM, over real sockets.

Requests in flight finish within ``graceful_timeout``; idle connections are closed at
once; an upload is completed or refused, never handed to the application cut short.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Any

import pytest

import devserve
from devserve.testing import ServerThread
from support.sockets import CLIENT_TIMEOUT, read_all

SEEN: list[Any] = []


def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    if environ["PATH_INFO"] == "/slow":
        time.sleep(0.5)
    try:
        body = environ["wsgi.input"].read()
    except Exception as error:  # what the application is told when the upload is cut
        SEEN.append(error)
        raise
    SEEN.append(body)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"got %d" % len(body)]


def start(grace: float) -> ServerThread:
    handler = type("Quiet", (devserve.WSGIHandler,), {"log_message": lambda *a: None})
    server_class = type("Server", (devserve.WSGIServer,), {"graceful_timeout": grace})
    server = devserve.make_server("127.0.0.1", 0, app, server_class, handler)
    return ServerThread(server).start()


def connect(running: ServerThread) -> socket.socket:
    return socket.create_connection((running.host, running.port), timeout=CLIENT_TIMEOUT)


def shutdown_in_background(running: ServerThread) -> threading.Thread:
    thread = threading.Thread(target=running.server.shutdown)
    thread.start()
    time.sleep(0.1)  # the server has stopped accepting and is draining
    return thread


def test_a_request_in_flight_finishes_and_idle_connections_close() -> None:
    running = start(grace=3.0)
    idle = connect(running)
    idle.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    assert idle.recv(4096).endswith(b"got 0")
    busy = connect(running)
    busy.sendall(b"GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
    time.sleep(0.1)
    started = time.monotonic()
    stopping = shutdown_in_background(running)
    assert read_all(idle) == b""  # closed at once, nothing in flight
    answer = read_all(busy)
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert answer.endswith(b"got 0")
    stopping.join(CLIENT_TIMEOUT)
    assert time.monotonic() - started < 1.5
    running.stop()
    with pytest.raises(ConnectionRefusedError):
        connect(running).sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    idle.close()
    busy.close()


def test_an_upload_finished_within_the_grace_period_is_served() -> None:
    SEEN.clear()
    running = start(grace=3.0)
    with connect(running) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nhello")
        time.sleep(0.1)
        stopping = shutdown_in_background(running)
        sock.sendall(b"world")
        answer = read_all(sock)
    stopping.join(CLIENT_TIMEOUT)
    running.stop()
    assert answer.endswith(b"got 10")
    assert SEEN == [b"helloworld"]


def test_an_upload_past_the_grace_period_is_refused_not_truncated() -> None:
    SEEN.clear()
    running = start(grace=0.3)
    with connect(running) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nhello")
        time.sleep(0.1)
        stopping = shutdown_in_background(running)
        stopping.join(CLIENT_TIMEOUT)
        answer = read_all(sock)
    running.stop()
    assert not answer.startswith(b"HTTP/1.1 200 ")
    assert len(SEEN) == 1
    assert isinstance(SEEN[0], Exception)


SCRIPT = """
import sys, time, devserve
def app(environ, start_response):
    time.sleep(0.5)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"finished"]
server = devserve.make_server("127.0.0.1", 0, app)
print(server.server_address[1], flush=True)
try:
    server.serve_forever()
except KeyboardInterrupt:
    print("interrupted", flush=True)
"""


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_lets_the_request_in_flight_finish(signum: int) -> None:
    code = SCRIPT
    if signum == signal.SIGTERM:
        # As the command line does: SIGTERM is a request to stop, like Ctrl+C.
        code = code.replace(
            "print(server.server_address",
            "import signal\n"
            "def stop(*args):\n"
            "    raise KeyboardInterrupt\n"
            "signal.signal(signal.SIGTERM, stop)\n"
            "print(server.server_address",
        )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        with socket.create_connection(("127.0.0.1", port), timeout=CLIENT_TIMEOUT) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            time.sleep(0.2)
            proc.send_signal(signum)
            answer = read_all(sock)
        assert answer.startswith(b"HTTP/1.1 200 ")
        assert answer.endswith(b"finished")
        out, _err = proc.communicate(timeout=CLIENT_TIMEOUT)
        assert "interrupted" in out
        assert proc.returncode == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_signal_stops_the_server_gracefully_without_an_exception() -> None:
    # SIGINT's KeyboardInterrupt is lost when it lands in a finaliser; the handler that
    # stop_on_signals installs only asks the server to stop, so it cannot be lost.
    from devserve.net.bounded import BoundedHTTPServer
    from devserve.net.signals import stop_on_signals

    server = BoundedHTTPServer(("127.0.0.1", 0), devserve.BaseHTTPRequestHandler)
    before = signal.getsignal(signal.SIGINT)
    threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT)).start()
    with stop_on_signals([server]) as received:
        server.serve_forever()  # returns: no KeyboardInterrupt raised
    server.server_close()
    assert received == [signal.SIGINT]
    assert signal.getsignal(signal.SIGINT) is before
