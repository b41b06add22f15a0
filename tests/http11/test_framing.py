"""devserve.http11.framing: Content-Length, Transfer-Encoding, body readers, keep-alive."""

from __future__ import annotations

import io

import pytest

from devserve.http11 import (
    BadFraming,
    BadHeader,
    BodyTooLarge,
    ChunkedReader,
    ChunkedWriter,
    IncompleteMessage,
    LengthReader,
    Limits,
    UnsupportedTransferCoding,
    content_length_value,
    keep_alive,
    transfer_coding_is_chunked,
)


class Recording(io.BytesIO):
    """A source that remembers the largest read it was asked for."""

    largest = 0

    def read(self, size: int | None = -1, /) -> bytes:
        self.largest = max(self.largest, size or 0)
        return super().read(size)


@pytest.mark.parametrize(
    ("value", "length"),
    [(b"0", 0), (b"5", 5), (b"0005", 5), (b"000", 0), (b"9" * 18, 10**18 - 1)],
    ids=["zero", "five", "leading-zeros", "zeros", "eighteen-digits"],
)
def test_content_length(value: bytes, length: int) -> None:
    assert content_length_value(value) == length


@pytest.mark.parametrize(
    "value",
    [b"", b"+1", b"-1", b"1_0", b"0x5", b" 5", b"5,5", b"\xd9\xa5", b"\xef\xbc\x95", b"5 "],
    ids=[
        "empty",
        "plus",
        "minus",
        "underscore",
        "hex",
        "space",
        "list",
        "arabic",
        "fullwidth",
        "trailing-space",
    ],
)
def test_content_length_refused(value: bytes) -> None:
    with pytest.raises(BadFraming, match="Bad Content-Length"):
        content_length_value(value)


def test_content_length_too_large() -> None:
    with pytest.raises(BodyTooLarge):
        content_length_value(b"1" + b"0" * 18)
    with pytest.raises(BodyTooLarge):
        content_length_value(b"100", Limits(max_content_length_digits=2))


@pytest.mark.parametrize(
    "values",
    [[b"chunked"], [b"Chunked"], [b",chunked,"], [b"", b"chunked"], [b" ,\tchunked"]],
    ids=["plain", "case", "empty-elements", "empty-field", "ows"],
)
def test_transfer_coding_chunked(values: list[bytes]) -> None:
    assert transfer_coding_is_chunked(values) is True


@pytest.mark.parametrize(
    ("values", "error"),
    [
        ([b""], BadFraming),
        ([b"gzip"], BadFraming),
        ([b"chunked, gzip"], BadFraming),
        ([b"chunked", b"chunked"], BadFraming),
        ([b"chunked\xa0"], BadFraming),
        ([b"chun\xe2\x84\xaaed"], BadFraming),
        ([b"gzip, chunked"], UnsupportedTransferCoding),
        ([b"identity", b"chunked"], UnsupportedTransferCoding),
    ],
    ids=[
        "empty",
        "gzip",
        "not-last",
        "twice",
        "nbsp",
        "kelvin",
        "gzip-chunked",
        "identity-chunked",
    ],
)
def test_transfer_coding_refused(values: list[bytes], error: type[Exception]) -> None:
    with pytest.raises(error):
        transfer_coding_is_chunked(values)


def test_unsupported_coding_is_named() -> None:
    with pytest.raises(UnsupportedTransferCoding) as info:
        transfer_coding_is_chunked([b"GZip, chunked"])
    assert info.value.explain == "Transfer coding 'gzip' is not supported"


@pytest.mark.parametrize(
    ("version", "connection", "server_http11", "persists"),
    [
        ((1, 1), (), True, True),
        ((1, 1), ("close",), True, False),
        ((1, 1), ("keep-alive", "close"), True, False),
        ((1, 0), (), True, False),
        ((1, 0), ("keep-alive",), True, True),
        ((1, 0), ("upgrade", "keep-alive"), True, True),
        ((1, 1), (), False, False),
        ((1, 0), ("keep-alive",), False, False),
    ],
    ids=[
        "11",
        "11-close",
        "11-both",
        "10",
        "10-keep-alive",
        "10-token-list",
        "server-10",
        "server-10-keep-alive",
    ],
)
def test_keep_alive(
    version: tuple[int, int], connection: tuple[str, ...], server_http11: bool, persists: bool
) -> None:
    assert keep_alive(version, connection, server_http11=server_http11) is persists


def test_length_reader() -> None:
    source = io.BytesIO(b"ab\ncdefNEXT")
    reader = LengthReader(source, 7)
    assert reader.readline(1) == b"a"
    assert reader.readline() == b"b\n"
    assert reader.read(2) == b"cd"
    assert not reader.done
    assert reader.readline(10) == b"ef"
    assert reader.done
    assert (reader.read(), reader.readline(), source.read()) == (b"", b"", b"NEXT")


def test_length_reader_ends_early() -> None:
    with pytest.raises(IncompleteMessage):
        LengthReader(io.BytesIO(b"abc"), 5).read()
    with pytest.raises(IncompleteMessage):
        LengthReader(io.BytesIO(b"abc"), 5).readline()


def test_length_reader_reads_in_bounded_pieces() -> None:
    # Regression: read() asked the source for the whole declared length at once, and
    # BufferedReader allocates that much before reading (MemoryError on a huge length).
    source = Recording(b"x" * 200_000)
    assert LengthReader(source, 200_000).read() == b"x" * 200_000
    assert source.largest == 1 << 16
    with pytest.raises(IncompleteMessage):
        LengthReader(io.BufferedReader(io.BytesIO(b"abc")), 10**18 - 1).read()


CHUNKED = b"3;ext=1\r\nab\n\r\n4\r\ncd\nX\r\n0\r\nTrailer-One: 1\r\n\r\nNEXT"


def test_chunked_reader() -> None:
    source = io.BytesIO(CHUNKED)
    reader = ChunkedReader(source)
    assert reader.read(0) == b""
    assert reader.read(2) == b"ab"
    assert reader.read(3) == b"\ncd"
    assert reader.read() == b"\nX"
    assert reader.done
    assert reader.read() == b""
    assert reader.trailers == [(b"Trailer-One", b"1")]
    assert source.read() == b"NEXT"


def test_chunked_readline() -> None:
    reader = ChunkedReader(io.BytesIO(CHUNKED))
    assert reader.readline() == b"ab\n"
    assert reader.readline(2) == b"cd"
    assert reader.readline() == b"\n"
    assert reader.readline() == b"X"
    assert reader.readline() == b""


def test_chunked_iteration() -> None:
    assert list(ChunkedReader(io.BytesIO(CHUNKED))) == [b"ab\n", b"cd\nX"]


def test_chunked_reader_reads_in_bounded_pieces() -> None:
    size = 200_000
    source = Recording(b"%x\r\n" % size + b"y" * size + b"\r\n0\r\n\r\n")
    chunks = list(ChunkedReader(source))
    assert b"".join(chunks) == b"y" * size
    assert max(map(len, chunks)) == source.largest == 1 << 16
    # Regression: a 2**64-1 chunk size made read() raise OverflowError, readline() too.
    huge = b"ffffffffffffffff\r\nabc"
    for read in (ChunkedReader.read, ChunkedReader.readline):
        with pytest.raises(IncompleteMessage):
            read(ChunkedReader(io.BufferedReader(io.BytesIO(huge))))


@pytest.mark.parametrize(
    ("wire", "error", "explain"),
    [
        (b"5;" + b"a" * 40 + b"\r\nhello\r\n0\r\n\r\n", BadFraming, "chunk-size line too long"),
        (b"5;abcde\r\nhello\r\n0\r\n\r\n", BadFraming, "chunk-size line too long"),
        (b"5", IncompleteMessage, "closed"),
        (b"z\r\n", BadFraming, "invalid chunk-size line"),
        (b"123\r\n", BadFraming, "chunk size too large"),
        (b"5\r\nhelloXX", BadFraming, "not followed by CRLF"),
        (b"5\r\nhello\r", IncompleteMessage, "closed"),
        (b"5\r\nhello", IncompleteMessage, "closed"),
        (b"9\r\nhello\r\n0\r\n\r\n", BodyTooLarge, "too large"),
    ],
    ids=[
        "line-way-too-long",
        "line-one-over",
        "eof-in-size",
        "not-hex",
        "too-many-digits",
        "no-crlf",
        "eof-at-cr",
        "eof-after-data",
        "body-limit",
    ],
)
def test_chunked_errors(wire: bytes, error: type[Exception], explain: str) -> None:
    limits = Limits(max_chunk_line=8, max_chunk_size_digits=2, max_body_size=8)
    with pytest.raises(error) as info:
        ChunkedReader(io.BytesIO(wire), limits).read()
    assert explain in str(getattr(info.value, "explain", ""))


@pytest.mark.parametrize("name", [b"Content-Length", b"TRANSFER-ENCODING", b"host", b"Trailer"])
def test_forbidden_trailers(name: bytes) -> None:
    wire = b"0\r\n" + name + b": 1\r\n\r\n"
    with pytest.raises(BadHeader) as info:
        ChunkedReader(io.BytesIO(wire)).read()
    assert "not allowed in a trailer" in str(info.value.explain)


def test_chunked_writer() -> None:
    assert ChunkedWriter.chunk(b"") == b""
    assert ChunkedWriter.chunk(b"x" * 26) == b"1a\r\n" + b"x" * 26 + b"\r\n"
    assert ChunkedWriter.last_chunk() == b"0\r\n\r\n"
    wire = ChunkedWriter.chunk(b"ab") + ChunkedWriter.chunk(b"") + ChunkedWriter.last_chunk()
    assert ChunkedReader(io.BytesIO(wire)).read() == b"ab"


@pytest.mark.parametrize(
    ("value", "length"),
    [("12", 12), ("007", 7)],
    ids=["digits", "leading-zeros"],
)
def test_a_response_length_given_as_text_follows_the_same_rule(value: str, length: int) -> None:
    assert content_length_value(value) == length


@pytest.mark.parametrize(
    "value",
    ["+1", "1_0", "\u0661", "12 ", "é"],
    ids=["sign", "underscore", "arabic-digit", "blank", "latin-1-letter"],
)
def test_a_response_length_given_as_text_is_refused_as_bytes_would_be(value: str) -> None:
    with pytest.raises(BadFraming):
        content_length_value(value)
