"""An atheris target for devserve's request parser and chunked decoder.

Rule: for any bytes, :func:`~devserve.http11.parse_request_head` either returns a head
(having used no more bytes than it was given) or raises
:class:`~devserve.http11.ProtocolError`; the chunked decoder, fed the same bytes whole
and one byte at a time, returns the same body or raises ``ProtocolError`` both ways.
Anything else - another exception, a hang, a difference - is a crash.

Run it with ``tox -e fuzz`` (a few minutes), or by hand::

    python fuzz/fuzz_http11.py -max_total_time=180 fuzz/corpus

A crash leaves ``crash-*`` with the input; turn it into a case under ``tests/vectors/``.
"""

from __future__ import annotations

import io
import sys
from typing import Any

import atheris

with atheris.instrument_imports():
    from devserve.http11 import ChunkedReader, Limits, ProtocolError, parse_request_head
    from devserve.http11.scanning import BodyScanner, HeadScanner, Progress

# Small limits, so the fuzzer reaches every limit's edge with short inputs.
LIMITS = Limits(
    max_request_line=64,
    max_field_line=64,
    max_fields=8,
    max_head_size=256,
    max_chunk_line=32,
    max_body_size=512,
)


class OneByte(io.RawIOBase):
    """A raw stream that hands over one byte per read."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._position = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._position >= len(self._data):
            return 0
        buffer[0] = self._data[self._position]
        self._position += 1
        return 1


def decode_chunked(source: io.BufferedReader) -> bytes | str:
    try:
        return ChunkedReader(source, LIMITS).read()
    except ProtocolError as error:
        return type(error).__name__


def scan(scanner: HeadScanner | BodyScanner, data: bytes, whole: bool) -> Progress:
    pieces = [data] if whole else [data[i : i + 1] for i in range(len(data))]
    for piece in pieces:
        progress = scanner.feed(piece)
        if isinstance(scanner, BodyScanner):
            progress = scanner.progress
        if progress is Progress.READY:
            break
    return progress


def TestOneInput(data: bytes) -> None:
    strict = bool(data[:1]) and data[0] & 1 == 1
    data = data[1:]
    try:
        head, used = parse_request_head(data, strict=strict, limits=LIMITS)
    except ProtocolError:
        pass
    else:
        assert 0 < used <= len(data)
        assert head.line.method
        # The I/O thread's question has the parser's answer, whatever the pieces.
        for whole in (True, False):
            scanner = HeadScanner(strict=strict, limits=LIMITS)
            assert scan(scanner, data, whole) is Progress.READY
            assert scanner.end in (None, used)
    whole = decode_chunked(io.BufferedReader(io.BytesIO(data)))
    split = decode_chunked(io.BufferedReader(OneByte(data), 1))
    assert whole == split, (whole, split)
    ends = {scan(BodyScanner(None, LIMITS), data, w) for w in (True, False)}
    assert len(ends) == 1


def main() -> None:
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
