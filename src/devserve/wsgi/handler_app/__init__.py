"""HandlerApp: a request handler class, devserve's or :mod:`http.server`'s, as a WSGI application.

Rule 1: the handler is served as a socket server serves it: made by its own class (or
the :func:`functools.partial` of one) for a connection, here one that carries the WSGI
call's request and then ends.  ``__init__``, ``setup``, ``handle``, ``parse_request``
and the ``do_*`` dispatch (501 without one) are the handler's own, so what a handler
does on its own server it does here.
Rule 2: the request reaches a handler on devserve's base class as the WSGI server
parsed it, a request line and fields (:mod:`devserve.handler.given`), and one on
:mod:`http.server`'s as HTTP/1.x bytes written back from the environ; either way its
body is framed by ``Content-Length`` alone: the WSGI server has already answered
``Expect`` and decoded a chunked body, which is spooled here to learn its length (413
past the limit).
Rule 3: what the handler writes is read by the core
(:func:`~devserve.http11.response_head.parse_response_head`, as the proxy reads a
backend's answer), once for each distinct head, and given to ``start_response``
(a fresh list each time); the fields that manage a connection, ``Date`` and
``Server`` are the WSGI server's.  The body goes to
PEP 3333's ``write`` callable as the handler writes it (a chunked one decoded first),
so it streams, in constant memory, without a thread.
Rule 4: what a WSGI server cannot carry is a :exc:`HandlerAppError`, never a guess: the
raw socket, ``101 Switching Protocols``, a response that is not HTTP/1.x.  An HTTP/0.9
request is answered 505 without running the handler.
"""

from __future__ import annotations

from .app import HandlerApp
from .errors import HandlerAppError

__all__ = ["HandlerApp", "HandlerAppError"]
