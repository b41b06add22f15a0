"""devserve.http11.fields: reading and validating header and trailer field lines."""

from __future__ import annotations

import io

import pytest

from devserve.http11 import (
    BadHeader,
    HeaderFieldsTooLarge,
    IncompleteMessage,
    Limits,
    line_content,
    parse_fields,
    read_field_lines,
)


class Lines:
    """A line source that fails the test if read past its last line."""

    def __init__(self, *lines: bytes) -> None:
        self._lines = list(lines)

    def readline(self, size: int = -1, /) -> bytes:
        assert self._lines, "read past the end of the head"
        return self._lines.pop(0)


@pytest.mark.parametrize(
    ("line", "strict", "content"),
    [
        (b"a\r\n", True, b"a"),
        (b"a\r\n", False, b"a"),
        (b"a\n", False, b"a"),
        (b"a", True, None),
        (b"", False, None),
        (b"a\r", True, None),
    ],
    ids=["crlf-strict", "crlf-lenient", "lf-lenient", "no-end", "empty", "cr-only"],
)
def test_line_content(line: bytes, strict: bool, content: bytes | None) -> None:
    assert line_content(line, strict=strict) == content


def test_line_content_refuses_bare_lf_when_strict() -> None:
    with pytest.raises(BadHeader, match="Bare LF"):
        line_content(b"a\n", strict=True)


def test_read_field_lines_stops_at_the_blank_line() -> None:
    source = io.BytesIO(b"A: 1\r\nB: 2\r\n\r\nbody")
    assert read_field_lines(source) == [b"A: 1\r\n", b"B: 2\r\n"]
    assert source.read() == b"body"


def test_bare_lf_blank_line_ends_a_lenient_head() -> None:
    source = io.BytesIO(b"A: 1\n\nbody")
    assert read_field_lines(source, strict=False) == [b"A: 1\n"]
    assert source.read() == b"body"


def test_bare_lf_blank_line_is_refused_before_reading_on() -> None:
    # Regression: strict parsing read on past "\n" into the body (or blocked on a socket).
    with pytest.raises(BadHeader, match="Bare LF"):
        read_field_lines(Lines(b"A: 1\r\n", b"\n"), strict=True)


def test_end_of_input() -> None:
    with pytest.raises(IncompleteMessage):
        read_field_lines(io.BytesIO(b"A: 1\r\n"), strict=True)
    assert read_field_lines(io.BytesIO(b"A: 1\r\n"), strict=False) == [b"A: 1\r\n"]


def test_field_count_matches_http_client() -> None:
    # http.client counts the blank line: 99 fields pass, 100 are "more than 100 headers".
    assert len(read_field_lines(io.BytesIO(b"X: y\r\n" * 99 + b"\r\n"))) == 99
    with pytest.raises(HeaderFieldsTooLarge, match="Too many headers") as info:
        read_field_lines(io.BytesIO(b"X: y\r\n" * 100 + b"\r\n"))
    assert info.value.explain == "got more than 100 headers"


def test_line_and_head_limits() -> None:
    limits = Limits(max_field_line=8, max_head_size=20)
    assert read_field_lines(io.BytesIO(b"A: 123\r\n\r\n"), limits=limits) == [b"A: 123\r\n"]
    with pytest.raises(HeaderFieldsTooLarge, match="Line too long") as info:
        read_field_lines(io.BytesIO(b"A: 12345\r\n\r\n"), limits=limits)
    # The stdlib's explanation, word for word (http.client.LineTooLong).
    assert info.value.explain == "got more than 8 bytes when reading header line"
    assert read_field_lines(io.BytesIO(b"A: 1\r\n\r\n"), limits=limits, head_size=14) == [
        b"A: 1\r\n"
    ]
    with pytest.raises(HeaderFieldsTooLarge, match="Request header fields too large"):
        read_field_lines(io.BytesIO(b"A: 1\r\n\r\n"), limits=limits, head_size=15)


def test_parse_fields_values() -> None:
    lines = [b"Name: \t value \t\r\n", b"Empty:\r\n", b"Obs: \xa0x\xa0\r\n", b"In: a \t b\n"]
    assert parse_fields(lines, strict=False) == [
        (b"Name", b"value"),
        (b"Empty", b""),
        (b"Obs", b"\xa0x\xa0"),
        (b"In", b"a \t b"),
    ]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b" folded\r\n", "Obsolete line folding"),
        (b"\tfolded\r\n", "Obsolete line folding"),
        (b"NoColon\r\n", "without a colon"),
        (b": value\r\n", "Empty header name"),
        (b"Name : value\r\n", "Whitespace before the colon"),
        (b"Name\t: value\r\n", "Whitespace before the colon"),
        (b"Na me: value\r\n", "Invalid character in header name"),
        (b"N\xc3\xa4me: value\r\n", "Invalid character in header name"),
        (b"Name: a\rb\r\n", "Bare CR"),
        (b"Name: a\x00b\r\n", "Invalid character in header value"),
        (b"Name: a\x7f\r\n", "Invalid character in header value"),
        (b"Name: a\x0b\r\n", "Invalid character in header value"),
    ],
    ids=[
        "sp-fold",
        "tab-fold",
        "no-colon",
        "empty-name",
        "sp-colon",
        "tab-colon",
        "space-name",
        "utf8-name",
        "bare-cr",
        "nul",
        "del",
        "vtab",
    ],
)
def test_parse_fields_errors(line: bytes, reason: str) -> None:
    with pytest.raises(BadHeader) as info:
        parse_fields([line], strict=True)
    assert info.value.explain is not None
    assert reason in info.value.explain


def test_parse_fields_incomplete_line() -> None:
    with pytest.raises(IncompleteMessage):
        parse_fields([b"A: 1"], strict=False)
