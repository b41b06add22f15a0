"""The named hooks through which opt-in features reach a request handler.

Rule 1: a feature above the handler (the ``Host`` check, the access log, a table of
mounts, live reload's event stream) is an object set as a class attribute of a
handler subclass; the handler calls it at one named point of a request's life.  No
feature overrides a handler method to get there, and the handler imports none of them.
Rule 2: the drop-in classes set no hook, so they behave exactly as :mod:`http.server`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from email.message import Message

    from ..http11.head import RequestHead
    from .base import BaseHTTPRequestHandler

__all__ = [
    "PageTransform",
    "Refusal",
    "RequestCheck",
    "Responder",
    "ResponseLog",
    "ResponseRecord",
]


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a request is refused: the status to answer, its reason and an explanation."""

    status: int
    message: str
    explain: str | None = None


class RequestCheck(Protocol):
    """Decide whether a parsed request may be served at all.

    Called for every request once its head is parsed, before ``Expect:
    100-continue`` is answered and before anything else runs; a
    :class:`Refusal` is sent as an error and the connection closes.
    """

    def __call__(self, head: RequestHead) -> Refusal | None: ...


class Responder(Protocol):
    """Answer some requests in place of the handler's ``do_*`` methods.

    Called in order once a request is accepted; the first to return ``True`` has
    answered it, through the handler's own response methods.
    """

    def respond(self, handler: BaseHTTPRequestHandler) -> bool: ...


@dataclass(slots=True)
class ResponseRecord:
    """What the handler knows about one response once it is complete.

    ``sent`` counts the bytes written to the connection for it (head and body),
    or is ``None`` when the handler's ``wfile`` is not its own writer;
    ``seconds`` runs from the request line to the last byte; ``note`` is the
    message of an error the handler sent.
    """

    client: str
    requestline: str
    status: int | None = None
    sent: int | None = None
    seconds: float | None = None
    note: str | None = None


class ResponseLog(Protocol):
    """Receive a :class:`ResponseRecord` for every response, when it is complete.

    With a log set, the handler writes no access line of its own
    (:meth:`~devserve.BaseHTTPRequestHandler.log_request`) and no line for the
    errors it sends (their message is the record's ``note``).
    """

    def write(self, record: ResponseRecord) -> None: ...


class PageTransform(Protocol):
    """Rewrite the HTML pages a handler produces (live reload adds its script).

    The producer asks :meth:`applies` before it decides anything else about a
    page (conditions, ranges, encodings), and if so sends the whole page, as
    :meth:`transform` returns it, fresh and without validators.
    """

    def applies(self, request_headers: Message, content_type: str) -> bool: ...

    def transform(self, page: bytes) -> bytes: ...
