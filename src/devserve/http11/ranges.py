"""Byte ranges: the ``Range`` header as values, and the ``multipart/byteranges`` layout.

Rule 1: a ``Range`` value is parsed with explicit ASCII patterns only (no :func:`int`
on unchecked text, no Unicode case folding or whitespace): ``+1``, ``1_0``, Unicode
digits and stray blanks inside a number make the header invalid, and an invalid
header is ignored, never an error (RFC 9110 §14.2: a server MAY ignore ``Range``).
Rule 2: the work is bounded: at most *max_ranges* ranges are considered, and
overlapping ranges are merged in O(n log n), so a header of ten thousand ranges costs
no more than a full response.
Rule 3: no file, socket or clock here; sizes in, ``(first, last)`` pairs and bytes out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

__all__ = [
    "ByteRange",
    "MultipartPart",
    "RangeNotSatisfiable",
    "content_range",
    "multipart_layout",
    "parse_range",
]

# RFC 9110 §14.1.1: ranges-specifier = range-unit "=" range-set; the unit is
# case-insensitive, written here as an explicit ASCII class rather than IGNORECASE.
_SPECIFIER = re.compile(r"[Bb][Yy][Tt][Ee][Ss][ \t]*=[ \t]*(.*)", re.ASCII | re.DOTALL)
# int-range = first-pos "-" [ last-pos ]; suffix-range = "-" suffix-length.
_RANGE_SPEC = re.compile(r"([0-9]*)-([0-9]*)", re.ASCII)
# Numbers this long exceed any file; they are kept symbolic to avoid huge ints.
_MAX_DIGITS = 18
_HUGE = 10**_MAX_DIGITS


class ByteRange(NamedTuple):
    """An inclusive range of byte offsets, ``first`` to ``last``, inside a representation."""

    first: int
    last: int

    @property
    def length(self) -> int:
        """The number of bytes in the range."""
        return self.last - self.first + 1


class RangeNotSatisfiable(Exception):
    """The ``Range`` header is valid but no range overlaps the representation (416)."""

    status = 416


def _number(digits: str) -> int:
    # The pattern matched [0-9]* already; only the length needs bounding here.
    return _HUGE if len(digits) > _MAX_DIGITS else int(digits, 10)


def parse_range(value: str, size: int, *, max_ranges: int = 100) -> list[ByteRange] | None:
    """Return the ranges of a ``Range`` header *value* for a representation of *size* bytes.

    Returns ``None`` when the header should be ignored (and the whole
    representation sent with 200): a unit other than ``bytes``, a syntax error, or
    more than *max_ranges* ranges.  Raises :exc:`RangeNotSatisfiable` when the
    header is valid but no range overlaps the representation.  Ranges past the
    end are clipped, and ranges that overlap or touch are merged (RFC 9110 §14.2
    allows both), so the result never repeats a byte.
    """
    match = _SPECIFIER.fullmatch(value)
    if match is None:
        return None
    specs = match.group(1).split(",")
    if len(specs) > max_ranges:
        return None
    ranges: list[ByteRange] = []
    valid = 0
    for spec in specs:
        spec = spec.strip(" \t")
        if not spec:
            # RFC 9110 §5.6.1: empty list elements are allowed and ignored.
            continue
        found = _RANGE_SPEC.fullmatch(spec)
        if found is None:
            return None
        first_text, last_text = found.groups()
        if first_text:
            first = _number(first_text)
            last = _number(last_text) if last_text else _HUGE
            if last < first:
                return None  # RFC 9110 §14.1.1: an int-range with last < first is invalid
            valid += 1
            if first >= size:
                continue
            ranges.append(ByteRange(first, min(last, size - 1)))
        elif last_text:
            suffix = _number(last_text)
            valid += 1
            if suffix == 0 or size == 0:
                continue
            ranges.append(ByteRange(max(size - suffix, 0), size - 1))
        else:
            return None  # a lone "-"
    if not valid:
        return None
    if not ranges:
        if size == 0:
            # An empty file has no byte to range over; its (empty) 200 serves any client.
            return None
        raise RangeNotSatisfiable("no range overlaps the %d bytes of the representation" % size)
    return _coalesce(ranges)


def _coalesce(ranges: list[ByteRange]) -> list[ByteRange]:
    """Merge overlapping or adjacent ranges; keep the client's order if none touch."""
    if len(ranges) == 1:
        return ranges
    ordered = sorted(ranges, key=lambda r: r.first)
    merged = [ordered[0]]
    touching = False
    for current in ordered[1:]:
        previous = merged[-1]
        if current.first <= previous.last + 1:
            touching = True
            merged[-1] = ByteRange(previous.first, max(previous.last, current.last))
        else:
            merged.append(current)
    return merged if touching else ranges


def content_range(byte_range: ByteRange | None, size: int) -> str:
    """Return a ``Content-Range`` value: ``bytes FIRST-LAST/SIZE``, or ``bytes */SIZE`` for 416."""
    if byte_range is None:
        return "bytes */%d" % size
    return "bytes %d-%d/%d" % (byte_range.first, byte_range.last, size)


class MultipartPart(NamedTuple):
    """One part of a ``multipart/byteranges`` body: its head, then *range* of the file."""

    head: bytes
    range: ByteRange


def multipart_layout(
    ranges: Sequence[ByteRange], size: int, content_type: str, boundary: str
) -> tuple[list[MultipartPart], bytes, int]:
    """Lay out a ``multipart/byteranges`` body (RFC 9110 §14.6).

    Returns the parts (each a head to write, then a range of the file to copy),
    the closing delimiter, and the total body length for ``Content-Length``.
    *boundary* must be a valid boundary (RFC 2046 §5.1.1); *content_type* must
    not hold CR or LF.
    """
    parts: list[MultipartPart] = []
    total = 0
    for byte_range in ranges:
        head = (
            "\r\n--%s\r\nContent-Type: %s\r\nContent-Range: %s\r\n\r\n"
            % (boundary, content_type, content_range(byte_range, size))
        ).encode("latin-1")
        parts.append(MultipartPart(head, byte_range))
        total += len(head) + byte_range.length
    tail = ("\r\n--%s--\r\n" % boundary).encode("latin-1")
    return parts, tail, total + len(tail)
