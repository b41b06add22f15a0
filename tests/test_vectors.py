"""Replay every request in tests/vectors/ to the socket-free core and check its outcome.

Each case is replayed whole (``parse_request_head`` on bytes) and through an
:class:`io.BufferedReader` whose raw stream hands the bytes over in pieces: one
piece, one line at a time, one byte at a time and at random cut points.  The
outcome - the parsed values, or the error class, status and stage - must be the
one written in the case's JSON file, whatever the split.
"""

from __future__ import annotations

import io
import json
import random
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from devserve.http11 import (
    ChunkedReader,
    LengthReader,
    Limits,
    ProtocolError,
    parse_request_head,
)

VECTORS = Path(__file__).parent / "vectors"
_ESCAPE = re.compile(r"\\(x[0-9a-f]{2}|[rnt\\])")


def decode(text: str) -> bytes:
    """Turn a .http file's text into the bytes it stands for (see vectors/README.md)."""
    if any("\\" in part for part in _ESCAPE.split(text)[::2]):
        raise ValueError("unknown escape in vector text")
    out = bytearray()
    position = 0
    for match in _ESCAPE.finditer(text):
        out += text[position : match.start()].replace("\n", "").encode("ascii")
        code = match[1]
        if code[0] == "x":
            out += bytes.fromhex(code[1:])
        else:
            out += {"r": b"\r", "n": b"\n", "t": b"\t", "\\": b"\\"}[code]
        position = match.end()
    out += text[position:].replace("\n", "").encode("ascii")
    return bytes(out)


@dataclass
class Vector:
    name: str
    data: bytes
    spec: dict[str, Any]

    def expected(self, mode: str) -> dict[str, Any]:
        return dict(self.spec.get(mode) or self.spec["expect"])

    @property
    def limits(self) -> Limits:
        return Limits(**self.spec.get("limits", {}))


def load_vectors() -> list[Vector]:
    vectors = []
    for path in sorted(VECTORS.glob("*/*.http")):
        spec = json.loads(path.with_suffix(".json").read_text(encoding="ascii"))
        name = f"{path.parent.name}/{path.stem}"
        vectors.append(Vector(name, decode(path.read_text(encoding="ascii")), spec))
    return vectors


ALL = load_vectors()


class PieceReader(io.RawIOBase):
    """A raw stream whose every ``readinto`` returns at most the next piece."""

    def __init__(self, pieces: list[bytes]) -> None:
        self._pieces = deque(piece for piece in pieces if piece)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if not self._pieces:
            return 0
        piece = self._pieces.popleft()
        size = min(len(buffer), len(piece))
        buffer[:size] = piece[:size]
        if size < len(piece):
            self._pieces.appendleft(piece[size:])
        return size


def split_lines(data: bytes) -> list[bytes]:
    return [piece for piece in re.split(b"(?<=\n)", data) if piece]


def split_random(data: bytes, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(1, len(data)), max(0, min(len(data) - 1, 12))))
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]


def read_body(reader: ChunkedReader | LengthReader, how: str) -> bytes:
    if how == "read":
        return reader.read()
    parts = []
    while True:
        part = reader.read(1) if how == "read1" else reader.readline()
        if not part:
            return b"".join(parts)
        parts.append(part)


def outcome(
    source: bytes | io.BufferedReader, *, strict: bool, limits: Limits, how: str
) -> dict[str, Any]:
    """Parse one request from *source*; return what happened, as the JSON files spell it."""
    stage = "head"
    try:
        if isinstance(source, bytes):
            head, used = parse_request_head(source, strict=strict, limits=limits)
            stream: Any = io.BytesIO(source[used:])
        else:
            head, used = parse_request_head(source, strict=strict, limits=limits)
            stream = source
        stage = "body"
        trailers: list[list[str]] = []
        if head.chunked:
            framing = "chunked"
            chunked = ChunkedReader(stream, limits)
            body = read_body(chunked, how)
            assert chunked.done
            trailers = [[n.decode("latin-1"), v.decode("latin-1")] for n, v in chunked.trailers]
        elif head.content_length is not None:
            framing = "length"
            sized = LengthReader(stream, head.content_length)
            body = read_body(sized, how)
            assert sized.done
        else:
            framing, body = "none", b""
        rest = stream.read()
    except ProtocolError as error:
        return {"error": type(error).__name__, "status": error.status, "stage": stage}
    line = head.line
    return {
        "method": line.method,
        "target": line.target,
        "version": line.version,
        "headers": [list(field) for field in head.fields],
        "framing": framing,
        "body": body.decode("latin-1"),
        "trailers": trailers,
        "rest": rest.decode("latin-1"),
        "connection": list(head.connection),
    }


def replays(data: bytes) -> Iterator[tuple[str, bytes | io.BufferedReader, str]]:
    yield "whole bytes", data, "read"
    yield "one piece", io.BufferedReader(PieceReader([data])), "read"
    yield "by line", io.BufferedReader(PieceReader(split_lines(data))), "readline"
    yield (
        "byte by byte",
        io.BufferedReader(PieceReader([data[i : i + 1] for i in range(len(data))])),
        "read1",
    )
    for seed in range(3):
        yield (
            f"random split {seed}",
            io.BufferedReader(PieceReader(split_random(data, seed)), 7),
            "read",
        )


def _cases() -> Iterator[Any]:
    for vector in ALL:
        for mode in ("strict", "lenient"):
            yield pytest.param(vector, mode, id=f"{vector.name}-{mode}")


@pytest.mark.parametrize(("vector", "mode"), list(_cases()))
def test_vector(vector: Vector, mode: str) -> None:
    expected = vector.expected(mode)
    if "error" not in expected:
        expected.setdefault("rest", "")
    for replay, source, how in replays(vector.data):
        actual = outcome(source, strict=mode == "strict", limits=vector.limits, how=how)
        if "error" in actual or "error" in expected:
            assert actual == expected, replay
        else:
            assert {key: actual[key] for key in expected} == expected, replay


def test_corpus_size_and_pairs() -> None:
    http = {p.with_suffix("") for p in VECTORS.glob("*/*.http")}
    specs = {p.with_suffix("") for p in VECTORS.glob("*/*.json")}
    assert http == specs
    assert len(ALL) >= 200


def test_corpus_covers_the_catalogue() -> None:
    # Row 34 (slowloris) is a matter of timeouts, tested over real sockets, not bytes.
    rows = set()
    for vector in ALL:
        for ref in vector.spec["refs"]:
            rows.update(int(n) for n in re.findall(r"A3 #(\d+)", ref))
    assert rows >= set(range(1, 36)) - {34}


def test_every_spec_is_well_formed() -> None:
    keys = {
        "error",
        "status",
        "stage",
        "method",
        "target",
        "version",
        "headers",
        "framing",
        "body",
        "trailers",
        "rest",
        "connection",
    }
    for vector in ALL:
        assert vector.spec["about"], vector.name
        assert vector.spec["refs"], vector.name
        assert ("expect" in vector.spec) != ("strict" in vector.spec and "lenient" in vector.spec)
        for mode in ("strict", "lenient"):
            assert set(vector.expected(mode)) <= keys, vector.name


@pytest.mark.parametrize(
    ("text", "data"),
    [("GET\\r\\n\n", b"GET\r\n"), ("\\x00\\t\\\\", b"\x00\t\\"), ("a\nb", b"ab")],
    ids=["crlf", "hex-tab-backslash", "newlines-ignored"],
)
def test_decode(text: str, data: bytes) -> None:
    assert decode(text) == data


def test_decode_refuses_unknown_escapes() -> None:
    with pytest.raises(ValueError, match="unknown escape"):
        decode("\\q")


def test_piece_reader_hands_over_one_piece_at_a_time() -> None:
    raw = PieceReader([b"ab", b"", b"cd"])
    small, large = bytearray(1), bytearray(8)
    assert (raw.readinto(small), bytes(small)) == (1, b"a")
    assert (raw.readinto(large), bytes(large[:1])) == (1, b"b")
    assert (raw.readinto(large), bytes(large[:2])) == (2, b"cd")
    assert raw.readinto(large) == 0
    assert split_random(b"", 0) == [b""]
    assert b"".join(split_random(b"abcdef", 1)) == b"abcdef"
