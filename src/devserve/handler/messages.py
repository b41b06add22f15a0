"""What a handler says: the errors it sends and what its log lines are made of.

Rule 1: everything from the request that reaches a page is HTML-escaped (bpo-1100201),
and everything that reaches a log line has its control characters escaped
(gh-100001), so a request can write neither markup nor terminal escapes.
"""

from __future__ import annotations

import html
import time
from typing import NamedTuple

__all__ = [
    "DEFAULT_ERROR_CONTENT_TYPE",
    "DEFAULT_ERROR_MESSAGE",
    "LOG_ESCAPES",
    "MONTH_NAMES",
    "Refusal",
    "ResponseRecord",
    "error_page",
    "log_timestamp",
]

DEFAULT_ERROR_MESSAGE = """\
<!DOCTYPE HTML>
<html lang="en">
    <head>
        <meta charset="utf-8">
        <style type="text/css">
            :root {
                color-scheme: light dark;
            }
        </style>
        <title>Error response</title>
    </head>
    <body>
        <h1>Error response</h1>
        <p>Error code: %(code)d</p>
        <p>Message: %(message)s.</p>
        <p>Error code explanation: %(code)s - %(explain)s.</p>
    </body>
</html>
"""

DEFAULT_ERROR_CONTENT_TYPE = "text/html;charset=utf-8"

# gh-100001: a request must not write terminal escapes into the log; '\' is escaped
# too, so an escaped byte and a literal backslash sequence stay distinguishable.
#: ``str.translate`` table that escapes control characters as ``\\xNN``.
LOG_ESCAPES = {c: "\\x%02x" % c for c in (*range(0x20), *range(0x7F, 0xA0))}
LOG_ESCAPES[ord("\\")] = "\\\\"


def error_page(page_format: str, code: int, message: str, explain: str) -> bytes:
    """Return the error page: *page_format* filled with the escaped *message* and *explain*."""
    content = page_format % {
        "code": code,
        "message": html.escape(message, quote=False),
        "explain": html.escape(explain, quote=False),
    }
    return content.encode("UTF-8", "replace")


#: The months as :mod:`http.server`'s log writes them (index 0 unused).
MONTH_NAMES = (None, "Jan", "Feb", "Mar", "Apr", "May", "Jun",
               "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")  # fmt: skip


def log_timestamp(
    timestamp: float | None = None,
    month_names: tuple[str | None, ...] | list[str | None] = MONTH_NAMES,
) -> str:
    """Return *timestamp* (default: now) in local time as the stdlib's log writes it."""
    year, month, day, hour, minute, second, *_ = time.localtime(timestamp)
    return "%02d/%3s/%04d %02d:%02d:%02d" % (day, month_names[month], year, hour, minute, second)


class Refusal(NamedTuple):
    """Why a request is refused: the status to answer, its reason and an explanation."""

    status: int
    message: str
    explain: str | None = None


class ResponseRecord:
    """What the handler knows about one response once it is complete.

    ``sent`` counts the bytes written to the connection for it (head and body),
    or is ``None`` when the handler's ``wfile`` is not its own writer;
    ``seconds`` runs from the request line to the last byte; ``note`` is the
    message of an error the handler sent.
    """

    __slots__ = ("client", "note", "requestline", "seconds", "sent", "status")

    def __init__(self, client: str, requestline: str) -> None:
        self.client = client
        self.requestline = requestline
        self.status: int | None = None
        self.sent: int | None = None
        self.seconds: float | None = None
        self.note: str | None = None
