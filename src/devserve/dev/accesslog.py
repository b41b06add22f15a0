"""The command line's access log: one line per response, written when it is complete.

Rule 1: a line is written after the response has left (so it can say how many bytes
went out and how long it took), once per response, never for a 100 Continue; the
handler reports each response through its named hook
(:class:`~devserve.handler.hooks.ResponseLog`), errors included.
Rule 2: what the request put in the line is escaped before any colour is added:
control characters become ``\\xNN``, so a request cannot write terminal escapes.
Rule 3: colour only when the stream is a terminal, never with ``NO_COLOR`` set
(https://no-color.org) or ``TERM=dumb``.
"""

from __future__ import annotations

import os
import sys
import time
from typing import TextIO

from ..handler.messages import LOG_ESCAPES, ResponseRecord, log_timestamp

__all__ = ["AccessLog", "color_enabled", "paint"]

_RESET = "\x1b[0m"
_STATUS_COLORS = {1: "\x1b[2m", 2: "\x1b[32m", 3: "\x1b[36m", 4: "\x1b[33m", 5: "\x1b[31m"}


def color_enabled(stream: TextIO) -> bool:
    """Whether to colour what is written to *stream*, as Python 3.13 decides for its own.

    ``PYTHON_COLORS`` (``1`` or ``0``) decides first, then ``NO_COLOR``, then
    ``FORCE_COLOR``, then ``TERM=dumb``; otherwise colour goes to a terminal only.
    """
    python_colors = os.environ.get("PYTHON_COLORS")
    if python_colors in ("0", "1"):
        return python_colors == "1"
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    if os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def paint(text: str, color: str, enabled: bool) -> str:
    """Return *text* wrapped in the ANSI *color* sequence when *enabled*."""
    return color + text + _RESET if enabled else text


class AccessLog:
    """The command line's access log: a :class:`~devserve.handler.hooks.ResponseLog`.

    Each complete response is one line, ``ADDRESS - - [DATE] "REQUEST LINE" STATUS
    BYTES DURATION``, where ``BYTES`` counts what was written to the connection for
    the response (head and body) and ``DURATION`` runs from the request line to the
    last byte; an error's message follows in parentheses.  With *quiet*, nothing
    is written (``-q``).  The status is coloured when *color* is true.

    .. versionadded:: 0.1
    """

    def __init__(
        self, *, color: bool = False, stream: TextIO | None = None, quiet: bool = False
    ) -> None:
        self.color = color
        #: Where lines go; ``None`` means :data:`sys.stderr` at the time of writing.
        self.stream = stream
        self.quiet = quiet
        self._second: tuple[int, str] = (0, "")

    def write(self, record: ResponseRecord) -> None:
        """Write the line for one complete response."""
        if self.quiet:
            return
        code = record.status or 0
        elapsed = "-" if record.seconds is None else _duration(record.seconds)
        message = ('"%s" ' % record.requestline).translate(LOG_ESCAPES)
        note = "" if record.note is None else (" (%s)" % record.note).translate(LOG_ESCAPES)
        status = paint(str(code), _STATUS_COLORS.get(code // 100, ""), self.color)
        line = "%s - - [%s] %s%s %s %s%s\n" % (
            record.client,
            self._timestamp(),
            message,
            status,
            "-" if record.sent is None else record.sent,
            elapsed,
            note,
        )
        stream = self.stream or sys.stderr
        stream.write(line)
        stream.flush()

    def _timestamp(self) -> str:
        # Formatted once a second: the log is written for every response.
        now = int(time.time())
        second, text = self._second
        if second != now:
            text = log_timestamp(now)
            self._second = (now, text)
        return text


def _duration(seconds: float) -> str:
    if seconds < 1.0:
        return "%.1fms" % (seconds * 1000.0)
    return "%.2fs" % seconds
