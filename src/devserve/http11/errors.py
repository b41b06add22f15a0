"""Protocol errors raised by the socket-free HTTP/1.1 layer.

Rule 1: every error carries the HTTP status to answer with, so a caller turns one
exception into one response without knowing where parsing stopped.
Rule 2: after any of these the connection is closed: once framing is in doubt, nothing
further on the connection can be trusted (RFC 9112 §6.3, §9.6).
"""

from __future__ import annotations

__all__ = [
    "BadFraming",
    "BadHeader",
    "BadRequestLine",
    "BodyTooLarge",
    "HeaderFieldsTooLarge",
    "IncompleteMessage",
    "ProtocolError",
    "URITooLong",
    "UnsupportedHTTPVersion",
    "UnsupportedTransferCoding",
]


class ProtocolError(Exception):
    """A request that cannot be served as sent.

    :attr:`status` is the HTTP status code to answer with, :attr:`message` the
    short reason (it becomes the reason phrase, as in
    :meth:`~devserve.BaseHTTPRequestHandler.send_error`) and :attr:`explain` an
    optional longer explanation for the error page.  :attr:`version` is the
    request's HTTP version when it had already been read and accepted before the
    error was found, else ``None``; the stdlib answers errors found before the
    version with an HTTP/0.9-style bare body, and the handler mirrors that.
    """

    #: The HTTP status code to answer with.
    status = 400

    def __init__(
        self,
        message: str,
        *,
        explain: str | None = None,
        version: str | None = None,
    ) -> None:
        super().__init__(message)
        #: The short reason, sent as the reason phrase.
        self.message = message
        #: A longer explanation for the error page, or ``None``.
        self.explain = explain
        #: The request's HTTP version if it was read and accepted before the fault
        #: was found, else ``None``.
        self.version = version


class BadRequestLine(ProtocolError):
    """The request line is malformed (RFC 9112 §3)."""


class URITooLong(ProtocolError):
    """The request line is longer than the limit (RFC 9110 §15.5.15)."""

    status = 414


class HeaderFieldsTooLarge(ProtocolError):
    """A header line, the header count or the whole head is over its limit (RFC 6585 §5)."""

    status = 431


class BadHeader(ProtocolError):
    """A header field is malformed, duplicated where it must be single, or missing."""


class BadFraming(ProtocolError):
    """The body's length cannot be determined safely (RFC 9112 §6)."""


class IncompleteMessage(BadFraming):
    """The client closed the connection in the middle of a request."""


class BodyTooLarge(ProtocolError):
    """The request body is larger than the configured limit (RFC 9110 §15.5.14)."""

    status = 413


class UnsupportedTransferCoding(ProtocolError):
    """A transfer coding other than ``chunked`` was applied (RFC 9112 §6.1)."""

    status = 501


class UnsupportedHTTPVersion(ProtocolError):
    """The request's major HTTP version is not 1 (RFC 9110 §15.6.6)."""

    status = 505
