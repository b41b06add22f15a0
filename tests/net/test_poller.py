"""Both pollers keep the same contract: one report per arming, re-armed from any thread."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from devserve.net.poller import Poller, SelectorPoller, make_poller
from support.sockets import QuietHandler

POLLERS = [pytest.param(Poller, id="epoll"), pytest.param(SelectorPoller, id="selectors")]


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    left, right = socket.socketpair()
    yield left, right
    left.close()
    right.close()


@pytest.mark.parametrize("kind", POLLERS)
def test_a_connection_is_reported_once_per_arming(
    kind: type[Poller], pair: tuple[socket.socket, socket.socket]
) -> None:
    poller = kind()
    served, client = pair
    try:
        poller.add(served.fileno())
        assert poller.poll(0.05) == []
        client.sendall(b"GET")
        assert poller.poll(1.0) == [served.fileno()]
        # Still readable, but not armed: a worker owns it now.
        assert poller.poll(0.05) == []
        poller.rearm(served.fileno())
        assert poller.poll(1.0) == [served.fileno()]
    finally:
        poller.close()


@pytest.mark.parametrize("kind", POLLERS)
def test_rearming_from_another_thread_wakes_the_poll(
    kind: type[Poller], pair: tuple[socket.socket, socket.socket]
) -> None:
    poller = kind()
    served, client = pair
    try:
        poller.add(served.fileno())
        client.sendall(b"x")
        assert poller.poll(1.0) == [served.fileno()]
        ready: list[int] = []
        waiter = threading.Thread(target=lambda: ready.extend(poller.poll(5.0)))
        waiter.start()
        threading.Thread(target=poller.rearm, args=(served.fileno(),)).start()
        waiter.join(5.0)
        assert ready == [served.fileno()]
    finally:
        poller.close()


@pytest.mark.parametrize("kind", POLLERS)
def test_watched_sockets_are_reported_every_time_and_forget_stops_reports(
    kind: type[Poller], pair: tuple[socket.socket, socket.socket]
) -> None:
    poller = kind()
    served, client = pair
    try:
        poller.watch(served.fileno())
        client.sendall(b"x")
        assert poller.poll(1.0) == [served.fileno()]
        assert poller.poll(1.0) == [served.fileno()]  # level-triggered, never disarmed
        poller.forget(served.fileno())
        assert poller.poll(0.05) == []
        poller.forget(served.fileno())  # forgetting twice is harmless
    finally:
        poller.close()


def test_the_platform_gets_epoll_where_it_has_it() -> None:
    poller = make_poller()
    try:
        assert type(poller) is (
            Poller if hasattr(__import__("select"), "epoll") else SelectorPoller
        )
    finally:
        poller.close()


@pytest.mark.parametrize("kind", POLLERS)
def test_the_bounded_server_parks_and_resumes_connections_on_either_poller(
    kind: type[Poller], monkeypatch: pytest.MonkeyPatch, serve: Any
) -> None:
    import devserve.net.bounded

    monkeypatch.setattr(devserve.net.bounded, "make_poller", kind)
    server = serve(Hello, server_class=devserve.net.bounded.BoundedHTTPServer)
    connections = [server.connect() for _ in range(3)]
    try:
        for _round in range(3):  # each connection parks between its requests
            for sock in connections:
                sock.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
                assert sock.recv(65536).endswith(b"\r\n\r\nhi")
        pipelined = connections[0]
        pipelined.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n" * 2)
        answers = b""
        while answers.count(b"hi") < 2:
            answers += pipelined.recv(65536)
    finally:
        for sock in connections:
            sock.close()


class Hello(QuietHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"hi")
