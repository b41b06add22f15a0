"""The push-style scanners agree with the pull parsers that serve, on any bytes, split any way.

A scanner says NEED_MORE exactly when the pull parser, given the same bytes from a
socket that has nothing more yet, would wait; and READY exactly when the parser would
finish or fail on what has arrived (and then the head's end, or the body's length, is
where the parser stopped).  The pull parsers run over a source that raises
:class:`Blocked` where a socket would block, so "would wait" is observed, not guessed.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from devserve.http11 import DEFAULT_LIMITS, ChunkedReader, Limits, ProtocolError
from devserve.http11.head import parse_request, read_request_line
from devserve.http11.scanning import BodyScanner, HeadScanner, Progress, body_to_gather


class Blocked(Exception):
    """The parser asked for bytes that have not arrived: a socket would block here."""


class Arrived:
    """A line source over the bytes that have arrived so far; reading past them blocks."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.position = 0

    def readline(self, size: int = -1, /) -> bytes:
        start = self.position
        newline = self.data.find(b"\n", start)
        end = len(self.data) + 1 if newline < 0 else newline + 1
        if size >= 0 and end - start > size:
            end = start + size
        if end > len(self.data):
            raise Blocked
        self.position = end
        return self.data[start:end]

    def read(self, size: int = -1, /) -> bytes:
        if size < 0 or self.position + size > len(self.data):
            raise Blocked
        self.position += size
        return self.data[self.position - size : self.position]


SMALL = Limits(
    max_request_line=40,
    max_field_line=30,
    max_fields=5,
    max_head_size=120,
    max_chunk_line=12,
    max_chunk_size_digits=3,
    max_body_size=60,
)
LIMITS = [pytest.param(Limits(), id="default-limits"), pytest.param(SMALL, id="small-limits")]

HEAD_PIECES = [
    b"GET / HTTP/1.1\r\n", b"GET /a HTTP/1.0\r\n", b"POST http://h/x HTTP/1.1\r\n",
    b"GET /\r\n", b"GET / HTTP/2.0\r\n", b"OPTIONS * HTTP/1.1\r\n", b"CONNECT h:1 HTTP/1.1\r\n",
    b"GET x HTTP/1.1\r\n", b"Host: h\r\n", b"Host: h\n", b"X: " + b"y" * 40 + b"\r\n",
    b"A: b\r\n", b"\r\n", b"\n", b" fold\r\n", b"GET  /  HTTP/1.1\r\n", b"\x16\x03\x01",
    b"  GET / HTTP/1.0\r\n", b"GET / HTTP/01.1\r\n", b"Content-Length: 3\r\n", b"\r", b"G",
    b"/" * 45,
]  # fmt: skip
heads = st.lists(st.sampled_from(HEAD_PIECES) | st.binary(max_size=6), max_size=12).map(b"".join)


def pull_head(data: bytes, strict: bool, limits: Limits) -> tuple[str, int]:
    """Run the serving parser on *data*: ("blocked" | "done" | "error", bytes read)."""
    source = Arrived(data)
    try:
        raw = read_request_line(source, strict=strict, limits=limits)
        parse_request(raw, source, strict=strict, limits=limits)
    except Blocked:
        return "blocked", source.position
    except ProtocolError:
        return "error", source.position
    return "done", source.position


def splits(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(cut, len(data)) for cut in cuts} | {len(data)})
    pieces, start = [], 0
    for point in points:
        pieces.append(data[start:point])
        start = point
    return pieces


@pytest.mark.parametrize("limits", LIMITS)
@pytest.mark.parametrize("strict", [True, False], ids=["strict", "lenient"])
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=heads, cuts=st.lists(st.integers(0, 200), max_size=6))
@example(data=b"\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\nBODY", cuts=[1, 3])
@example(data=b"GET / HTTP/1.1\r\nHost: h\n\r\n", cuts=[])
@example(data=b"GET /\r\nHost: h\r\n", cuts=[5])
def test_head_scanner_agrees_with_the_parser_at_every_prefix(
    data: bytes, cuts: list[int], strict: bool, limits: Limits
) -> None:
    scanner = HeadScanner(strict=strict, limits=limits)
    fed = b""
    for piece in splits(data, cuts):
        fed += piece
        progress = scanner.feed(piece)
        outcome, used = pull_head(fed, strict, limits)
        if progress is Progress.NEED_MORE:
            assert outcome == "blocked", (fed, outcome)
            continue
        if fed[:1] and scanner.end is None and outcome == "blocked":
            # The one rule of its own: bytes that cannot start a request (a TLS
            # ClientHello) are handed over at once for the handler to refuse.
            assert fed[0] not in b"!#$%&'*+-.^_`|~\r\n"
            assert not fed[:1].isalnum()
            return
        assert outcome in ("done", "error"), (fed, outcome)
        if scanner.end is not None:
            assert used == scanner.end  # the head read in full, valid or not
        return


CHUNK_PIECES = [
    b"5\r\n", b"hello\r\n", b"0\r\n", b"\r\n", b"3;ext=1\r\n", b"abc\r\n", b"x\r\n", b"\n",
    b"10\r\n", b"T: v\r\n", b"Content-Length: 1\r\n", b"ffffff\r\n", b"abcX", b"5\n", b"0" * 14,
    b"2\r\nhi\r\n", b"0\r\n\r\n", b"\r",
]  # fmt: skip
chunked_bodies = st.lists(st.sampled_from(CHUNK_PIECES) | st.binary(max_size=5), max_size=14).map(
    b"".join
)


def pull_chunked(data: bytes, limits: Limits) -> tuple[str, int]:
    source = Arrived(data)
    reader = ChunkedReader(source, limits)
    try:
        while reader.read(7):
            pass
    except Blocked:
        return "blocked", source.position
    except ProtocolError:
        return "error", source.position
    return "done", source.position


@pytest.mark.parametrize("limits", LIMITS)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=chunked_bodies, cuts=st.lists(st.integers(0, 120), max_size=6))
@example(data=b"5\r\nhello\r\n0\r\nT: v\r\n\r\nNEXT", cuts=[2, 9])
@example(data=b"0\r\nContent-Length: 1\r\n\r\n", cuts=[])  # a forbidden trailer
@example(data=b"0\r\nT: v\r\n\n", cuts=[])  # a bare LF ends the trailers
@example(data=b"0\r\n" + b"T: v\r\n" * 6, cuts=[])  # too many trailer lines (small limits)
@example(data=b"3\r\nabcX\r\n", cuts=[6])
def test_chunked_body_scanner_agrees_with_the_reader_at_every_prefix(
    data: bytes, cuts: list[int], limits: Limits
) -> None:
    scanner = BodyScanner(None, limits)
    fed = b""
    used = 0
    for piece in splits(data, cuts):
        fed += piece
        used += scanner.feed(piece)
        outcome, position = pull_chunked(fed, limits)
        if scanner.progress is Progress.NEED_MORE:
            assert outcome == "blocked", (fed, outcome)
            assert used == len(fed)
            continue
        assert outcome == ("error" if scanner.failed else "done"), (fed, outcome)
        if not scanner.failed:
            assert used == position == scanner.size
        return


def read_chunked(data: bytes, limits: Limits) -> bytes | None:
    """The body the pull reader decodes from *data*, or ``None`` if it meets an error."""
    reader = ChunkedReader(Arrived(data), limits)
    decoded = b""
    try:
        while piece := reader.read(7):
            decoded += piece
    except (Blocked, ProtocolError):
        return None
    return decoded


@pytest.mark.parametrize("limits", LIMITS)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=chunked_bodies, cuts=st.lists(st.integers(0, 120), max_size=6))
@example(data=b"5\r\nhello\r\n2;x=y\r\nhi\r\n0\r\nT: v\r\n\r\nNEXT", cuts=[2, 9, 20])
@example(data=b"3\r\nabcX\r\n", cuts=[4])
def test_a_decoding_body_scanner_gives_the_data_the_reader_decodes(
    data: bytes, cuts: list[int], limits: Limits
) -> None:
    # Rule 4: the chunks' data, without framing, as the pull reader reads it, taken
    # in whatever pieces the bytes arrived.
    scanner = BodyScanner(None, limits, decode=True)
    decoded = b""
    for piece in splits(data, cuts):
        scanner.feed(piece)
        decoded += scanner.take_data()
    assert scanner.take_data() == b""
    if scanner.progress is Progress.READY and not scanner.failed:
        assert decoded == read_chunked(data[: scanner.size], limits)
    elif scanner.progress is Progress.NEED_MORE:
        got = read_until_blocked(ChunkedReader(Arrived(data), limits))
        assert decoded[: len(got)] == got  # what a reader could take, the scanner gave


def read_until_blocked(reader: ChunkedReader) -> bytes:
    got = b""
    try:
        while piece := reader.read(1):
            got += piece
    except Blocked:
        return got
    raise AssertionError("the reader found the end the scanner is still waiting for")


def test_a_body_scanner_that_does_not_decode_keeps_nothing() -> None:
    scanner = BodyScanner(None)
    scanner.feed(b"5\r\nhello\r\n0\r\n\r\n")
    assert scanner.progress is Progress.READY
    assert not scanner.failed
    assert scanner.take_data() == b""
    length = BodyScanner(5, decode=True)  # a body of known length has no framing to drop
    assert length.feed(b"hello") == 5
    assert length.take_data() == b""


@pytest.mark.parametrize(
    ("length", "pieces", "taken", "ready"),
    [
        (0, [b"GET"], [0], True),
        (5, [b"he", b"llo", b"GET"], [2, 3, 0], True),
        (5, [b"hello GET"], [5], True),
        (5, [b"hell"], [4], False),
    ],
    ids=["empty", "pieces-then-next-request", "one-piece-with-next-request", "short"],
)
def test_length_body_scanner_takes_exactly_the_body(
    length: int, pieces: list[bytes], taken: list[int], ready: bool
) -> None:
    scanner = BodyScanner(length)
    assert [scanner.feed(piece) for piece in pieces] == taken
    assert (scanner.progress is Progress.READY) == ready
    assert not scanner.failed


def test_head_scanner_reports_where_the_head_ends() -> None:
    scanner = HeadScanner(strict=True)
    assert scanner.feed(b"GET / HTTP/1.1\r\nHo") is Progress.NEED_MORE
    assert scanner.end is None
    assert scanner.feed(b"st: h\r\n\r\nbody") is Progress.READY
    assert scanner.end == len(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    assert bytes(scanner.data) == b"GET / HTTP/1.1\r\nHost: h\r\n\r\nbody"


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", None),
        (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", None),
        (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n", 5),
        (b"POST / HTTP/1.1\r\nHost: a\r\ncOnTeNt-LeNgTh: 7\r\n\r\n", 7),
        (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", "chunked"),
        # The handler answers these first: the expectation, the 413, the 400.
        (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n", None),
        (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n", None),
        (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", None),
        (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5x\r\n\r\n", None),
    ],
)
def test_body_to_gather_follows_the_parsers_framing(head: bytes, expected: object) -> None:
    limits = DEFAULT_LIMITS.replace(max_body_size=10)
    body = body_to_gather(head, strict=True, limits=limits)
    if expected is None:
        assert body is None
        return
    assert body is not None
    assert body.progress is Progress.NEED_MORE
    if expected == "chunked":
        assert body.feed(b"3\r\nabc\r\n0\r\n\r\nGET") == 13
    else:
        assert isinstance(expected, int)
        assert body.feed(b"x" * (expected + 3)) == expected
    assert body.progress is Progress.READY
    assert not body.failed
