"""The command line's access log: one line per response, written when it is complete.

Rule 1: a line is written after the response has left (so it can say how many bytes
went out and how long it took), once per response, never for a 100 Continue.
Rule 2: what the request put in the line is escaped before any colour is added:
control characters become ``\\xNN``, so a request cannot write terminal escapes.
Rule 3: colour only when the stream is a terminal, never with ``NO_COLOR`` set
(https://no-color.org) or ``TERM=dumb``.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any, TextIO

from ..net.streams import SocketWriter

__all__ = ["AccessLogMixin", "color_enabled", "paint"]

_ESCAPES = {c: "\\x%02x" % c for c in (*range(0x20), *range(0x7F, 0xA0))}
_ESCAPES[ord("\\")] = "\\\\"
_RESET = "\x1b[0m"
_STATUS_COLORS = {1: "\x1b[2m", 2: "\x1b[32m", 3: "\x1b[36m", 4: "\x1b[33m", 5: "\x1b[31m"}
# BaseHTTPRequestHandler.send_error logs this before sending; the access line says it.
_ERROR_FORMAT = "code %d, message %s"


def color_enabled(stream: TextIO) -> bool:
    """Whether to colour what is written to *stream*."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def paint(text: str, color: str, enabled: bool) -> str:
    """Return *text* wrapped in the ANSI *color* sequence when *enabled*."""
    return color + text + _RESET if enabled else text


class AccessLogMixin:
    """Mix-in for a request handler: log each response when it is complete.

    The line is ``ADDRESS - - [DATE] "REQUEST LINE" STATUS BYTES DURATION``,
    where ``BYTES`` counts what was written to the connection for the response
    (head and body) and ``DURATION`` runs from the request line to the last
    byte.  An error's message follows in parentheses.  Colour follows
    :attr:`log_color`.

    .. versionadded:: 0.1
    """

    #: Colour the status; set by the command line from :func:`color_enabled`.
    log_color = False
    #: Where lines go; ``None`` means :data:`sys.stderr` at the time of writing.
    log_stream: TextIO | None = None

    _log_start: float | None = None
    _log_code: int | None = None
    _log_note: str | None = None

    _log_second: tuple[int, str] = (0, "")

    def log_date_time_string(self) -> str:
        """Return the current local time for the log, formatted once a second."""
        now = int(time.time())
        second, text = AccessLogMixin._log_second
        if second != now:
            text = super().log_date_time_string()  # type: ignore[misc]
            AccessLogMixin._log_second = (now, text)
        return text

    def parse_request(self) -> bool:
        self._log_start = time.perf_counter()
        return super().parse_request()  # type: ignore[misc, no-any-return]

    def handle_one_request(self) -> None:
        self._log_start = None
        self._log_code = None
        self._log_note = None
        wfile: Any = getattr(self, "wfile", None)
        before = wfile.bytes_sent if type(wfile) is SocketWriter else None
        try:
            super().handle_one_request()  # type: ignore[misc]
        finally:
            if self._log_code is not None:
                sent = wfile.bytes_sent - before if before is not None else None
                self._write_access_line(sent)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if self._log_code is None:
            self._log_code = int(code) if isinstance(code, int) else 0
            if self._log_start is None:
                self._log_start = time.perf_counter()

    def log_error(self, format: str, *args: Any) -> None:
        if format == _ERROR_FORMAT and len(args) == 2:
            self._log_note = str(args[1])
            return
        super().log_error(format, *args)  # type: ignore[misc]

    def _write_access_line(self, sent: int | None) -> None:
        handler: Any = self
        code = self._log_code or 0
        start = self._log_start
        elapsed = "-" if start is None else _duration(time.perf_counter() - start)
        message = '"%s" ' % handler.requestline
        note = "" if self._log_note is None else " (%s)" % self._log_note
        message = message.translate(_ESCAPES)
        note = note.translate(_ESCAPES)
        status = paint(str(code), _STATUS_COLORS.get(code // 100, ""), self.log_color)
        line = "%s - - [%s] %s%s %s %s%s\n" % (
            handler.address_string(),
            handler.log_date_time_string(),
            message,
            status,
            "-" if sent is None else sent,
            elapsed,
            note,
        )
        stream = self.log_stream or sys.stderr
        stream.write(line)
        stream.flush()


def _duration(seconds: float) -> str:
    if seconds < 1.0:
        return "%.1fms" % (seconds * 1000.0)
    return "%.2fs" % seconds
