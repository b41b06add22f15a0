"""The PEP 3333 environ of one request, built from the parsed head and connection facts.

Rule 1: :func:`build_environ` is a pure function: it reads a
:class:`~devserve.http11.RequestHead` and the facts it is given, and returns a new
``dict``; it never looks at a handler, a server, :data:`os.environ` or the clock.
Rule 2: everything it returns passes :func:`wsgiref.validate.validator`: every CGI
value is a ``str`` (``REMOTE_PORT`` too), and no key is invented (no default
``CONTENT_TYPE``, no ``CONTENT_LENGTH`` for a request without a body).
Rule 3: nothing the client sent is lost or made ambiguous: ``PATH_INFO`` is
percent-decoded to bytes, then decoded as latin-1, so every byte comes back with
``.encode("latin-1")``; the raw target stays in ``REQUEST_URI``; a header name with an
underscore is dropped, because ``X_User`` and ``X-User`` would both become
``HTTP_X_USER`` and one could pose as the other behind a proxy that filters only one.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote_to_bytes

from ..http11 import RequestHead
from ..http11.target import split_target

__all__ = ["OutsideScriptName", "build_environ"]

# Names the CGI variables own; these never become HTTP_* (PEP 3333, RFC 3875 §4.1.18).
_CGI_FIELDS = {"content-type": "CONTENT_TYPE", "content-length": "CONTENT_LENGTH"}


class OutsideScriptName(LookupError):
    """The request's path is not under the application's ``SCRIPT_NAME``.

    The handler answers it with 404: the application was mounted elsewhere.
    """


def build_environ(
    head: RequestHead,
    *,
    client_address: Any,
    base: dict[str, Any],
    wsgi_input: Any,
    connection: Any = None,
    url_scheme: str = "http",
    errors: Any = None,
    on_dropped: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Return the WSGI environ for the request *head*.

    *base* is copied first and supplies the server's keys: ``SERVER_NAME``,
    ``SERVER_PORT``, ``SERVER_SOFTWARE``, ``GATEWAY_INTERFACE``, ``SCRIPT_NAME``
    (the mount prefix, ``""`` for the root), ``wsgi.multithread``,
    ``wsgi.multiprocess`` and any extras such as ``wsgi.file_wrapper``.
    *client_address* is the peer's address as :mod:`socketserver` gives it;
    *wsgi_input* becomes ``wsgi.input`` and *errors* ``wsgi.errors`` (default
    :data:`sys.stderr`); *connection*, the connection's socket, becomes
    ``devserve.socket`` for handlers that take a connection over after
    ``101 Switching Protocols``.  *on_dropped* is called with the name of every
    header field left out because its name holds an underscore.

    Raises :exc:`OutsideScriptName` when ``SCRIPT_NAME`` is set and the path is
    not under it.

    .. versionadded:: 0.1
    """
    line = head.line
    target = line.target
    if target.startswith("/"):
        # The origin form, nearly every request: its path and query are all there is.
        raw_path, _, query = target.partition("?")
        authority = None
    else:
        raw_path, query, authority = split_target(target)
    # PEP 3333: "native strings" carry bytes as latin-1; unquote_to_bytes never
    # guesses an encoding, so %FF stays one byte (0xFF), not U+FFFD.
    path_info = unquote_to_bytes(raw_path).decode("latin-1") if "%" in raw_path else raw_path

    environ = base.copy()
    script_name = environ.get("SCRIPT_NAME", "")
    if script_name:
        if path_info == script_name:
            path_info = ""
        elif path_info.startswith(script_name) and path_info[len(script_name)] == "/":
            path_info = path_info[len(script_name) :]
        else:
            raise OutsideScriptName(path_info)

    environ["REQUEST_METHOD"] = line.method
    environ["PATH_INFO"] = path_info
    environ["QUERY_STRING"] = query
    environ["REQUEST_URI"] = target
    environ["RAW_URI"] = target
    environ["SERVER_PROTOCOL"] = line.version
    if type(client_address) is tuple:
        environ["REMOTE_ADDR"] = str(client_address[0])
        environ["REMOTE_PORT"] = str(client_address[1])
    else:
        # A Unix socket's peer has no address; CGI still wants the variable.
        environ["REMOTE_ADDR"] = ""
        environ["REMOTE_PORT"] = ""
    if head.content_length is not None:
        environ["CONTENT_LENGTH"] = str(head.content_length)

    for name, value in head.fields:
        lower = name.lower()
        cgi_key = _CGI_FIELDS.get(lower)
        if cgi_key is not None:
            if cgi_key == "CONTENT_TYPE":
                environ[cgi_key] = value
            continue
        if "_" in name:
            if on_dropped is not None:
                on_dropped(name)
            continue
        key = "HTTP_" + name.upper().replace("-", "_")
        if key in environ:
            # RFC 9110 §5.3: repeated fields are one comma-separated list.
            environ[key] += ", " + value
        else:
            environ[key] = value
    if head.host is not None and authority is not None:
        # RFC 9112 §3.2.2: the absolute form's authority is the host (head.host).
        environ["HTTP_HOST"] = head.host

    environ["wsgi.version"] = (1, 0)
    environ["wsgi.url_scheme"] = url_scheme
    environ["wsgi.input"] = wsgi_input
    environ["wsgi.errors"] = sys.stderr if errors is None else errors
    environ["wsgi.run_once"] = False
    # The body reader ends at the end of the body, chunked or not, so an
    # application may read to EOF without trusting CONTENT_LENGTH.
    environ["wsgi.input_terminated"] = True
    environ["devserve.socket"] = connection
    return environ
