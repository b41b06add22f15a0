"""What a proxy changes in the messages it forwards: the backend's URL, targets and fields.

Rule 1: nothing here touches a socket; every function takes values and returns values,
so each rewrite is tested with raw vectors.
Rule 2: hop-by-hop fields (RFC 9110 §7.6.1: ``Connection`` and the fields it names,
``Keep-Alive``, ``TE``, ``Trailer``, ``Transfer-Encoding``, ``Upgrade``, ``Proxy-*``)
never cross the proxy; the framing of each hop is the relay's decision, so
``Content-Length`` is left to it too.  A WebSocket handshake alone keeps ``Upgrade``.
Rule 3: paths map as nginx's ``proxy_pass`` maps them: a backend URL without a path
keeps the request's path whole (``/api/x`` stays ``/api/x``); a URL with a path puts
that path in place of the prefix (``/api/x`` goes to ``/v1/x``).  ``Location`` and a
cookie's ``Path`` map back the other way, and a cookie's ``Domain`` naming the
backend is dropped, as Vite's ``cookieDomainRewrite`` and ``cookiePathRewrite`` do.
Rule 4: a backend is on this machine (a loopback address or ``localhost``) unless the
caller allows others, so a mistyped URL cannot turn the server into an open relay.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection, Iterable
from typing import NamedTuple
from urllib.parse import urlsplit

from ..http11.response import HOP_BY_HOP_FIELDS
from ..http11.target import origin_form

__all__ = [
    "Backend",
    "backend_target",
    "is_loopback",
    "map_path",
    "parse_backend",
    "request_fields",
    "response_fields",
    "rewrite_cookie",
    "rewrite_location",
]

#: RFC 9110 §7.6.1 and RFC 9112 §7: the fields that describe one hop, lower-cased.
# The relay frames each hop's body itself; Expect was answered by this server already.
_REFRAMED = frozenset({"content-length", "expect"})


class Backend(NamedTuple):
    """A backend as its URL names it: ``http://127.0.0.1:5000/v1``."""

    #: The URL as given, for messages (the 502 page, the banner).
    url: str
    host: str
    port: int
    #: The path that replaces the mount prefix (``"/v1"``, ``""`` for ``/``), or
    #: ``None`` when the URL has no path and the request's path is kept whole.
    path: str | None

    @property
    def authority(self) -> str:
        """``host:port`` as a ``Host`` field says it (an IPv6 address in brackets)."""
        host = "[%s]" % self.host if ":" in self.host else self.host
        return "%s:%d" % (host, self.port)


def is_loopback(host: str) -> bool:
    """Whether *host* names this machine: ``localhost`` or a loopback address."""
    name = host.lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def parse_backend(url: str, *, allow_remote: bool = False) -> Backend:
    """Read a backend URL (``http://127.0.0.1:5000``, ``ws://localhost:5173/v1``).

    Raises :exc:`ValueError` with a usage message for a scheme other than ``http`` (or
    ``ws``, the same server), a missing host, a query or fragment, and a host that is
    not this machine unless *allow_remote*.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise ValueError("bad backend URL %r: %s" % (url, error)) from None
    if parts.scheme.lower() not in ("http", "ws") or not parts.hostname:
        raise ValueError("a backend is an http:// URL, such as http://127.0.0.1:5000, not %r" % url)
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError("a backend URL has no query, fragment or user: %r" % url)
    host = parts.hostname
    if not allow_remote and not is_loopback(host):
        raise ValueError(
            "backend %r is not on this machine: proxying elsewhere needs --proxy-allow-remote" % url
        )
    path: str | None = parts.path.rstrip("/") if parts.path else None
    if path is not None and any(char in path for char in "%;"):
        raise ValueError("a backend URL's path is plain: %r" % url)
    return Backend(url, host, 80 if port is None else port, path)


def backend_target(backend: Backend, prefix: str, target: str) -> str:
    """The target to ask *backend* for, for a request *target* under the mount *prefix*."""
    url = origin_form(target)
    if backend.path is None:
        return url
    rest = url[len(prefix) :] if url.startswith(prefix) else url
    mapped = backend.path + rest
    return mapped if mapped.startswith("/") else "/" + mapped


def map_path(path: str, backend: Backend, prefix: str) -> str | None:
    """The path on this server of the backend's *path*, or ``None`` if it has none.

    The inverse of :func:`backend_target`: ``/v1/x`` is ``/api/x`` for a backend at
    ``/v1`` mounted at ``/api``; a backend without a path keeps every path.
    """
    base = backend.path
    if base is None:
        return path
    if not path.startswith(base):
        return None
    rest = path[len(base) :]
    if rest and rest[0] not in "/?#":
        return None  # /v10 is not below /v1
    if not base and rest.startswith("/"):
        rest = rest[1:] if rest == "/" else rest
    return (prefix + rest) or "/"


def _same_origin(authority: str, backend: Backend) -> bool:
    host, _, port = authority.rpartition(":")
    if not host or not port.isdigit():
        host, port = authority, "80"
    host = host.strip("[]").lower()
    same_host = host == backend.host.lower() or (is_loopback(host) and is_loopback(backend.host))
    return same_host and int(port) == backend.port


def rewrite_location(value: str, backend: Backend, prefix: str, origin: str) -> str:
    """Rewrite a ``Location`` pointing at *backend* to this server's *origin* and *prefix*.

    *origin* is ``scheme://host`` as the client reached this server.  An absolute URL
    on the backend's origin, or an absolute path under the backend's path, is
    rewritten; anything else (another site, a relative reference) is kept.
    """
    lower = value[:8].lower()
    if lower.startswith(("http://", "ws://")):
        rest = value.split("://", 1)[1]
        slash = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
        if not _same_origin(rest[:slash], backend):
            return value
        path = rest[slash:]
        mapped = map_path(path if path.startswith("/") else "/" + path, backend, prefix)
        return value if mapped is None else origin + mapped
    if value.startswith("/") and not value.startswith("//") and backend.path is not None:
        mapped = map_path(value, backend, prefix)
        return value if mapped is None else mapped
    return value


def rewrite_cookie(value: str, backend: Backend, prefix: str) -> str:
    """Rewrite a ``Set-Cookie`` value: drop a ``Domain`` naming the backend, map ``Path``."""
    pieces = value.split(";")
    kept = [pieces[0]]
    for attribute in pieces[1:]:
        name, equals, argument = attribute.strip().partition("=")
        lower = name.strip().lower()
        if lower == "domain" and equals:
            domain = argument.strip().lstrip(".").lower()
            if domain == backend.host.lower() or (
                is_loopback(domain) and is_loopback(backend.host)
            ):
                continue
        elif lower == "path" and equals:
            mapped = map_path(argument.strip(), backend, prefix)
            if mapped is not None and mapped != argument.strip():
                attribute = " Path=" + mapped
        kept.append(attribute)
    return ";".join(kept)


def _dropped(name: str, hop: Collection[str]) -> bool:
    return name in hop or name in _REFRAMED or name.startswith("proxy-")


def request_fields(
    fields: Iterable[tuple[str, str]],
    connection: Collection[str],
    *,
    backend: Backend,
    client: str,
    proto: str,
    change_origin: bool = False,
    websocket: bool = False,
) -> list[tuple[str, str]]:
    """The fields of a request to forward to *backend*, framing left out.

    Hop-by-hop fields go, and those *connection* names (the lower-cased options of
    the request's ``Connection`` field, as the core reads them:
    :attr:`~devserve.http11.RequestHead.connection`); ``Host`` is kept, or is the
    backend's with *change_origin* (Vite's ``changeOrigin``); *client* is appended to
    ``X-Forwarded-For``, and ``X-Forwarded-Proto`` (*proto*) and ``X-Forwarded-Host``
    are set unless a proxy in front set them already.  A *websocket* handshake keeps
    its ``Upgrade``.
    """
    hop = HOP_BY_HOP_FIELDS.union(connection)
    out: list[tuple[str, str]] = []
    forwarded_for: list[str] = []
    host = None
    has_proto = has_host = False
    for name, value in fields:
        lower = name.lower()
        if _dropped(lower, hop):
            continue
        if lower == "host":
            host = value
            if change_origin:
                continue
        elif lower == "x-forwarded-for":
            forwarded_for.append(value)
            continue
        elif lower == "x-forwarded-proto":
            has_proto = True
        elif lower == "x-forwarded-host":
            has_host = True
        out.append((name, value))
    if change_origin or host is None:
        out.insert(0, ("Host", backend.authority))
    forwarded_for.append(client)
    out.append(("X-Forwarded-For", ", ".join(forwarded_for)))
    if not has_proto:
        out.append(("X-Forwarded-Proto", proto))
    if not has_host and host is not None:
        out.append(("X-Forwarded-Host", host))
    if websocket:
        out += [("Connection", "Upgrade"), ("Upgrade", "websocket")]
    return out


def response_fields(
    fields: Iterable[tuple[str, str]],
    connection: Collection[str],
    *,
    backend: Backend,
    prefix: str,
    origin: str,
    upgrade: bool = False,
) -> list[tuple[str, str]]:
    """The fields of the backend's response to send on, framing left out.

    Hop-by-hop fields go, and those *connection* names (the response's ``Connection``
    options: :attr:`~devserve.http11.response_head.ResponseHead.connection`; a ``101``
    to a WebSocket handshake, *upgrade*, keeps ``Upgrade`` and says ``Connection:
    Upgrade``); ``Location`` and ``Set-Cookie`` are rewritten to this server
    (:func:`rewrite_location`, :func:`rewrite_cookie`).
    """
    hop = HOP_BY_HOP_FIELDS.union(connection)
    out: list[tuple[str, str]] = []
    for name, value in fields:
        lower = name.lower()
        if upgrade and lower == "upgrade":
            out.append((name, value))
            continue
        if _dropped(lower, hop):
            continue
        if lower == "location":
            value = rewrite_location(value, backend, prefix, origin)
        elif lower == "set-cookie":
            value = rewrite_cookie(value, backend, prefix)
        out.append((name, value))
    if upgrade:
        out.append(("Connection", "Upgrade"))
    return out
