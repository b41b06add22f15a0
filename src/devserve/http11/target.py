"""Request targets: the four forms of RFC 9112 §3.2, split into path, query and authority.

Rule 1: a server MUST accept the absolute form (RFC 9112 §3.2.2): its path is served as
the origin form's would be, and its authority replaces ``Host``.  The target itself is
kept as sent (``self.path`` in a handler, ``REQUEST_URI`` in WSGI); only the values
derived from it change.
Rule 2: nothing is decoded here: the path stays percent-encoded, so each consumer
decodes it once, its own way (files to a file name, WSGI to latin-1 bytes).
Rule 3: a mount prefix holds a path when the path is the prefix or goes on below it
after a ``/`` (``/static`` holds ``/static`` and ``/static/a.css``, never
``/staticfiles``); the prefix is compared as sent, so a match on the encoded path is
also one on the decoded path that ``SCRIPT_NAME`` is compared with.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["Target", "below_prefix", "check_prefix", "origin_form", "split_target"]


class Target(NamedTuple):
    """A request target split into its parts.

    ``path`` is percent-encoded; it is ``"/"`` for an absolute-form target
    without a path, and ``""`` for the asterisk form (``*``) and the authority
    form of ``CONNECT``.  ``authority`` is the ``host[:port]`` of an
    absolute-form target (userinfo dropped), else ``None``.
    """

    path: str
    query: str
    authority: str | None = None


def split_target(target: str) -> Target:
    """Split a request-target into :class:`Target` parts."""
    path, _, query = target.partition("?")
    if path.startswith("/"):
        return Target(path, query)
    scheme_end = path.find("://")
    if scheme_end <= 0:
        return Target("", query)
    rest = path[scheme_end + 3 :]
    slash = rest.find("/")
    if slash < 0:
        authority, path = rest, "/"
    else:
        authority, path = rest[:slash], rest[slash:]
    # RFC 9112 §3.2.2: userinfo is not part of the host a server sees.
    return Target(path, query, authority.rpartition("@")[2])


def origin_form(target: str) -> str:
    """Return *target* in origin form: its path and query, as a file server maps it.

    An origin-form target comes back as it is; an absolute-form one loses its
    scheme and authority (``http://h/a?b`` gives ``/a?b``, ``http://h`` gives
    ``/``).  The asterisk and authority forms come back as they are.
    """
    if target.startswith("/"):
        return target
    path = target.partition("?")[0]
    scheme_end = path.find("://")
    if scheme_end <= 0:
        return target
    start = scheme_end + 3
    slash = path.find("/", start)
    if slash >= 0:
        return target[slash:]
    return "/" + target[len(path) :]


def below_prefix(target: str, prefix: str) -> str | None:
    """Return the origin form of *target* below the mount *prefix*, or ``None``.

    *prefix* is ``""`` (the root, which holds every path) or starts with ``/`` and
    has no trailing ``/``.  ``below_prefix("/static/a.css?v=2", "/static")`` gives
    ``"/a.css?v=2"``, the prefix alone gives ``"/"``, and a path the prefix does
    not hold gives ``None``.
    """
    url = origin_form(target)
    if not prefix:
        return url
    if not url.startswith(prefix):
        return None
    rest = url[len(prefix) :]
    if not rest or rest[0] == "?":
        return "/" + rest
    return rest if rest[0] == "/" else None


def check_prefix(prefix: str) -> str:
    """Return *prefix* as a mount names it (``/static``: a leading slash, none after).

    Raises :exc:`ValueError` for the root, which is what a table's handler serves
    itself, and for a prefix holding a query, a fragment or a percent-escape, which
    no request path could be compared with.
    """
    text = "/" + prefix.strip("/")
    if text == "/" or not prefix.startswith("/"):
        raise ValueError("a mount prefix is a path below the root, such as /static: %r" % prefix)
    if any(char in text for char in "?#%") or "//" in text:
        raise ValueError("a mount prefix cannot hold '?', '#', '%%' or '//': %r" % prefix)
    return text
