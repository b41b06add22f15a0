"""Requests that arrive parsed already: a handler served by another server's parser.

Rule 1: a connection that is a :class:`GivenRequests` hands its handler each request
as a request line and fields a server has parsed (a WSGI server, for
:class:`~devserve.HandlerApp`); the handler's ``rfile`` then holds the bodies alone.
Rule 2: what the handler decides from a head is decided as for a head it read: the
core's :func:`~devserve.http11.head.parse_request_line` reads the line and
:func:`~devserve.http11.head.head_from_fields` the fields, so framing, ``Host`` and
``Connection`` mean the same; only the reading of bytes is skipped.  The fields are
checked as lines read are (:func:`~devserve.http11.fields.check_given_fields`): a
server's parser may have let through what devserve's refuses, answered 400 alike.
"""

from __future__ import annotations

__all__ = ["GivenRequest", "GivenRequests"]

#: A request line (its line ending included) and its fields, as ``(name, value)``
#: bytes.
GivenRequest = tuple[bytes, list[tuple[bytes, bytes]]]


class GivenRequests:
    """A connection whose requests are parsed already: the base of such connections.

    .. versionadded:: 0.1
    """

    __slots__ = ()

    def take_request(self) -> GivenRequest | None:
        """Return the next request, or ``None`` when the connection carries no more."""
        raise NotImplementedError
