"""Two sockets relayed both ways until either closes: a WebSocket through a proxy.

Rule 1: a :class:`Tunnel` never blocks: the server's I/O thread calls
:meth:`Tunnel.ready` when a socket it armed is ready, and the tunnel says how each
socket is to be armed next.  A socket is armed for writing while bytes wait for it,
else for reading, unless the bytes it would read have nowhere to go yet: then it is
left unarmed, so a reader that does not keep up slows its writer (no backlog grows).
Rule 2: bytes waiting for a socket that takes none for ``patience`` seconds end the
tunnel (:meth:`Tunnel.stalled`); a tunnel with nothing waiting lives as long as both
sides keep it open, as a WebSocket may stay quiet for minutes.
Rule 3: :func:`relay_in_thread` does the same in the calling thread, for servers that
cannot relay in an I/O thread.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import time

__all__ = ["Tunnel", "relay_in_thread"]

_PIECE = 65536


def _receive(sock: socket.socket) -> bytes | None:
    """What *sock* has without waiting; ``None`` if nothing yet, ``b""`` at its end."""
    try:
        data = sock.recv(_PIECE)
        pending = getattr(sock, "pending", None)  # TLS: decrypted already, unseen by epoll
        while data and pending is not None and pending():
            data += sock.recv(_PIECE)
        return data
    except (BlockingIOError, InterruptedError):
        return None
    except OSError as error:
        if type(error).__name__ in ("SSLWantReadError", "SSLWantWriteError"):
            return None
        return b""


def _send(sock: socket.socket, data: bytes) -> int:
    try:
        return sock.send(data)
    except (BlockingIOError, InterruptedError):
        return 0
    except OSError as error:
        if type(error).__name__ in ("SSLWantReadError", "SSLWantWriteError"):
            return 0
        return -1


class Tunnel:
    """Relay *client* and *peer* (both non-blocking) both ways, driven by readiness.

    *to_client* and *to_peer* are bytes already read from the other side, sent first.
    """

    def __init__(
        self,
        client: socket.socket,
        peer: socket.socket,
        to_client: bytes = b"",
        to_peer: bytes = b"",
        patience: float | None = None,
    ) -> None:
        self.sockets = (client, peer)
        self.fds = (client.fileno(), peer.fileno())
        self.waiting = [to_client, to_peer]
        self.patience = patience
        #: When bytes last moved (:func:`time.monotonic`).
        self.progressed = time.monotonic()
        self.closed = False

    def arms(self) -> list[tuple[int, bool]]:
        """How to arm each socket now: ``(fd, writable)`` pairs, unarmed ones left out."""
        arms = []
        for side in (0, 1):
            if self.waiting[side]:
                arms.append((self.fds[side], True))
            elif not self.waiting[1 - side]:
                arms.append((self.fds[side], False))
        return arms

    def ready(self, fd: int) -> list[tuple[int, bool]] | None:
        """Act on the socket *fd* being ready; return the arms to set, ``None`` to end."""
        side = self.fds.index(fd)
        sock, other = self.sockets[side], 1 - side
        if self.waiting[side]:
            if not self._flush(side):
                return None
        else:
            data = _receive(sock)
            if data == b"":
                return None
            if data:
                self.waiting[other] += data
                self.progressed = time.monotonic()
                if not self._flush(other):
                    return None
        return self.arms()

    def _flush(self, side: int) -> bool:
        data = self.waiting[side]
        sent = _send(self.sockets[side], data)
        if sent < 0:
            return False
        if sent:
            self.waiting[side] = data[sent:]
            self.progressed = time.monotonic()
        return True

    def stalled(self, now: float) -> bool:
        """Whether bytes have waited past :attr:`patience` for a socket that takes none."""
        patience = self.patience
        return patience is not None and any(self.waiting) and now - self.progressed > patience

    def close(self) -> None:
        """Close the peer's socket (the client's is its server's to close)."""
        self.closed = True
        with contextlib.suppress(OSError):
            self.sockets[1].close()


def relay_in_thread(tunnel: Tunnel) -> None:
    """Relay *tunnel* in this thread until either side closes or it stalls."""
    with selectors.DefaultSelector() as selector:
        try:
            while True:
                arms = tunnel.arms()
                for fd in tunnel.fds:
                    with contextlib.suppress(KeyError):
                        selector.unregister(fd)
                for fd, writable in arms:
                    selector.register(
                        fd, selectors.EVENT_WRITE if writable else selectors.EVENT_READ
                    )
                events = selector.select(1.0)
                if not events and tunnel.stalled(time.monotonic()):
                    return
                for key, _mask in events:
                    if tunnel.ready(key.fd) is None:
                        return
        finally:
            tunnel.close()
