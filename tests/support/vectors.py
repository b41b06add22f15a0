"""The request corpus in tests/vectors/, and the socket-free way to replay it.

:data:`ALL` is every case as a :class:`Vector` (see tests/vectors/README.md for the
format); :func:`outcome` parses one request from bytes or a buffered stream and says
what happened as the JSON files spell it; :class:`PieceReader` hands bytes over in
pieces, to split a request between reads.
"""

from __future__ import annotations

import io
import json
import random
import re
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devserve.http11 import (
    ChunkedReader,
    LengthReader,
    Limits,
    ProtocolError,
    parse_request_head,
)

VECTORS = Path(__file__).parent.parent / "vectors"
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
