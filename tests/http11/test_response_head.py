"""devserve.http11.response_head: reading a response head, raw-bytes vectors."""

from __future__ import annotations

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devserve.http11 import DEFAULT_LIMITS, ProtocolError
from devserve.http11.errors import (
    BadFraming,
    BadHeader,
    HeaderFieldsTooLarge,
    IncompleteMessage,
    UnsupportedTransferCoding,
)
from devserve.http11.response import Framing
from devserve.http11.response_head import parse_response_head, read_response_head

HELLO = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n"


def test_a_head_is_read_into_status_fields_and_framing() -> None:
    head = parse_response_head(HELLO, "GET")
    assert (head.version, head.status, head.reason) == ("HTTP/1.1", 200, "OK")
    assert head.fields == [("Content-Type", "text/plain"), ("Content-Length", "5")]
    assert (head.framing, head.length, head.closes) == (Framing.LENGTH, 5, False)


@pytest.mark.parametrize(
    ("line", "status", "reason"),
    [
        (b"HTTP/1.1 404 Not Found", 404, "Not Found"),
        (b"HTTP/1.0 200", 200, ""),
        (b"HTTP/1.1 200 ", 200, ""),
        (b"HTTP/1.1 599 Caf\xe9 au lait", 599, "Caf\xe9 au lait"),
    ],
)
def test_status_lines(line: bytes, status: int, reason: str) -> None:
    head = parse_response_head(line + b"\r\nContent-Length: 0\r\n\r\n")
    assert (head.status, head.reason) == (status, reason)


@pytest.mark.parametrize(
    "line",
    [b"HTTP/2 200 OK", b"HTTP/1.1 20 OK", b"HTTP/1.1 600 Odd", b"http/1.1 200 OK",
     b"HTTP/1.1  200 OK", b"ICY 200 OK", b"HTTP/1.1 200 O\x00K", b""],
)  # fmt: skip
def test_bad_status_lines_are_protocol_errors(line: bytes) -> None:
    with pytest.raises(BadFraming, match="status line"):
        parse_response_head(line + b"\r\n\r\n")


def test_bare_lf_line_endings_are_read_as_http_client_reads_them() -> None:
    head = parse_response_head(b"HTTP/1.1 200 OK\nContent-Length: 2\n\n")
    assert (head.fields, head.length) == ([("Content-Length", "2")], 2)
    mixed = parse_response_head(b"HTTP/1.1 200 OK\r\nA: b\n\r\n")
    assert mixed.fields == [("A", "b")]


@pytest.mark.parametrize(
    "field",
    [b" folded", b"Bad Name: x", b"Name : x", b"A: b\x00c", b"A: b\rc", b"no colon"],
)
def test_bad_field_lines_are_protocol_errors(field: bytes) -> None:
    with pytest.raises(BadHeader):
        parse_response_head(b"HTTP/1.1 200 OK\r\n" + field + b"\r\n\r\n")


@pytest.mark.parametrize(
    ("method", "status"),
    [("HEAD", 200), ("GET", 100), ("GET", 103), ("GET", 204), ("GET", 304)],
)
def test_rfc_9112_6_3_no_body(method: str, status: int) -> None:
    data = b"HTTP/1.1 %d X\r\nContent-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n" % status
    head = parse_response_head(data, method)
    assert (head.framing, head.length) == (Framing.NONE, None)


def test_205_is_framed_as_it_says() -> None:
    # What a reader expects is what the head says; body_allowed() is a server's rule.
    head = parse_response_head(b"HTTP/1.1 205 Reset Content\r\nContent-Length: 0\r\n\r\n")
    assert (head.framing, head.length) == (Framing.LENGTH, 0)


def test_chunked_overrides_content_length() -> None:
    data = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n"
    assert parse_response_head(data, "GET").framing is Framing.CHUNKED


def test_codings_other_than_chunked_are_not_decoded() -> None:
    with pytest.raises(UnsupportedTransferCoding):
        parse_response_head(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n")
    with pytest.raises(BadFraming):
        parse_response_head(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n")


def test_two_lengths_must_agree() -> None:
    same = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n"
    assert parse_response_head(same).length == 3
    with pytest.raises(BadFraming, match="Content-Length"):
        parse_response_head(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n")
    with pytest.raises(ProtocolError):
        parse_response_head(b"HTTP/1.1 200 OK\r\nContent-Length: +3\r\n\r\n")


def test_no_length_runs_to_the_close() -> None:
    head = parse_response_head(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n")
    assert (head.framing, head.closes) == (Framing.CLOSE, True)


@pytest.mark.parametrize(
    ("version", "connection", "closes"),
    [
        (b"HTTP/1.1", b"", False),
        (b"HTTP/1.1", b"Connection: close\r\n", True),
        (b"HTTP/1.1", b"Connection: x-a, Close\r\n", True),
        (b"HTTP/1.0", b"", True),
        (b"HTTP/1.0", b"Connection: keep-alive\r\n", False),
    ],
)
def test_whether_the_connection_closes(version: bytes, connection: bytes, closes: bool) -> None:
    data = version + b" 200 OK\r\n" + connection + b"Content-Length: 0\r\n\r\n"
    assert parse_response_head(data).closes is closes


def test_the_options_connection_lists_are_given_lower_cased() -> None:
    data = b"HTTP/1.1 200 OK\r\nConnection: X-Trace, ,close\r\nConnection: Keep-Alive\r\n\r\n"
    assert parse_response_head(data, "HEAD").connection == {"x-trace", "close", "keep-alive"}
    assert parse_response_head(HELLO).connection == frozenset()


def test_limits_bound_the_head() -> None:
    many = b"HTTP/1.1 200 OK\r\n" + b"A: b\r\n" * DEFAULT_LIMITS.max_fields + b"\r\n"
    with pytest.raises(HeaderFieldsTooLarge, match="Too many"):
        parse_response_head(many)
    small = DEFAULT_LIMITS.replace(max_field_line=16, max_head_size=4096)
    with pytest.raises(HeaderFieldsTooLarge, match="too long"):
        parse_response_head(b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 16 + b"\r\n\r\n", None, small)
    with pytest.raises(HeaderFieldsTooLarge, match="too large"):
        parse_response_head(HELLO + b" " * 4096, None, small)


def test_a_line_read_under_loose_limits_is_read_again_under_strict_ones() -> None:
    line = b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n"
    assert parse_response_head(line).length == 1234  # remembered, under the defaults
    strict = DEFAULT_LIMITS.replace(max_content_length_digits=3)
    with pytest.raises(ProtocolError):
        parse_response_head(line, None, strict)


def test_a_head_without_its_blank_line_is_incomplete() -> None:
    with pytest.raises(IncompleteMessage):
        parse_response_head(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n")


# -- reading from a stream --------------------------------------------------------


class Trickle(io.RawIOBase):
    """A raw stream that hands out *data* a few bytes per read, as a slow peer would."""

    def __init__(self, data: bytes, sizes: list[int]) -> None:
        self._data, self._sizes = data, sizes or [1]

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        size = min(len(buffer), self._sizes[0] if len(self._sizes) == 1 else self._sizes.pop(0))
        piece, self._data = self._data[:size], self._data[size:]
        buffer[: len(piece)] = piece
        return len(piece)


def test_reading_leaves_the_body_in_the_stream() -> None:
    stream = io.BufferedReader(Trickle(HELLO + b"hello" + b"HTTP/1.1", [4096]))
    head = read_response_head(stream, "GET")
    assert head.length == 5
    assert stream.read(5) == b"hello"


def test_interim_heads_are_read_one_at_a_time() -> None:
    data = b"HTTP/1.1 100 Continue\r\n\r\n" + HELLO + b"hello"
    stream = io.BufferedReader(Trickle(data, [4096]))
    assert read_response_head(stream, "POST").status == 100
    assert read_response_head(stream, "POST").status == 200
    assert stream.read() == b"hello"


@pytest.mark.parametrize(
    "data",
    [b"", b"HTTP/1.1 200 OK\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"],
    ids=["nothing", "status-line-only", "cut-after-a-field"],
)
def test_a_stream_that_ends_before_the_blank_line_is_incomplete(data: bytes) -> None:
    # A head the connection's close cut is not a whole answer (its blank line never came).
    with pytest.raises(IncompleteMessage):
        read_response_head(io.BufferedReader(Trickle(data, [4096])), "GET")


@given(st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=20))
def test_a_head_in_any_pieces_reads_as_the_whole(sizes: list[int]) -> None:
    data = b"HTTP/1.1 301 Moved\r\nLocation: /a\r\nX: y\nContent-Length: 3\r\n\r\nabc"
    stream = io.BufferedReader(Trickle(data, list(sizes)))
    head = read_response_head(stream, "GET")
    assert head == parse_response_head(data[:-3], "GET")
    assert stream.read(3) == b"abc"


def test_an_http_1_0_response_with_transfer_encoding_closes() -> None:
    # RFC 9112 §6.1: its framing cannot be trusted, keep-alive or not.
    data = b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n"
    assert parse_response_head(data, "GET").closes is True


@pytest.mark.parametrize("sizes", [[4096], [1]], ids=["whole", "byte-by-byte"])
def test_both_ways_of_reading_agree_at_the_limits(sizes: list[int]) -> None:
    # A status line of exactly max_request_line bytes, and a bare-LF head of exactly
    # max_head_size bytes, are read alike whether they arrive whole or in pieces.
    status = b"HTTP/1.1 200 " + b"R" * 7  # 20 bytes
    limits = DEFAULT_LIMITS.replace(max_request_line=len(status))
    head = status + b"\r\nContent-Length: 0\r\n\r\n"
    stream = io.BufferedReader(Trickle(head + b"next", list(sizes)))
    assert read_response_head(stream, "GET", limits).reason == "R" * 7
    assert stream.read() == b"next"
    longer = io.BufferedReader(Trickle(b"HTTP/1.1 200 RRRRRRRR\r\n\r\n", list(sizes)))
    with pytest.raises(HeaderFieldsTooLarge):
        read_response_head(longer, "GET", limits)
    bare = b"HTTP/1.1 200 OK\nA: b\n\n"
    exact = DEFAULT_LIMITS.replace(max_head_size=len(bare))
    assert read_response_head(io.BufferedReader(Trickle(bare, list(sizes))), "GET", exact).fields
