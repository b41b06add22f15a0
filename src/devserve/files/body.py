"""A file's response body as :meth:`~devserve.SimpleHTTPRequestHandler.send_head` planned it.

Rule 1: exactly the bytes the head announced leave, or the connection closes: a file
that shrank under a ``Content-Length`` cannot be padded, and only closing tells the
client that the body is short.
Rule 2: a body larger than a socket buffer leaves by ``sendfile`` when the connection's
own writer is there (zero-copy); a small one is read and written with the held head
in one send.  A file that ends the response may be finished by the server after the
handler returns, so a client that stops reading holds no worker.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, BinaryIO

if TYPE_CHECKING:
    from ..http11.ranges import MultipartPart
    from ..net.streams import SocketWriter

__all__ = ["FileBody", "copy_range"]

# Bodies up to this size are read and sent with the held head in one send; above it
# sendfile's zero-copy wins over the extra send it needs for the head.
_SMALL_BODY = 65536
_COPY_CHUNK = 65536


class FileBody:
    """What to send of *file*: *count* bytes from *offset*, or the *parts* of a multipart
    ``byteranges`` body followed by *tail*.  *whole* says it is the whole file."""

    __slots__ = ("count", "file", "offset", "parts", "tail", "whole")

    def __init__(
        self,
        file: BinaryIO,
        offset: int,
        count: int,
        whole: bool,
        parts: list[MultipartPart] | None = None,
        tail: bytes = b"",
    ) -> None:
        self.file = file
        self.offset = offset
        self.count = count
        self.whole = whole
        self.parts = parts
        self.tail = tail

    def send(self, wfile: Any, writer: SocketWriter | None) -> bool:
        """Send the body to *wfile*; return ``False`` if the file turned out shorter."""
        if self.parts is None:
            return copy_range(self.file, self.offset, self.count, wfile, writer, last=True)
        for part in self.parts:
            wfile.write(part.head)
            if not copy_range(self.file, part.range.first, part.range.length, wfile, writer):
                return False
        wfile.write(self.tail)
        return True


def copy_range(
    file: BinaryIO,
    offset: int,
    count: int,
    wfile: Any,
    writer: SocketWriter | None,
    *,
    last: bool = False,
) -> bool:
    """Send *count* bytes of *file* from *offset*; return ``False`` if the file had fewer.

    *last* says nothing follows in the response, so the server may send the rest
    once the handler has returned (see :meth:`~devserve.net.streams.SocketWriter.sendfile`).
    """
    if count > _SMALL_BODY and writer is not None:
        return writer.sendfile(file, offset, count, last=last) == count
    file.seek(offset)
    remaining = count
    while remaining > 0:
        chunk = file.read(min(remaining, _COPY_CHUNK))
        if not chunk:
            return False
        wfile.write(chunk)
        remaining -= len(chunk)
    return True
