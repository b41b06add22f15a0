"""The raw reader under a handler's ``rfile``, the writer that is its ``wfile``, and their waits.

Rule 1: a response head waits in :class:`SocketWriter` until the body's first write or
a flush, then both leave in one ``send``: two small sends per response are what cost
:mod:`http.server` a 40 ms Nagle/delayed-ACK stall per keep-alive request.  Callers
above keep the stdlib's write counts (``end_headers`` is one ``wfile.write``).
Rule 2: :class:`SocketReader` counts what it received, so the handler can tell how
much of a request body a ``do_*`` method read (``rfile.tell()``), and enforces an
optional deadline across reads (a slowloris client sending a byte a second never
resets it).
Rule 3: every wait on the client is the reader's: the idle wait before a request
(:meth:`SocketReader.wait_for_request`), the head deadline, and a socket timeout that
is restored only when a wait changed it.
Rule 4: a file that ends a response is the one write that may outlast its handler:
what the client does not take at once is handed over (:attr:`SocketWriter.hand_over`),
so a client that stops reading a download costs the server a file descriptor, not a
thread.  Nothing may be written after it: the writer refuses.
"""

from __future__ import annotations

import contextlib
import enum
import io
import os
import socket
import struct
import sys
import time
from collections.abc import Callable
from typing import BinaryIO

from .contract import Arrival

__all__ = [
    "DONTWAIT",
    "ClientTimeout",
    "SocketReader",
    "SocketWriter",
    "Waited",
    "is_tls",
    "not_ready",
    "reset_connection",
    "tune_connection",
]

# Below this a held head is copied in front of the body; above it, two sends are
# cheaper than the copy, and with TCP_NODELAY they cost no stall.
_COALESCE_LIMIT = 65536
_LINGER_RESET = struct.pack("ii", 1, 0)
# A TLS record (type 0x16, handshake) where a request line belongs.
_TLS_HANDSHAKE = b"\x16"
# The most one sendfile call is asked for (Linux sends at most 0x7ffff000 at once).
_SENDFILE_MAX = 0x7FFFF000


class ClientTimeout(TimeoutError):
    """The client made no progress within a deadline: a read or a write waited too long.

    Distinct from a :exc:`TimeoutError` an application raises on its own account
    (a database, an outbound call), which is the application's failure, not the
    client's.  :attr:`writing` tells a client too slow to read the response (who
    cannot be sent anything more) from one too slow to send its request.
    """

    def __init__(self, reason: str, *, writing: bool = False) -> None:
        super().__init__(reason)
        self.writing = writing


class Waited(enum.Enum):
    """How the wait for a request ended (:meth:`SocketReader.wait_for_request`)."""

    #: A request's first bytes are here; the head deadline runs.
    REQUEST = "request"
    #: The connection stayed idle past the idle timeout.
    IDLE = "idle"
    #: A TLS handshake arrived where a request line belongs.
    TLS = "tls"


class SocketReader(io.RawIOBase):
    """Unbuffered reads from a connected socket, with a byte count and a deadline.

    :attr:`deadline` is a :func:`time.monotonic` time or ``None``; while it is
    set, each receive waits at most until then and :class:`TimeoutError` is
    raised past it.
    """

    def __init__(self, sock: socket.socket) -> None:
        super().__init__()
        self._sock = sock
        self._received = 0
        self._ahead: memoryview | None = None
        self._spool: BinaryIO | None = None
        self._spooled = 0  # bytes of the spool not yet read
        self.deadline: float | None = None
        self._reason = ""
        self._overdue = False
        #: When the bytes given to :meth:`feed` started to arrive, or ``None``.
        self.arrived: float | None = None
        #: Whether a read under :attr:`deadline` changed the socket's timeout.
        self.retimed = False

    def readable(self) -> bool:
        return True

    def feed(self, arrival: Arrival) -> None:
        """Hand out the bytes of *arrival*, received earlier, before reading the socket again.

        The server's I/O thread reads a request head as it trickles in, without a
        worker; the handler then reads it from here.
        """
        if arrival.data:
            self._ahead = memoryview(arrival.data)
            self.arrived = arrival.arrived
            self._overdue = arrival.overdue
        spool = arrival.spool
        if spool is not None:
            self._spool = spool
            self._spooled = os.fstat(spool.fileno()).st_size

    def wait_for_request(
        self,
        rfile: io.BufferedReader | None,
        idle_timeout: float | None,
        head_timeout: float | None,
    ) -> Waited:
        """Wait up to *idle_timeout* for a request's first byte; then arm the head deadline.

        Bytes fed by the server count as arrived when they came, so the deadline
        runs from then.  *rfile* is the buffered reader above this one (it may
        hold a pipelined request already); without one, nothing is waited for.
        """
        arrived, self.arrived = self.arrived, None
        ahead = b""
        if rfile is not None:
            if arrived is not None:
                ahead = rfile.peek(1)
            elif idle_timeout is not None:
                self._sock.settimeout(idle_timeout)
                self.retimed = True
                try:
                    ahead = rfile.peek(1)
                except TimeoutError:
                    return Waited.IDLE
        if ahead[:1] == _TLS_HANDSHAKE:
            return Waited.TLS
        if head_timeout is not None:
            since = time.monotonic() if arrived is None else arrived
            self.start_deadline(since + head_timeout, "the request head took too long")
        return Waited.REQUEST

    def start_deadline(self, deadline: float, reason: str) -> None:
        """Make every read until :meth:`end_deadline` finish by *deadline* (monotonic).

        Past it, :exc:`ClientTimeout` is raised with *reason*.
        """
        self.deadline = deadline
        self._reason = reason

    def end_deadline(self, timeout: float | None) -> None:
        """Disarm the deadline; give the socket back its *timeout* if a wait changed it."""
        self.deadline = None
        if self.retimed:
            # Only a socket whose timeout a wait changed needs it back (two fcntl
            # calls a request otherwise).
            self.retimed = False
            self._sock.settimeout(timeout)

    def pending(self) -> int:
        """Return the number of bytes given to :meth:`feed` not yet read."""
        ahead = self._ahead
        return (0 if ahead is None else len(ahead)) + self._spooled

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        ahead = self._ahead
        if ahead is not None:
            size = min(len(buffer), len(ahead))
            buffer[:size] = ahead[:size]
            self._ahead = ahead[size:] if size < len(ahead) else None
            self._received += size
            return size
        if self._spool is not None:
            size = self._read_spool(buffer)
            if size:
                return size
        if self._overdue:
            # The server waited out the body's progress deadline already.
            raise ClientTimeout("the request body stopped arriving")
        deadline = self.deadline
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ClientTimeout(self._reason)
            self._sock.settimeout(remaining)
            self.retimed = True
        try:
            received = self._sock.recv_into(buffer)
        except TimeoutError as error:
            # The socket's own timeout (progress) or the deadline's remainder ran out.
            reason = self._reason if deadline is not None else "no bytes from the client in time"
            raise ClientTimeout(reason) from error
        self._received += received
        return received

    def _read_spool(self, buffer: memoryview | bytearray) -> int:
        spool = self._spool
        assert spool is not None
        size = spool.readinto(buffer)  # type: ignore[attr-defined]
        if not size or size >= self._spooled:
            self.close_spool()
        else:
            self._spooled -= size
        self._received += size
        return int(size)

    def close(self) -> None:
        self.close_spool()
        super().close()

    def close_spool(self) -> None:
        """Close (and so delete) the spool of the arrival, read or not."""
        spool, self._spool = self._spool, None
        self._spooled = 0
        if spool is not None:
            spool.close()

    def tell(self) -> int:
        """Return the number of bytes received so far."""
        return self._received

    def fileno(self) -> int:
        return self._sock.fileno()


class SocketWriter(io.BufferedIOBase):
    """Unbuffered writes to a connected socket that send a held head with the body.

    Like the stdlib's ``wfile``, every :meth:`write` is sent before it returns;
    the only data that waits is a head given to :meth:`hold`, which goes out with
    the next write, at :meth:`flush`, or before :meth:`sendfile`.  The exception is
    the file that ends a response (:meth:`sendfile` with ``last``): see
    :attr:`hand_over`.
    """

    def __init__(
        self, sock: socket.socket, hand_over: Callable[[BinaryIO, int, int], bool] | None = None
    ) -> None:
        super().__init__()
        self._sock = sock
        self._held = b""
        self.bytes_sent = 0
        #: Called as ``hand_over(file, offset, count)`` with what the client did not
        #: take at once of the file that ends a response; ``True`` when someone (the
        #: server) has taken it to send, ``False`` to send it here, waiting.
        self.hand_over = hand_over
        #: Whether the end of the current response was handed over; set back to
        #: ``False`` by the owner before the next response.
        self.handed_over = False

    def writable(self) -> bool:
        return True

    @property
    def holding(self) -> bool:
        """Whether a head is waiting to be sent."""
        return bool(self._held)

    def hold(self, head: bytes) -> None:
        """Keep *head* until the body's first bytes, so both leave in one send."""
        self._held += head

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        size = len(data) if type(data) is bytes else memoryview(data).nbytes
        if self.handed_over and size:
            raise RuntimeError("the response ended with a file the server is still sending")
        held = self._held
        if held:
            self._held = b""
            if size <= _COALESCE_LIMIT:
                self._send_all(held + data)
            else:
                self._send_all(held)
                self._send_all(data)
            self.bytes_sent += len(held)
        else:
            self._send_all(data)
        self.bytes_sent += size
        return size

    def _send_all(self, data: bytes | bytearray | memoryview) -> None:
        sock = self._sock
        if sock.gettimeout() is None:
            sock.sendall(data)  # no deadline to keep
            return
        # sendall's timeout bounds the whole call, so a slow but steady client would be
        # cut off; each send waiting at most the timeout bounds progress instead.
        view = memoryview(data)
        try:
            while view:
                view = view[sock.send(view) :]
        except TimeoutError as error:
            raise ClientTimeout("the client read nothing in time", writing=True) from error

    def flush(self) -> None:
        held = self._held
        if held:
            self._held = b""
            self._send_all(held)
            self.bytes_sent += len(held)

    def sendfile(
        self, file: BinaryIO, offset: int = 0, count: int | None = None, *, last: bool = False
    ) -> int:
        """Send *count* bytes of *file* from *offset* with :meth:`socket.socket.sendfile`.

        The kernel copies the data (zero-copy) where it can; the held head goes first.
        With *last* (nothing more of the response follows) and a :attr:`hand_over`,
        what the client does not take at once is handed over and the call returns
        *count* without waiting; nothing may be written after it.
        """
        self.flush()
        hand_over = self.hand_over
        if last and count and hand_over is not None and self._can_hand_over(file):
            sent, ended = self._send_file_now(file, offset, count)
            if not ended and hand_over(file, offset + sent, count - sent):
                self.handed_over = True
                self.bytes_sent += count
                return count
            if ended:
                self.bytes_sent += sent
                return sent
            offset, count = offset + sent, count - sent
            self.bytes_sent += sent
            return sent + self._send_file(file, offset, count)
        return self._send_file(file, offset, count)

    def _can_hand_over(self, file: BinaryIO) -> bool:
        # A socket with a timeout is non-blocking underneath, so sendfile can stop
        # when the client stops; TLS encrypts in user space, where sendfile cannot;
        # and a file in memory (a cached one) has no descriptor to hand over.
        sock = self._sock
        if sock.gettimeout() is None or is_tls(sock):
            return False
        try:
            file.fileno()
        except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation included
            return False
        return True

    def _send_file(self, file: BinaryIO, offset: int, count: int | None) -> int:
        sent = self._sock.sendfile(file, offset, count)
        self.bytes_sent += sent
        return sent

    def _send_file_now(self, file: BinaryIO, offset: int, count: int) -> tuple[int, bool]:
        """Send what the socket takes without waiting; return it, and whether the file ended.

        The socket has a timeout, so its descriptor is non-blocking underneath.
        """
        out, source = self._sock.fileno(), file.fileno()
        sent = 0
        while sent < count:
            try:
                chunk = os.sendfile(out, source, offset + sent, min(count - sent, _SENDFILE_MAX))
            except (BlockingIOError, InterruptedError):
                return sent, False
            if not chunk:
                return sent, True  # the file is shorter than it was
            sent += chunk
        return sent, True

    def fileno(self) -> int:
        return self._sock.fileno()


def is_tls(sock: object) -> bool:
    """Whether *sock* is a TLS socket (without importing :mod:`ssl` to find out)."""
    ssl = sys.modules.get("ssl")  # a TLS socket exists only if ssl was imported
    return ssl is not None and isinstance(sock, ssl.SSLSocket)


#: ``MSG_DONTWAIT``: a receive or send that does not wait, or 0 where it does not exist.
DONTWAIT: int = getattr(socket, "MSG_DONTWAIT", 0)


def not_ready(error: OSError) -> bool:
    """Whether *error*, from a non-blocking socket, only says it is not ready yet.

    Plain sockets raise :exc:`BlockingIOError`; TLS ones ``SSLWantReadError`` or
    ``SSLWantWriteError`` (known without importing :mod:`ssl`, as :func:`is_tls`).
    """
    if isinstance(error, (BlockingIOError, InterruptedError)):
        return True
    ssl = sys.modules.get("ssl")
    return ssl is not None and isinstance(error, (ssl.SSLWantReadError, ssl.SSLWantWriteError))


def reset_connection(sock: socket.socket) -> None:
    """Close *sock* with a reset, so the client sees an error rather than an end.

    A client reading a close-delimited or chunked body that a server cannot
    finish must not mistake a clean close for the end of the body.
    """
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
        sock.close()


def tune_connection(sock: socket.socket) -> None:
    """Turn Nagle's algorithm off on a TCP connection (a no-op for other sockets)."""
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):  # the peer may already be gone
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
