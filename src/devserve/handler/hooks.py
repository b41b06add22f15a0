"""The named hooks through which opt-in features reach a request handler.

Rule 1: a feature above the handler (the ``Host`` check, the access log, a table of
mounts, live reload's event stream) is an object set as a class attribute of a
handler subclass; the handler calls it at one named point of a request's life.  No
feature overrides a handler method to get there, and the handler imports none of them.
Rule 2: the drop-in classes set no hook, so they behave exactly as :mod:`http.server`.
Rule 3: these are protocols for type checkers and readers; nothing imports this module
at run time to serve a request (what flows through the hooks, a
:class:`~devserve.handler.messages.Refusal` or a
:class:`~devserve.handler.messages.ResponseRecord`, is in :mod:`devserve.handler.messages`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from email.message import Message

    from ..http11.head import RequestHead
    from .base import BaseHTTPRequestHandler
    from .messages import Refusal, ResponseRecord

__all__ = ["PageTransform", "RequestCheck", "Responder", "ResponseLog"]


class RequestCheck(Protocol):
    """Decide whether a parsed request may be served at all.

    Called for every request once its head is parsed, before ``Expect:
    100-continue`` is answered and before anything else runs; a
    :class:`~devserve.handler.messages.Refusal` is sent as an error and the connection closes.
    """

    def __call__(self, head: RequestHead) -> Refusal | None: ...


class Responder(Protocol):
    """Answer some requests in place of the handler's ``do_*`` methods.

    Called in order once a request is accepted; the first to return ``True`` has
    answered it, through the handler's own response methods.
    """

    def respond(self, handler: BaseHTTPRequestHandler) -> bool: ...


class ResponseLog(Protocol):
    """Receive the record of every response, when it is complete.

    The record is a :class:`~devserve.handler.messages.ResponseRecord`.

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
