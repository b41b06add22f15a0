"""WSGIHandler: a WSGI application (PEP 3333) as one more thing a request handler runs.

Rule 1: the request is parsed, limited, timed out, kept alive and logged by
:class:`~devserve.BaseHTTPRequestHandler`, exactly as for a ``do_*`` method; this module
turns the parsed head into an environ (:func:`~devserve.wsgi.environ.build_environ`)
and hands the application's answer to a :class:`~devserve.wsgi.response.WSGIResponse`.
Rule 2: the client can always tell a complete response from a failed one: an error
before the head is a 500 page; after it, the connection is reset, never ended cleanly.
Rule 3: ``close()`` on the application's iterable is called exactly once, whatever
happened, including a client that went away.
"""

from __future__ import annotations

import contextlib
import sys
import traceback
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any, Protocol, cast, runtime_checkable

from ..handler.base import BaseHTTPRequestHandler
from ..handler.defaults import DEVSERVE
from ..http11 import ProtocolError, RequestHead, RequestLine
from ..net.contract import conforms
from ..net.streams import is_tls
from .environ import OutsideScriptName, build_environ
from .input import WSGIInput
from .response import ClientGone, WSGIResponse

__all__ = ["ApplicationHost", "WSGIApplication", "WSGIHandler", "WSGIRequestHandler"]

WSGIApplication = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
"""The type of a WSGI application (PEP 3333)."""

_DISCONNECTS = (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)


@runtime_checkable
class ApplicationHost(Protocol):
    """What a :class:`WSGIHandler` needs of its server (:class:`~devserve.WSGIServer` is one)."""

    #: The environ keys every request shares.
    base_environ: dict[str, Any]

    def get_app(self) -> WSGIApplication:
        """Return the application to run."""


class WSGIHandler(BaseHTTPRequestHandler):
    """Serve the server's WSGI application (PEP 3333) on devserve's HTTP/1.1 core.

    Every request goes to the application returned by the server's
    :meth:`~devserve.WSGIServer.get_app`, except that a ``do_*`` method a subclass
    defines takes precedence for its method: a subclass with ``do_OPTIONS`` answers
    every ``OPTIONS`` request itself, and may call :meth:`run_wsgi` to hand one on.

    Responses are framed by ``Content-Length`` when the application set it or
    returned a single item (or nothing), otherwise chunked to HTTP/1.1 clients and
    ended by closing to HTTP/1.0 clients.  Bodies of replies to ``HEAD`` and of
    1xx, 204 and 304 replies are dropped.  Unlike :mod:`wsgiref`, connections
    persist, request bodies may be chunked, ``Expect: 100-continue`` is answered
    when the application first reads ``wsgi.input``, and an application error after
    the head was sent resets the connection so the client cannot mistake a
    truncated body for a whole one.  Its attributes are devserve's defaults
    (:data:`~devserve.handler.defaults.DEVSERVE`).

    .. versionadded:: 0.1
    """

    protocol_version = DEVSERVE.protocol_version
    server_version = DEVSERVE.server_version
    strict_parsing = DEVSERVE.strict_parsing
    idle_timeout = DEVSERVE.idle_timeout
    head_timeout = DEVSERVE.head_timeout
    drain_timeout = DEVSERVE.drain_timeout
    timeout = DEVSERVE.timeout
    limits = DEVSERVE.limits
    announce_close = DEVSERVE.announce_close

    #: Where the application and the environ keys every request shares come from;
    #: ``None``: the server (a :class:`~devserve.WSGIServer`).  A table of mounts sets
    #: it on the handler it makes to serve an application under a prefix.
    #:
    #: .. versionadded:: 0.1
    application_host: ApplicationHost | None = None

    _expect_pending = False
    _input: WSGIInput | None = None
    _response: WSGIResponse | None = None

    def __getattr__(self, name: str) -> Any:
        # Only reached for names the class lacks: every method the parser accepted
        # and no do_* method claims goes to the application.
        if name.startswith("do_"):
            return self.run_wsgi
        raise AttributeError(name)

    def handle_expect_100(self) -> bool:
        """Defer ``100 Continue`` until the application first reads the body.

        A request for a ``do_*`` method the subclass defines is answered at once,
        as :mod:`http.server` does.
        """
        if hasattr(type(self), "do_" + str(self.command)):
            return super().handle_expect_100()
        self._expect_pending = True
        return True

    def _host(self) -> ApplicationHost:
        if self.application_host is not None:
            return self.application_host
        server = self.server
        if not conforms(server, ApplicationHost):
            raise TypeError(
                "WSGIHandler needs a server with get_app() and base_environ, such as WSGIServer"
            )
        return cast(ApplicationHost, server)

    def get_environ(self) -> dict[str, Any]:
        """Return the environ for the current request.

        See :func:`~devserve.wsgi.environ.build_environ`.
        """
        head = self.request_head
        if head is None:  # HTTP/0.9, served only when strict_parsing is off
            head = RequestHead(RequestLine(str(self.command), self.path, "HTTP/0.9", (0, 9)), [])
        self._input = WSGIInput(self.body_reader, self._answer_expectation)
        return build_environ(
            head,
            client_address=self.client_address,
            base=self._host().base_environ,
            wsgi_input=self._input,
            connection=self.connection,
            url_scheme="https" if is_tls(self.connection) else "http",
            on_dropped=self._log_dropped,
        )

    def _log_dropped(self, name: str) -> None:
        self.log_message("dropped header %r: '_' in a name is ambiguous with '-'", name)

    def get_app(self) -> WSGIApplication:
        """Return the application to run: the server's :meth:`~devserve.WSGIServer.get_app`."""
        return self._host().get_app()  # two dictionary lookups: conforms() caches the check

    # -- one request ----------------------------------------------------------

    def run_wsgi(self) -> None:
        """Run the application for the current request and send its response."""
        try:
            self._run_wsgi()
        finally:
            if self._expect_pending:
                # The client may or may not send the body it asked to send:
                # the connection's next bytes cannot be trusted to be a request.
                self._expect_pending = False
                self.close_connection = True
            self._input = self._response = None

    def _run_wsgi(self) -> None:
        head = self.request_head
        limit = self.limits.max_body_size
        if head is not None and limit is not None and (head.content_length or 0) > limit:
            self.send_error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
            return
        try:
            environ = self.get_environ()
        except OutsideScriptName:
            self.send_error(HTTPStatus.NOT_FOUND, explain="Not under the application's prefix")
            return
        response = self._response = WSGIResponse(self, self._before_head)
        result = None
        try:
            try:
                result = self.get_app()(environ, response.start_response)
                response.send(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        except (ClientGone, *_DISCONNECTS):
            self.close_connection = True
            self.log_request(response.code or "-", "%d (client disconnected)" % response.sent)
            return
        except Exception:
            self._fail(response, sys.exc_info())
            return
        self.log_request(response.code, response.sent)

    def _answer_expectation(self) -> None:
        """Before the body's first read: answer ``Expect: 100-continue`` if it is pending."""
        if self._expect_pending:
            self._expect_pending = False
            if self._response is not None and self._response.head_sent:
                self.close_connection = True  # too late for 100; the client decides
            else:
                self.send_continue()

    def _before_head(self) -> None:
        wsgi_input = self._input
        if wsgi_input is not None and wsgi_input.error is not None:
            raise wsgi_input.error  # the body was bad: its error answers, not the application
        if self._expect_pending:
            # The body was never asked for (RFC 9110 §10.1.1): answer, then close.
            self.close_connection = True

    # -- failures -------------------------------------------------------------

    def _fail(self, response: WSGIResponse, exc_info: Any) -> None:
        self.close_connection = True
        error = None if self._input is None else self._input.error
        if error is not None:
            # The request body failed (bad chunk, too large, too slow, cut off): that
            # is the answer, whatever the application made of it.
            if response.head_sent:
                self.abandon_response()
            elif isinstance(error, ProtocolError):
                self._send_error_quietly(error.status, error.message, error.explain)
            elif isinstance(error, TimeoutError):
                self._send_error_quietly(HTTPStatus.REQUEST_TIMEOUT)
            else:
                self.log_request("-", "- (client disconnected)")
            return
        self.log_exception(exc_info)
        if response.head_sent:
            if not response.complete:
                self.abandon_response()
            return
        self._send_error_quietly(HTTPStatus.INTERNAL_SERVER_ERROR)

    def _send_error_quietly(
        self, code: int, message: str | None = None, explain: str | None = None
    ) -> None:
        with contextlib.suppress(OSError):  # a client that is gone needs no page
            self.send_error(code, message, explain)

    def log_exception(self, exc_info: Any) -> None:
        """Log an application error and its traceback to :data:`sys.stderr`."""
        self.log_error("Error in the WSGI application for %r", self.requestline)
        traceback.print_exception(*exc_info, file=sys.stderr)


#: :mod:`wsgiref.simple_server`'s name for the handler, so code written for it needs
#: only its import changed.
WSGIRequestHandler = WSGIHandler
