"""The error :class:`~devserve.HandlerApp` raises for what a WSGI server cannot carry."""

from __future__ import annotations

__all__ = ["HandlerAppError"]


class HandlerAppError(RuntimeError):
    """The handler did something that a WSGI server cannot carry.

    Raised in the handler when it uses its socket other than through ``rfile`` and
    ``wfile``, or sends ``101 Switching Protocols``; raised by the application when
    the handler wrote no response, or one that is not HTTP/1.x, or ended a body before
    its end.  The WSGI server answers it with its own 500 (or, once the head is sent,
    closes the connection), and logs it.

    .. versionadded:: 0.1
    """
