"""Content negotiation: which coding and which media type a request accepts.

Rule 1: ``Accept`` and ``Accept-Encoding`` are read with ASCII patterns only; an
element that does not parse is skipped, never an error, because a client's odd
header must not cost it the page.
Rule 2: quality values follow RFC 9110 §12.4.2: ``q=0`` means "not acceptable",
and a missing ``q`` is 1.
Rule 3: no file system here; header values in, choices out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["accepted_qualities", "choose_coding", "prefers_json"]

# One list element: a token (or type/subtype) and its parameters.
_ELEMENT = re.compile(
    r"[ \t]*([!#$%&'*+\-.^_`|~0-9A-Za-z]+(?:/[!#$%&'*+\-.^_`|~0-9A-Za-z]+)?)[ \t]*((?:;[^,]*)?)",
    re.ASCII,
)
# RFC 9110 §12.4.2: qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ).
_QVALUE = re.compile(r";[ \t]*[Qq][ \t]*=[ \t]*(0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?)[ \t]*(?:;|$)")


def _ascii_lower(text: str) -> str:
    # Media types and codings are ASCII tokens; str.lower() would also fold
    # non-ASCII letters, which have no place in them.
    return text.translate(_LOWER)


_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def accepted_qualities(value: str) -> dict[str, float]:
    """Map each element of an ``Accept`` or ``Accept-Encoding`` *value* to its quality.

    Names are lower-cased (ASCII only); an element without ``q`` has quality 1.
    When a name appears twice, the first occurrence wins.
    """
    qualities: dict[str, float] = {}
    for element in value.split(","):
        match = _ELEMENT.fullmatch(element)
        if match is None:
            continue
        name = _ascii_lower(match.group(1))
        params = match.group(2)
        quality = 1.0
        if params:
            found = _QVALUE.search(params)
            if found is not None:
                quality = float(found.group(1))
        qualities.setdefault(name, quality)
    return qualities


def choose_coding(value: str | None, available: Sequence[str]) -> str | None:
    """Return the first coding of *available* that ``Accept-Encoding: value`` allows.

    *available* is in the server's order of preference (e.g. ``("br", "gzip")``).
    ``None`` means the identity coding: no header, nothing acceptable, or a
    preference for identity stronger than any coding on offer.
    """
    if value is None:
        return None
    qualities = accepted_qualities(value)
    star = qualities.get("*", 0.0)
    best: str | None = None
    best_quality = 0.0
    for coding in available:
        quality = qualities.get(coding, star)
        if quality > best_quality:
            best, best_quality = coding, quality
    # Identity is acceptable unless excluded (RFC 9110 §12.5.3); it outranks a
    # coding only when the client ranked it explicitly.
    if qualities.get("identity", 0.0) > best_quality:
        return None
    return best


def prefers_json(value: str | None) -> bool:
    """Whether ``Accept: value`` prefers ``application/json`` to ``text/html``.

    Only an explicit ``application/json`` counts: ``*/*`` alone, as browsers and
    command-line clients send it, keeps the HTML page.
    """
    if value is None:
        return False
    qualities = accepted_qualities(value)
    json_quality = qualities.get("application/json", 0.0)
    if json_quality <= 0.0:
        return False
    html_quality = qualities.get("text/html", qualities.get("text/*", 0.0))
    return json_quality >= html_quality
