"""Two sockets relayed both ways until either closes (a WebSocket through a proxy), or
a response body relayed one way to its end (an event stream, a long download).

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
Rule 4: a one-way relay of a body (:class:`~devserve.net.contract.RelayedBody`) feeds what
the peer sends to the core's :class:`~devserve.http11.scanning.BodyScanner`, passes only
the bytes it says belong to the body (a chunked body's data alone, without its framing,
when the body is to reach the client unframed), and ends once the last of them is sent;
nothing after a body's end reaches the client.  A body closed by its peer ends there.  What the
client sends meanwhile is read and dropped: its connection ends with this response.
Rule 5: a one-way relay that ends before its body did (the peer reset or closed short of
its length or last chunk, the client stalled or left) is :attr:`Tunnel.cut`: its
server resets the client's connection instead of closing it, so a cut body is never
taken for a whole one (a close-delimited body would look complete).
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import time
from typing import TYPE_CHECKING, cast

from ..http11 import DEFAULT_LIMITS
from ..http11.scanning import BodyScanner, Progress
from .contract import RelayedBody
from .streams import is_tls, not_ready

if TYPE_CHECKING:
    import ssl

__all__ = ["Tunnel", "relay_in_thread"]

_PIECE = 65536
# A response body is not bounded by the request body's limit; its framing's lines are.
_BODY_LIMITS = DEFAULT_LIMITS.replace(max_body_size=None)


def _receive(sock: socket.socket) -> bytes | None:
    """What *sock* has without waiting; ``None`` if nothing yet, ``b""`` at its end.

    Raises :exc:`OSError` when the connection failed (a reset).
    """
    try:
        data = sock.recv(_PIECE)
        if data and is_tls(sock):  # decrypted already, which epoll cannot see
            tls = cast("ssl.SSLSocket", sock)
            while tls.pending():
                data += tls.recv(_PIECE)
        return data
    except OSError as error:
        if not_ready(error):
            return None
        raise


def _send(sock: socket.socket, data: bytes) -> int:
    """What *sock* took of *data* without waiting: 0 if nothing yet, -1 if it failed."""
    try:
        return sock.send(data)
    except OSError as error:
        return 0 if not_ready(error) else -1


class Tunnel:
    """Relay *client* and *peer* (both non-blocking) both ways, driven by readiness.

    *to_client* and *to_peer* are bytes already read from the other side, sent first.
    With a *body*, the relay is one way: the response body *peer* sends, passed to the
    client up to its end (*to_client* is its start); *to_peer* is then ignored.
    """

    def __init__(
        self,
        client: socket.socket,
        peer: socket.socket,
        to_client: bytes = b"",
        to_peer: bytes = b"",
        patience: float | None = None,
        body: RelayedBody | None = None,
    ) -> None:
        self.sockets = (client, peer)
        self.fds = (client.fileno(), peer.fileno())
        self.patience = patience
        #: When bytes last moved (:func:`time.monotonic`).
        self.progressed = time.monotonic()
        #: Whether the relay is one way, a response body from the peer.
        self.one_way = body is not None
        #: Whether the body's last byte has come from the peer (a one-way relay).
        self.ended = False
        self._scanner: BodyScanner | None = None
        #: Whether a chunked body reaches the client as its data alone.
        self._unframed = False
        if body is None:
            self.waiting = [to_client, to_peer]
            return
        self._unframed = body.chunked and body.unframed
        if body.chunked or body.length is not None:
            length = None if body.chunked else body.length
            self._scanner = BodyScanner(length, _BODY_LIMITS, decode=self._unframed)
        self.waiting = [b"", b""]
        self._take(to_client)

    def _take(self, data: bytes) -> None:
        """Queue for the client what of *data*, from the peer, belongs to the body."""
        scanner = self._scanner
        if scanner is not None:
            used = scanner.feed(data)
            data = scanner.take_data() if self._unframed else data[:used]
            # A malformed chunked framing ends the relay too: the client, short of the
            # last chunk, sees a cut body, never a whole one.
            self.ended = scanner.progress is Progress.READY
        self.waiting[0] += data

    def arms(self) -> list[tuple[int, bool]]:
        """How to arm each socket now: ``(fd, writable)`` pairs, unarmed ones left out."""
        if self.ended and not self.waiting[0]:
            return [(self.fds[0], True)]  # the body is sent: the next readiness ends it
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
            try:
                data = _receive(sock)
            except OSError:
                return None  # a reset: the relay ends, a body cut
            if data == b"":
                if side == 1 and self.one_way and self._scanner is None:
                    self.ended = True  # a body delimited by its connection's close: whole
                # Either side's end ends the relay: a client's half-close cannot be told
                # from its leaving, which must free the peer at once (nginx does alike).
                return None
            if data and self.one_way:
                if side == 1:  # the body; what the client sends is dropped
                    self._take(data)
                    self.progressed = time.monotonic()
                    if not self._flush(0):
                        return None
            elif data:
                self.waiting[other] += data
                self.progressed = time.monotonic()
                if not self._flush(other):
                    return None
        if self.ended and not self.waiting[0]:
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

    @property
    def cut(self) -> bool:
        """Whether a one-way relay has ended, or would end now, short of its body's end.

        Its server then resets the client's connection (Rule 5).
        """
        scanner = self._scanner
        if scanner is not None and scanner.failed:
            return True  # a malformed framing ended it: the body is not whole
        return self.one_way and not (self.ended and not self.waiting[0])

    def stalled(self, now: float) -> bool:
        """Whether bytes have waited past :attr:`patience` for a socket that takes none."""
        patience = self.patience
        return patience is not None and any(self.waiting) and now - self.progressed > patience

    def close(self) -> None:
        """Close the peer's socket (the client's is its server's to close)."""
        with contextlib.suppress(OSError):
            self.sockets[1].close()


def relay_in_thread(tunnel: Tunnel) -> None:
    """Relay *tunnel* in this thread until either side closes or it stalls.

    The caller resets the client's connection if the relay was :attr:`~Tunnel.cut`.
    """
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
