"""The pure-Python floor: a thread per connection doing recv and sendall, no HTTP parsing.

Not a server anyone should run: it answers every blank-line-terminated request on a
connection with the same canned hello response and closes when the request says
``Connection: close``.  It shows what Python's socket calls and thread switches alone
cost on this machine, measured in the same run as the servers.
"""

from __future__ import annotations

import argparse
import socket
import threading

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nHello, world!"
CLOSING = b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\nConnection: close\r\n\r\nHello, world!"


def serve(connection: socket.socket) -> None:
    with connection:
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        pending = b""
        while True:
            try:
                data = connection.recv(65536)
            except OSError:
                return
            if not data:
                return
            pending += data
            requests = pending.count(b"\r\n\r\n")
            if not requests:
                continue
            pending = pending[pending.rindex(b"\r\n\r\n") + 4 :]
            if b"connection: close" in data.lower():
                connection.sendall(RESPONSE * (requests - 1) + CLOSING)
                return
            connection.sendall(RESPONSE * requests)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    listener = socket.create_server(("127.0.0.1", args.port), backlog=1024)
    while True:
        connection, _ = listener.accept()
        threading.Thread(target=serve, args=(connection,), daemon=True).start()


if __name__ == "__main__":
    main()
