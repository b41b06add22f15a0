"""Range, conditional and negotiation parsing: hostile values as explicit rows."""

from __future__ import annotations

import pytest

from devserve.http11.conditional import (
    make_etag,
    none_match,
    parse_entity_tags,
    range_condition_holds,
)
from devserve.http11.negotiation import accepted_qualities, choose_coding, prefers_json
from devserve.http11.ranges import (
    ByteRange,
    RangeNotSatisfiable,
    content_range,
    multipart_layout,
    parse_range,
)

SIZE = 1000


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("bytes=0-0", [(0, 0)]),
        ("bytes=0-499", [(0, 499)]),
        ("bytes=500-", [(500, 999)]),
        ("bytes=-200", [(800, 999)]),
        ("bytes=-5000", [(0, 999)]),
        ("bytes=900-5000", [(900, 999)]),
        ("BYTES=1-2", [(1, 2)]),
        ("bytes = 1-2", [(1, 2)]),
        ("bytes=1-2, 5-6", [(1, 2), (5, 6)]),
        ("bytes=5-6,1-2", [(5, 6), (1, 2)]),
        ("bytes=0-10,5-20", [(0, 20)]),
        ("bytes=0-10,11-20", [(0, 20)]),
        ("bytes=1-2,,3-4", [(1, 4)]),
        ("bytes=0-1,2000-3000", [(0, 1)]),
        ("bytes=999999999999999999999999999-", None),
    ],
    ids=lambda v: repr(v),
)
def test_parse_range_valid(value: str, expected: list[tuple[int, int]] | None) -> None:
    if expected is None:
        with pytest.raises(RangeNotSatisfiable):
            parse_range(value, SIZE)
        return
    assert parse_range(value, SIZE) == [ByteRange(a, b) for a, b in expected]


@pytest.mark.parametrize(
    "value",
    [
        "bytes=+1-2",
        "bytes=1_0-20",
        "bytes=\u0661-2",  # ARABIC-INDIC DIGIT ONE
        "bytes=1 -2",
        "bytes=5-1",
        "bytes=-",
        "bytes=",
        "bytes=a-b",
        "items=0-1",
        "bytes 0-1",
        "bytes=0x1-2",
        "bytes=1-2;x",
        "byt\u0130s=0-1",  # dotted capital I: no Unicode case folding
    ],
    ids=lambda v: repr(v),
)
def test_parse_range_ignored(value: str) -> None:
    assert parse_range(value, SIZE) is None


@pytest.mark.parametrize(
    "value", ["bytes=1000-", "bytes=5000-6000", "bytes=-0", "bytes=1000-1001,2000-"], ids=repr
)
def test_parse_range_unsatisfiable(value: str) -> None:
    with pytest.raises(RangeNotSatisfiable) as info:
        parse_range(value, SIZE)
    assert info.value.status == 416


def test_parse_range_caps_the_number_of_ranges() -> None:
    many = "bytes=" + ",".join("%d-%d" % (i * 2, i * 2) for i in range(101))
    assert parse_range(many, 10_000, max_ranges=100) is None
    assert parse_range(many, 10_000, max_ranges=101) is not None


def test_parse_range_on_an_empty_file_is_ignored() -> None:
    assert parse_range("bytes=0-", 0) is None


def test_content_range() -> None:
    assert content_range(ByteRange(0, 9), 100) == "bytes 0-9/100"
    assert content_range(None, 100) == "bytes */100"


def test_multipart_layout_length_matches_the_bytes() -> None:
    ranges = [ByteRange(0, 1), ByteRange(5, 9)]
    parts, tail, total = multipart_layout(ranges, 10, "text/plain", "XYZ")
    data = b"0123456789"
    body = b"".join(p.head + data[p.range.first : p.range.last + 1] for p in parts) + tail
    assert len(body) == total
    assert body.startswith(b"\r\n--XYZ\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-1/10")
    assert body.endswith(b"\r\n--XYZ--\r\n")


def test_make_etag_is_strong_and_changes_with_nanoseconds() -> None:
    first = make_etag(10, 1_000_000_001, 7)
    assert first.startswith('"')
    assert first.endswith('"')
    assert first != make_etag(10, 1_000_000_002, 7)
    assert make_etag(10, 1, 7, "br") != make_etag(10, 1, 7)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('"a"', [(False, '"a"')]),
        ('W/"a", "b"', [(True, '"a"'), (False, '"b"')]),
        ("*", []),
        ('"a",,"b"', [(False, '"a"'), (False, '"b"')]),
        ("a", None),
        ('"a', None),
        ('w/"a"', None),
        ("", None),
    ],
    ids=repr,
)
def test_parse_entity_tags(value: str, expected: list[tuple[bool, str]] | None) -> None:
    assert parse_entity_tags(value) == expected


def test_none_match_uses_weak_comparison() -> None:
    assert none_match('"x"', '"x"')
    assert none_match('W/"x"', '"x"')
    assert none_match('"y", "x"', '"x"')
    assert none_match("*", '"x"')
    assert not none_match('"y"', '"x"')
    assert not none_match("garbage", '"x"')


def test_if_range_entity_tag_needs_strong_match() -> None:
    assert range_condition_holds('"x"', '"x"', 0, 100.0)
    assert not range_condition_holds('W/"x"', '"x"', 0, 100.0)
    assert not range_condition_holds('"y"', '"x"', 0, 100.0)
    assert not range_condition_holds('"x"', None, 0, 100.0)


def test_if_range_date_must_equal_and_be_strong() -> None:
    date = "Thu, 01 Jan 1970 00:01:40 GMT"  # 100 s
    assert range_condition_holds(date, None, 100, 200.0)
    assert not range_condition_holds(date, None, 101, 200.0)
    assert not range_condition_holds(date, None, 100, 100.5)  # weak: modified this second
    assert not range_condition_holds("not a date", None, 100, 200.0)
    # "-0000" is an unknown zone (RFC 5322 §3.3): no exact time to compare.
    assert not range_condition_holds("Thu, 01 Jan 1970 00:01:40 -0000", None, 100, 200.0)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("gzip", "gzip"),
        ("gzip, br", "br"),
        ("br;q=0, gzip", "gzip"),
        ("br;q=0.5, gzip;q=0.8", "gzip"),
        ("*", "br"),
        ("*;q=0", None),
        ("identity", None),
        ("gzip;q=0.5, identity;q=1", None),
        ("GZIP", "gzip"),
        ("gzip;q=2", "gzip"),  # a bad qvalue is ignored: quality 1
        ("deflate", None),
    ],
    ids=repr,
)
def test_choose_coding(value: str | None, expected: str | None) -> None:
    assert choose_coding(value, ("br", "gzip")) == expected


def test_accepted_qualities_skips_junk() -> None:
    assert accepted_qualities("text/html;q=0.5, \x00bad, */*") == {"text/html": 0.5, "*/*": 1.0}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, False),
        ("*/*", False),
        ("application/json", True),
        ("text/html,application/json;q=0.9", False),
        ("application/json, text/html;q=0.5", True),
        ("application/json;q=0", False),
    ],
    ids=repr,
)
def test_prefers_json(value: str | None, expected: bool) -> None:
    assert prefers_json(value) is expected
