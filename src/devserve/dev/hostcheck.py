"""The ``Host`` allowlist: DNS-rebinding protection for a server bound to loopback.

Rule 1: a server on 127.0.0.1 is reachable from any web page the developer opens, by
a domain the attacker re-points at 127.0.0.1 (DNS rebinding): the browser then treats
the answers as the attacker's own origin.  The one thing such a request cannot fake
is its ``Host``, which names the attacker's domain; so a request whose ``Host`` is
not a name this server is known under gets 403, as Vite does (GHSA-vg6x-rcgg-rjx6).
Rule 2: known names are ``localhost`` and ``*.localhost`` (RFC 6761 §6.3 keeps them on
loopback), any IP address (rebinding needs a name), and those the user allows;
``.example.test`` allows the domain and its subdomains, ``*`` anything.
Rule 3: a request without ``Host`` passes (browsers always send one); the check is a
request check for devserve's handlers (:class:`HostCheck`) and a WSGI middleware for
other servers, and neither is on in the library classes.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ..handler.messages import Refusal
from ..http11.head import RequestHead

__all__ = ["HostCheck", "HostCheckMiddleware", "host_allowed", "is_loopback", "refusal"]

_LOCAL_NAMES = ("localhost", ".localhost")


def is_loopback(host: str | None) -> bool:
    """Whether binding *host* listens on loopback only (``None`` is devserve's default)."""
    if host is None or host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _hostname(value: str) -> str:
    value = value.strip().lower()
    if value.startswith("["):
        return value[: value.find("]") + 1] if "]" in value else value
    return value.rpartition(":")[0] if value.count(":") == 1 else value


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return False
    return True


def host_allowed(host: str | None, allowed: Sequence[str] = ()) -> bool:
    """Whether a request with ``Host: host`` may be answered (see the module's rules).

    *allowed* holds extra names: ``"dev.test"`` exactly, ``".dev.test"`` that
    domain and its subdomains, ``"*"`` any name.

    .. versionadded:: 0.1
    """
    if host is None:
        return True
    name = _hostname(host).rstrip(".")
    if not name:
        return False
    if _is_ip(name):
        return True
    for pattern in (*_LOCAL_NAMES, *(a.strip().lower().rstrip(".") for a in allowed)):
        if pattern == "*" or name == pattern:
            return True
        if pattern.startswith(".") and (name == pattern[1:] or name.endswith(pattern)):
            return True
    return False


def refusal(host: str) -> str:
    """The explanation sent with a 403 for *host*, naming the option that allows it."""
    name = _hostname(host)[:100]
    return (
        "Blocked request: this server is not known as %r (DNS-rebinding protection). "
        "To allow it, start devserve with --allowed-host %s" % (name, name)
    )


class HostCheck:
    """Refuse (403) a request whose host is not one this server is known under.

    A :class:`~devserve.handler.hooks.RequestCheck`: set it in a handler's
    ``request_checks``.  *allowed* holds extra names (see :func:`host_allowed`).
    The host is the request's (``Host``, or the authority of an absolute-form
    target, RFC 9112 §3.2.2).  It runs before ``Expect: 100-continue`` is answered,
    so a refused client is never invited to send its body.

    .. versionadded:: 0.1
    """

    def __init__(self, allowed: Sequence[str] = ()) -> None:
        self.allowed = tuple(allowed)

    def __call__(self, head: RequestHead) -> Refusal | None:
        """Return the refusal for *head*, or ``None`` to let it through."""
        host = head.host
        if host is None or host_allowed(host, self.allowed):
            return None
        return Refusal(403, "Host not allowed", refusal(host))


_App = Callable[..., Iterable[bytes]]


class HostCheckMiddleware:
    """WSGI middleware answering 403 to requests whose ``Host`` is not allowed.

    For applications run by other servers; devserve's command line uses
    :class:`HostCheck` instead.

    .. versionadded:: 0.1
    """

    def __init__(self, app: _App, allowed_hosts: Sequence[str] = ()) -> None:
        self.app = app
        self.allowed_hosts = tuple(allowed_hosts)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        """Run the application, or refuse the request."""
        host = environ.get("HTTP_HOST")
        if host_allowed(host, self.allowed_hosts):
            return self.app(environ, start_response)
        body = refusal(str(host)).encode("utf-8")
        start_response(
            "403 Forbidden",
            [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))],
        )
        return [body]
