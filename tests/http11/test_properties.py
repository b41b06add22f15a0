"""Hypothesis properties of the socket-free core.

* Any bytes either parse or raise :class:`ProtocolError` - never another exception.
* The outcome does not depend on how the bytes are split between reads.
* ``ChunkedWriter`` output decodes back through ``ChunkedReader``.
* Header fields serialised with ``field_line`` parse back to the same pair.
"""

from __future__ import annotations

import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devserve.http11 import (
    DEFAULT_LIMITS,
    BadFraming,
    ChunkedReader,
    ChunkedWriter,
    Limits,
    content_length_value,
    field_line,
    parse_fields,
)
from support.vectors import PieceReader, outcome

PROPERTY = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SMALL = Limits(
    max_request_line=64,
    max_field_line=64,
    max_fields=6,
    max_head_size=256,
    max_chunk_line=32,
    max_chunk_size_digits=4,
    max_body_size=512,
)

# Pieces that make the parser's decisions matter: separators, line ends, framing
# fields, chunk syntax and the bytes that have fooled Python servers before.
FRAGMENTS = [
    b"GET",
    b"POST",
    b"OPTIONS",
    b"CONNECT",
    b"get",
    b" ",
    b"  ",
    b"\t",
    b"/",
    b"*",
    b"/a?b",
    b"http://h/",
    b"h:80",
    b"#",
    b"HTTP/1.1",
    b"HTTP/1.0",
    b"HTTP/2.0",
    b"HTTP/0.9",
    b"HTTP/01.1",
    b"\r\n",
    b"\n",
    b"\r",
    b"\r\n\r\n",
    b"Host: a",
    b"Host:",
    b"Host: a@b",
    b"Content-Length: ",
    b"Transfer-Encoding: ",
    b"chunked",
    b"gzip, ",
    b",",
    b"identity",
    b"Connection: close",
    b"Expect: 100-continue",
    b"X: y",
    b":",
    b"0",
    b"5",
    b"a",
    b"F",
    b"ffffffffffffffffff",
    b"+",
    b"-",
    b"_",
    b"0x",
    b";",
    b"=",
    b'"',
    b"\\",
    b"hello",
    b"\x00",
    b"\x0b",
    b"\x7f",
    b"\x85",
    b"\xa0",
    b"\xe2\x84\xaa",
    b"\xd9\xa5",
]
requests = st.lists(st.sampled_from(FRAGMENTS), max_size=40).map(b"".join)
any_bytes = st.one_of(st.binary(max_size=200), requests)


def _outcome(data: bytes, strict: bool, limits: Limits, pieces: list[bytes] | None) -> object:
    # outcome() turns a ProtocolError into a value; any other exception fails the test.
    source = data if pieces is None else io.BufferedReader(PieceReader(pieces), 5)
    return outcome(source, strict=strict, limits=limits, how="read")


@PROPERTY
@given(any_bytes, st.booleans(), st.sampled_from([DEFAULT_LIMITS, SMALL]))
def test_any_bytes_parse_or_raise_protocol_error(data: bytes, strict: bool, limits: Limits) -> None:
    result = _outcome(data, strict, limits, None)
    assert isinstance(result, dict)


@PROPERTY
@given(any_bytes, st.booleans(), st.data())
def test_outcome_is_invariant_under_splitting(
    data: bytes, strict: bool, draw: st.DataObject
) -> None:
    cuts = sorted(draw.draw(st.sets(st.integers(1, max(1, len(data) - 1)), max_size=10)))
    cuts = [cut for cut in cuts if cut < len(data)]
    pieces = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
    assert _outcome(data, strict, SMALL, pieces) == _outcome(data, strict, SMALL, None)


@PROPERTY
@given(
    st.lists(st.binary(max_size=300), max_size=8),
    st.lists(st.integers(1, 40), min_size=1, max_size=5),
    st.integers(1, 50),
)
def test_chunked_round_trip(chunks: list[bytes], cuts: list[int], read_size: int) -> None:
    wire = b"".join(ChunkedWriter.chunk(chunk) for chunk in chunks) + ChunkedWriter.last_chunk()
    pieces, position = [], 0
    for cut in cuts * (len(wire) // sum(cuts) + 1):
        pieces.append(wire[position : position + cut])
        position += cut
    source = io.BufferedReader(PieceReader(pieces), 3)
    reader = ChunkedReader(source)
    parts = []
    while part := reader.read(read_size):
        parts.append(part)
    assert b"".join(parts) == b"".join(chunks)
    assert reader.done
    assert source.read() == b""


TCHAR = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
VCHAR = "".join(chr(c) for c in [*range(0x21, 0x7F), *range(0x80, 0x100)])
names = st.text(TCHAR, min_size=1, max_size=20)
values = st.one_of(
    st.just(""),
    st.builds(
        lambda first, middle, last: first + middle + last,
        st.text(VCHAR, min_size=1, max_size=1),
        st.text(VCHAR + " \t", max_size=30),
        st.text(VCHAR, min_size=1, max_size=1),
    ),
    st.text(VCHAR, min_size=1, max_size=1),
)


@PROPERTY
@given(st.lists(st.tuples(names, values), max_size=6), st.booleans())
def test_header_fields_round_trip(fields: list[tuple[str, str]], strict: bool) -> None:
    lines = [field_line(name, value) for name, value in fields]
    parsed = parse_fields(lines, strict=strict)
    assert [(n.decode("latin-1"), v.decode("latin-1")) for n, v in parsed] == fields


@PROPERTY
@given(st.text("0123456789", min_size=1, max_size=18))
def test_content_length_digits_are_decimal(digits: str) -> None:
    assert content_length_value(digits.encode()) == int(digits, 10)


@PROPERTY
@given(st.binary(max_size=12).filter(lambda b: not b.isdigit() or not b.isascii()))
def test_content_length_refuses_anything_but_digits(value: bytes) -> None:
    try:
        content_length_value(value)
    except BadFraming:
        return
    raise AssertionError(f"{value!r} was accepted as a Content-Length")
