"""Every size limit of the HTTP/1.1 layer, in one place.

The defaults for lines and header count are the stdlib's (``http.client._MAXLINE``
and ``_MAXHEADERS``), so code written for :mod:`http.server` sees the same 414 and
431 answers; the rest bound what the stdlib left unbounded.
"""

from __future__ import annotations

from typing import Any, NamedTuple

__all__ = ["DEFAULT_LIMITS", "Limits"]


class Limits(NamedTuple):
    """Size limits applied while reading a request.

    Immutable: make a variant with :meth:`replace`, for example
    ``DEFAULT_LIMITS.replace(max_body_size=1 << 20)``, and set it as a handler's
    :attr:`~devserve.BaseHTTPRequestHandler.limits`.  (A named tuple rather than a
    dataclass: :mod:`dataclasses` costs a third of devserve's import time.)
    """

    #: Bytes in the request line, without its line ending (414 beyond).
    max_request_line: int = 65536
    #: Bytes in one header or trailer line (431 beyond).
    max_field_line: int = 65536
    #: Lines in a header (or trailer) section, its blank last line included, as
    #: :mod:`http.client` counts them: the default 100 lets 99 fields through and
    #: answers 100 with 431, exactly as :mod:`http.server` does.
    max_fields: int = 100
    #: Bytes in the whole head, request line included (431).
    max_head_size: int = 262144
    #: Bytes in a chunk-size line, extensions and CRLF included (400).
    max_chunk_line: int = 4096
    #: Hexadecimal digits of a chunk size after leading zeros (400): 16 digits hold
    #: any size a 64-bit file can, and bound the work done before ``int()``.
    max_chunk_size_digits: int = 16
    #: Decimal digits of ``Content-Length`` after leading zeros (413 beyond).
    max_content_length_digits: int = 18
    #: Bytes of request body read through the body readers, or ``None`` (413).
    max_body_size: int | None = None
    #: Bytes of an unread body the server reads and discards to keep a connection
    #: alive; a larger remainder closes the connection instead.
    max_drain_size: int = 1 << 20

    def replace(self, **changes: Any) -> Limits:
        """Return a copy with the limits named in *changes* changed."""
        return self._replace(**changes)


#: The limits every handler uses unless it sets its own.
DEFAULT_LIMITS = Limits()
