"""A small cached file's response, left with the server to send again without a worker.

Rule 1: an answer is the response the handler itself sent, byte for byte but ``Date``;
the server sends it again only to a byte-identical request head, and only while the
file is the version it was read as (the cache's identity: inode, size, mtime, mode,
owner, ctime) and its precompressed siblings are as they were.  Whatever else could
change the answer is excluded where the answer is made (the handler decides when to
offer one), so the server never decides an HTTP question of its own.
Rule 2: the access log still gets its line, through the handler class's
``response_log``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..handler.messages import ResponseRecord
from ..http11.response import http_date
from ..net.unix import peer_host
from .cache import Identity, identity

if TYPE_CHECKING:
    from ..handler.hooks import ResponseLog

__all__ = ["CachedAnswer", "split_at_date"]

_DATE = b"\r\nDate: "


def split_at_date(head: bytes) -> tuple[bytes, bytes] | None:
    """Split *head* around its one ``Date`` value; ``None`` without exactly one."""
    start = head.find(_DATE)
    if start < 0 or head.find(_DATE, start + 1) >= 0:
        return None
    start += len(_DATE)
    end = head.find(b"\r\n", start)
    return head[:start], head[end:]


class CachedAnswer:
    """The response to one request head for a cached file (a
    :class:`~devserve.net.contract.QuickAnswer`)."""

    __slots__ = (
        "_after", "_before", "_body", "_codings", "_identity", "_log", "_passed", "_path",
        "_requestline", "_siblings", "_status", "closes",
    )  # fmt: skip

    def __init__(
        self,
        head: tuple[bytes, bytes],
        body: bytes,
        path: str,
        version: Identity,
        siblings: Callable[[str, os.stat_result], list[str]] | None,
        codings: list[str],
        passed: tuple[str, ...],
        log: ResponseLog,
        requestline: str,
        status: int,
        closes: bool,
    ) -> None:
        self._before, self._after = head
        self._body = body
        self._path = path
        self._identity = version
        #: How the handler found precompressed siblings, and what it found.
        self._siblings = siblings
        self._codings = codings
        #: Index pages that come before this one and were missing: one that appears
        #: is served instead.
        self._passed = passed
        self._log = log
        self._requestline = requestline
        self._status = status
        self.closes = closes

    def render(self) -> bytes | None:
        """The response as of now, or ``None`` when the file is not that version any more."""
        try:
            info = os.stat(self._path)
        except (OSError, ValueError):
            return None
        if identity(info) != self._identity:
            return None
        siblings = self._siblings
        if siblings is not None and siblings(self._path, info) != self._codings:
            return None  # a .br or .gz appeared, went or aged: the handler chooses again
        for index in self._passed:
            if os.path.isfile(index):
                return None
        return b"".join((self._before, http_date().encode("ascii"), self._after, self._body))

    def served(self, client_address: Any, sent: int, seconds: float) -> None:
        """Write the access log's line for a response sent to *client_address*."""
        record = ResponseRecord(peer_host(client_address), self._requestline)
        record.status = self._status
        record.sent = sent
        record.seconds = seconds
        self._log.write(record)
