"""Validators and conditional requests: ``ETag``, ``If-None-Match``, ``If-Range``.

Rule 1: an entity tag is compared as RFC 9110 §8.8.3.2 says: weakly for
``If-None-Match`` (``W/"x"`` matches ``"x"``), strongly for ``If-Range`` (a weak tag
never matches).
Rule 2: a malformed header never raises: ``If-None-Match`` that does not parse is
treated as absent, ``If-Range`` that does not parse as a failed condition (the whole
representation is sent, which is always correct).
Rule 3: no file system or clock here; sizes, times and header values in, booleans out.
"""

from __future__ import annotations

import datetime
import re
from email.utils import parsedate_to_datetime

__all__ = [
    "make_etag",
    "modified_since",
    "none_match",
    "parse_entity_tags",
    "range_condition_holds",
]

# RFC 9110 §8.8.3: entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE,
# etagc = %x21 / %x23-7E / obs-text.
_ENTITY_TAG = re.compile(r'[ \t]*(W/)?("[\x21\x23-\x7e\x80-\xff]*")[ \t]*(?:,|$)')
_OWS_COMMA = re.compile(r"[ \t,]*")


def make_etag(size: int, mtime_ns: int, inode: int, variant: str = "") -> str:
    """Return a strong entity tag for a file from its size, modification time and inode.

    The time is in nanoseconds, so two writes within one second still change
    the tag (a ``Last-Modified`` date cannot tell them apart).  *variant* tells
    representations of one file apart, such as ``"br"`` for a precompressed
    sibling.

    .. versionadded:: 0.1
    """
    tag = "%x-%x-%x" % (inode, size, mtime_ns)
    if variant:
        tag += "-" + variant
    return '"%s"' % tag


def parse_entity_tags(value: str) -> list[tuple[bool, str]] | None:
    """Parse a list of entity tags into ``(weak, opaque_tag)`` pairs.

    ``*`` gives an empty list; a malformed value gives ``None``.
    """
    if value.strip(" \t") == "*":
        return []
    tags: list[tuple[bool, str]] = []
    position = _OWS_COMMA.match(value).end()  # type: ignore[union-attr]
    while position < len(value):
        match = _ENTITY_TAG.match(value, position)
        if match is None:
            return None
        tags.append((match.group(1) is not None, match.group(2)))
        position = _OWS_COMMA.match(value, match.end()).end()  # type: ignore[union-attr]
    return tags if tags else None


def none_match(value: str, etag: str) -> bool:
    """Whether ``If-None-Match: value`` matches the current *etag* (so 304 for GET/HEAD).

    ``*`` matches any current representation; otherwise a weak comparison
    (RFC 9110 §13.1.2).  A malformed value never matches.
    """
    tags = parse_entity_tags(value)
    if tags is None:
        return False
    if not tags:
        return True
    opaque = etag[2:] if etag.startswith("W/") else etag
    return any(tag == opaque for _weak, tag in tags)


def range_condition_holds(value: str, etag: str | None, last_modified: int, now: float) -> bool:
    """Whether ``If-Range: value`` lets the ``Range`` header apply (RFC 9110 §13.1.5).

    An entity tag must equal *etag* by strong comparison.  An HTTP-date must equal
    *last_modified* (whole seconds since the epoch) exactly, and that date must be
    a strong validator: at least one second before *now*, the time of the response.
    """
    text = value.strip(" \t")
    if text.startswith(("W/", '"')):
        tags = parse_entity_tags(text)
        if etag is None or not tags or len(tags) != 1:
            return False
        weak, tag = tags[0]
        return not weak and not etag.startswith("W/") and tag == etag
    try:
        date = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return False
    if date.tzinfo is None:
        return False
    seconds = date.timestamp()
    return seconds == last_modified and last_modified <= now - 1


def modified_since(value: str, mtime: float) -> bool:
    """Whether a resource modified at *mtime* is newer than ``If-Modified-Since: value``.

    As in :mod:`http.server`: whole seconds are compared, a date without a zone
    counts as GMT, a date in another zone or one that does not parse counts as
    modified (so the whole resource is sent, which is always correct).
    """
    try:
        since = parsedate_to_datetime(value)
    except (TypeError, IndexError, OverflowError, ValueError):
        return True
    if since.tzinfo is None:
        since = since.replace(tzinfo=datetime.timezone.utc)
    if since.tzinfo is not datetime.timezone.utc:
        return True
    modified = datetime.datetime.fromtimestamp(mtime, datetime.timezone.utc)
    return modified.replace(microsecond=0) > since
