"""devserve's own defaults for a handler: what its entry points turn on, in one place.

Rule 1: the drop-in classes keep :mod:`http.server`'s documented behaviour; devserve's
entry points (the command line, :func:`~devserve.make_server`, :class:`~devserve.WSGIHandler`)
turn on what is better, and they all take it from :data:`DEVSERVE` here, so no two
places can disagree about a timeout or a limit.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ..http11.limits import DEFAULT_LIMITS, Limits
from ..version import __version__

__all__ = ["DEVSERVE", "HandlerDefaults"]


class HandlerDefaults(NamedTuple):
    """Values of :class:`~devserve.BaseHTTPRequestHandler` attributes, as a set.

    .. versionadded:: 0.1
    """

    protocol_version: str
    strict_parsing: bool
    idle_timeout: float | None
    head_timeout: float | None
    drain_timeout: float | None
    #: Seconds any one read of a body or write of a response may block.
    timeout: float | None
    limits: Limits
    announce_close: bool
    server_version: str

    def attributes(self) -> dict[str, Any]:
        """Return the values as class attributes for a handler subclass."""
        return dict(self._asdict())


#: What devserve's own entry points serve with: HTTP/1.1, strict parsing, an idle, a
#: head and a drain deadline, a per-read timeout, request bodies up to 1 GiB, and ``Connection``
#: said whenever it matters.
DEVSERVE = HandlerDefaults(
    protocol_version="HTTP/1.1",
    strict_parsing=True,
    idle_timeout=75.0,
    head_timeout=10.0,
    drain_timeout=10.0,
    timeout=60.0,
    limits=DEFAULT_LIMITS.replace(max_body_size=1 << 30),
    announce_close=True,
    server_version="devserve/" + __version__,
)
