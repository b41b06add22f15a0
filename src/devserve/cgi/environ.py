"""The environment of a CGI script (RFC 3875 §4.1), built as a pure function.

Rule 1: values in, a dict out: nothing here reads a socket, starts a process or
touches a handler, so every variable can be tested from plain values.
Rule 2: the bytes a client sent reach the script as those bytes: header values
(latin-1 text in the handler) are handed over so that :mod:`subprocess`, which
encodes environment strings with :func:`os.fsencode`, writes the original bytes.
Rule 3: what could be spoofed or leaked never becomes a variable: credentials
(``Authorization``), the ``Proxy`` header (httpoxy, CVE-2016-5385), framing the
server has already removed (``Transfer-Encoding``), header names that are not
letters, digits and ``-`` (``X_User`` would shadow ``X-User``), and any ``HTTP_*`` or
CGI variable the server process itself inherited.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["META_VARIABLES", "ScriptRequest", "build_environ"]

#: The meta-variables of RFC 3875 §4.1 that the server sets (or deliberately leaves
#: empty); inherited variables with these names are dropped.
META_VARIABLES = frozenset(
    {
        "AUTH_TYPE",
        "CONTENT_LENGTH",
        "CONTENT_TYPE",
        "GATEWAY_INTERFACE",
        "PATH_INFO",
        "PATH_TRANSLATED",
        "QUERY_STRING",
        "REMOTE_ADDR",
        "REMOTE_HOST",
        "REMOTE_IDENT",
        "REMOTE_USER",
        "REQUEST_METHOD",
        "SCRIPT_NAME",
        "SERVER_NAME",
        "SERVER_PORT",
        "SERVER_PROTOCOL",
        "SERVER_SOFTWARE",
    }
)

# RFC 3875 §4.1.18: credentials SHOULD NOT be passed; Content-Type and -Length have
# their own variables; the body the script reads is already de-chunked.
_NOT_PASSED = frozenset(
    {"authorization", "proxy-authorization", "proxy", "content-type", "content-length",
     "transfer-encoding"}
)  # fmt: skip
_HEADER_NAME = re.compile(r"[A-Za-z0-9-]+")
# http.server joins repeated Accept fields with ',' (CPython's test_accept pins it);
# cookies are joined as a user agent would send them (RFC 6265 §5.4).
_JOINERS = {"HTTP_ACCEPT": ",", "HTTP_COOKIE": "; "}
# http.server always sets these, empty when the request has none.
_ALWAYS_SET = (
    "QUERY_STRING",
    "CONTENT_LENGTH",
    "HTTP_ACCEPT",
    "HTTP_USER_AGENT",
    "HTTP_COOKIE",
    "HTTP_REFERER",
)


@dataclass(frozen=True)
class ScriptRequest:
    """What a CGI script is told about the request that runs it.

    ``headers`` are the request's header fields as ``(name, value)`` pairs of
    latin-1 text, repeats kept; ``path_translated`` is ``None`` when
    ``path_info`` is empty; ``content_length`` is the length of the body the
    script will read on its standard input, or ``None`` when there is none.

    .. versionadded:: 0.1
    """

    method: str
    script_name: str
    path_info: str = ""
    path_translated: str | None = None
    query_string: str = ""
    server_protocol: str = "HTTP/1.0"
    server_software: str = ""
    server_name: str = ""
    server_port: int = 0
    remote_addr: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    content_length: int | None = None


def build_environ(request: ScriptRequest, inherited: Mapping[str, str]) -> dict[str, str]:
    """Return the environment to run a CGI script for *request* with.

    *inherited* (usually :data:`os.environ`) is copied first, as
    :mod:`http.server` does, without its ``HTTP_*`` variables and the names in
    ``META_VARIABLES``; then every variable of RFC 3875 §4.1 is set, and
    each request header becomes ``HTTP_NAME`` (repeated fields joined).
    ``AUTH_TYPE`` and ``REMOTE_USER`` come from ``Authorization`` unverified, as
    in :mod:`http.server`: a script must not treat them as proof of identity.

    .. versionadded:: 0.1
    """
    env = {
        name: value
        for name, value in inherited.items()
        if name not in META_VARIABLES and not name.startswith("HTTP_")
    }
    env.update(
        SERVER_SOFTWARE=request.server_software,
        SERVER_NAME=request.server_name,
        GATEWAY_INTERFACE="CGI/1.1",
        SERVER_PROTOCOL=request.server_protocol,
        SERVER_PORT=str(request.server_port),
        REQUEST_METHOD=request.method,
        SCRIPT_NAME=request.script_name,
        PATH_INFO=request.path_info,
        QUERY_STRING=_raw(request.query_string),
        REMOTE_ADDR=request.remote_addr,
        # RFC 3875 §4.1.9: without a name lookup the address stands in for the name.
        REMOTE_HOST=request.remote_addr,
    )
    if request.path_translated is not None:
        env["PATH_TRANSLATED"] = request.path_translated
    content_type = None
    joined: dict[str, list[str]] = {}
    for name, value in request.headers:
        lowered = name.lower()
        if lowered == "content-type":
            content_type = value if content_type is None else content_type
            continue
        if lowered == "authorization":
            env.update(_auth_variables(value))
            continue
        if lowered in _NOT_PASSED or not _HEADER_NAME.fullmatch(name):
            continue
        joined.setdefault("HTTP_" + name.upper().replace("-", "_"), []).append(_raw(value))
    for variable, values in joined.items():
        env[variable] = _JOINERS.get(variable, ", ").join(filter(None, values))
    # http.server reports the default type of a message without Content-Type.
    env["CONTENT_TYPE"] = _raw(content_type) if content_type is not None else "text/plain"
    if request.content_length is not None:
        env["CONTENT_LENGTH"] = str(request.content_length)
    for variable in _ALWAYS_SET:
        env.setdefault(variable, "")
    return env


def _auth_variables(value: str) -> dict[str, str]:
    words = value.split()
    if len(words) != 2:
        return {}
    scheme, credentials = words
    result = {"AUTH_TYPE": scheme}
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credentials.encode("ascii"), validate=True)
            text = decoded.decode("utf-8")
        except (binascii.Error, UnicodeError):
            return result
        user, colon, _password = text.partition(":")
        # RFC 7617 §2: the user-id cannot hold a colon; the password can.
        if colon:
            result["REMOTE_USER"] = user
    return result


def _raw(text: str) -> str:
    """Return *text* (latin-1 wire bytes) so that os.fsencode gives those bytes back."""
    try:
        return os.fsdecode(text.encode("latin-1"))
    except (UnicodeEncodeError, UnicodeDecodeError):
        # Not wire text (a subclass built the value): pass it on as it is.
        return text
