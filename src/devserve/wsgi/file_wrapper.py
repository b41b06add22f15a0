"""``wsgi.file_wrapper``: a file an application returns, sent by the server with ``sendfile``.

Rule 1: iterating the wrapper always works, on any server; devserve sends a regular file
opened in binary mode from its current position with :func:`os.sendfile` instead, and
knows its length.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

__all__ = ["FileWrapper"]


class FileWrapper:
    """``wsgi.file_wrapper``: wrap a file so the server can send it with :func:`os.sendfile`.

    Iterating yields blocks of *blksize* bytes, so any server can send it; when
    :class:`~devserve.WSGIHandler` is given one whose file is a regular file opened in binary
    mode, it sends the rest of the file from its current position with
    :meth:`socket.socket.sendfile` instead, and sets ``Content-Length`` when the
    application did not.

    .. versionadded:: 0.1
    """

    def __init__(self, filelike: BinaryIO, blksize: int = 8192) -> None:
        self.filelike = filelike
        self.blksize = blksize

    def __iter__(self) -> Iterator[bytes]:
        read, size = self.filelike.read, self.blksize
        while data := read(size):
            yield data

    def close(self) -> None:
        """Close the wrapped file, if it can be closed."""
        close = getattr(self.filelike, "close", None)
        if close is not None:
            close()
