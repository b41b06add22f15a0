"""The contract between a server that parks idle connections and the handlers it serves.

Rule 1: both sides name these protocols; neither reaches into the other's attributes.
A server that parks connections is a :class:`ConnectionHost`; a handler that can be
parked is a :class:`ParkableHandler`.  A handler that is not one (the stdlib's, or one
that overrides ``handle``) simply keeps its worker until its connection closes.
Rule 2: a protocol is checked once per class (:func:`conforms`): a runtime protocol
check costs about 10 µs, as much as a small request.
Rule 3: a connection has one owner at a time.  The host owns a parked connection; it
hands it to one worker, which calls :meth:`ParkableHandler.resume`; when that returns
with :attr:`ParkableHandler.parked` true, the host owns it again.
"""

from __future__ import annotations

import socket
from typing import Any, BinaryIO, NamedTuple, Protocol, runtime_checkable

from ..http11.limits import Limits

__all__ = [
    "AnswerHost", "Arrival", "ConnectionHost", "HeldStream", "ParkableHandler", "ParsingPolicy",
    "QuickAnswer", "RelayHost", "RelayedBody", "StreamHost", "TailHost", "conforms",
]  # fmt: skip


class Arrival(NamedTuple):
    """Bytes of a request the host read before a handler took the connection.

    ``arrived`` is when the first of them came (:func:`time.monotonic`), so a head
    deadline runs from then; ``None`` when nothing was read ahead.  ``overdue`` says
    the request's body stopped arriving before it was whole, for longer than the
    handler's ``timeout``: reading past *data* then fails at once (408), without
    waiting again.  ``spool`` holds what arrived after *data*, when that was more
    than the host keeps in memory (a large request body): a temporary file, at its
    start, read after *data* and then closed.
    """

    data: bytes = b""
    arrived: float | None = None
    overdue: bool = False
    spool: BinaryIO | None = None


@runtime_checkable
class ParkableHandler(Protocol):
    """A handler that can give its idle connection back to a :class:`ConnectionHost`."""

    #: The connection's socket.
    connection: socket.socket

    @property
    def parked(self) -> bool:
        """Whether the handler returned with its connection idle and open."""

    def resume(self, arrival: Arrival) -> None:
        """Serve the request(s) that arrived on the parked connection, in this thread."""

    def release(self) -> None:
        """Close a parked connection's streams without serving it again."""


@runtime_checkable
class ConnectionHost(Protocol):
    """A server that parks idle connections between requests."""

    @property
    def parks_connections(self) -> bool:
        """Whether handlers may park connections now (not while stopping)."""

    def adopt(self, handler: ParkableHandler) -> Arrival:
        """Record *handler* as its connection's handler; return what was read ahead."""


class HeldStream(Protocol):
    """A response a :class:`StreamHost` keeps open after its handler returned.

    Its head (and anything else the handler wrote) is sent; what follows is written
    with :meth:`send`, from any thread, never blocking.  The host closes it when the
    client leaves or the server stops.
    """

    @property
    def closed(self) -> bool:
        """Whether the stream has ended (the client left, or :meth:`close`)."""

    def send(self, data: bytes) -> bool:
        """Send *data* whole without blocking; if it cannot, end the stream and return ``False``."""

    def close(self) -> None:
        """End the stream; the host closes the connection."""


@runtime_checkable
class StreamHost(Protocol):
    """A server that can keep a long response (an event stream) without a thread."""

    def hold(self, handler: ParkableHandler) -> HeldStream | None:
        """Keep *handler*'s connection once the handler returns; ``None`` if it cannot.

        The handler must not use the connection after a stream is returned.
        """


@runtime_checkable
class TailHost(Protocol):
    """A server that can finish sending a response's last bytes, a file's, without a thread."""

    def send_tail(self, handler: ParkableHandler, file: BinaryIO, offset: int, count: int) -> bool:
        """Send *count* bytes of *file* from *offset* on *handler*'s connection, later.

        The host keeps its own handle on the file and starts once the handler has
        returned, writing as the client reads, under the handler's ``timeout`` for
        progress; then it parks the connection if the handler parked, and closes it
        otherwise.  ``False`` if it cannot (the server is stopping, or does not hold
        the connection); the caller then sends the bytes itself.
        """


class RelayedBody(NamedTuple):
    """How a response body relayed one way, from a peer to the client, ends.

    ``length`` bytes (``Content-Length``); else the chunked framing's last chunk and
    trailers when ``chunked``; else the peer's closing.  The relay finds the end with
    the core's :class:`~devserve.http11.scanning.BodyScanner` and passes nothing
    beyond it.  A chunked body is passed as it is, or, when ``unframed``, its data
    alone, for a client that cannot read chunks (HTTP/1.0), whose body then ends with
    its connection.
    """

    length: int | None = None
    chunked: bool = False
    unframed: bool = False


@runtime_checkable
class RelayHost(Protocol):
    """A server that can relay a connection and another socket, without a thread.

    For a tunnel (a WebSocket through a proxy): once the handler returns, the host
    moves bytes between *handler*'s connection and *peer* as either becomes
    readable, until either closes, then closes both.  Given a *body*, the relay is
    one way, a response body from *peer* to the client (an event stream, a long
    download through a proxy), and also ends, closing both, at the body's end; what
    the client sends meanwhile is dropped.  Bytes that wait for a socket that takes
    none for the handler's ``timeout`` end the relay.
    """

    def relay(self, handler: ParkableHandler, peer: socket.socket, to_client: bytes,
              to_peer: bytes, body: RelayedBody | None = None) -> bool:  # fmt: skip
        """Relay *handler*'s connection and *peer*, sending *to_client* and *to_peer* first.

        ``False`` if it cannot (the server is stopping, or does not hold the
        connection); the caller then relays them itself.
        """


class QuickAnswer(Protocol):
    """A response a handler has sent that it would send again, byte for byte but ``Date``,
    to a byte-identical request head, for as long as :meth:`render` says it holds.

    The files handler offers one for a small cached file: the host then answers the
    same head on its I/O thread, without a worker.
    """

    #: Whether the connection closes after the response.
    closes: bool

    def render(self) -> bytes | None:
        """The whole response as of now, or ``None`` when it no longer holds (the file
        changed): the host forgets it and a handler answers."""

    def served(self, client_address: Any, sent: int, seconds: float) -> None:
        """Record the response sent to *client_address* (the access log)."""


@runtime_checkable
class AnswerHost(Protocol):
    """A server that can answer a repeated request itself (see :class:`QuickAnswer`)."""

    def remember(self, handler: ParkableHandler, answer: QuickAnswer) -> None:
        """Answer the request head *handler* was just given with *answer* from now on.

        Only the first request served since the host gave the handler its
        connection (or resumed it) can be remembered; the host keys the answer by
        that request's head as it read it, and forgets it when it no longer holds.
        """


@runtime_checkable
class ParsingPolicy(Protocol):
    """What a server that reads request heads itself needs to know of its handler class.

    The I/O thread scans heads with the handler's own strictness and limits, keeps
    its idle and head deadlines, and gathers request bodies under its ``timeout``
    (body progress); a handler class without these attributes (a
    :func:`functools.partial`, a stdlib handler) gets the stdlib's: lenient,
    default limits, no deadlines, bodies read by the handler.
    """

    strict_parsing: bool
    limits: Limits
    idle_timeout: float | None
    head_timeout: float | None
    timeout: float | None


_CONFORMING: dict[tuple[type, Any], bool] = {}


def conforms(obj: object, protocol: Any) -> bool:
    """Whether *obj* is an instance of the runtime-checkable *protocol*.

    The answer is kept per class of *obj*: the attributes a protocol names are
    the class's (methods, properties, class attributes), so every instance of
    a class answers alike.
    """
    key = (type(obj), protocol)
    known = _CONFORMING.get(key)
    if known is None:
        known = _CONFORMING[key] = isinstance(obj, protocol)
    return known
