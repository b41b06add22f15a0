"""Replay every request in tests/vectors/ to the socket-free core and check its outcome.

Each case is replayed whole (``parse_request_head`` on bytes) and through an
:class:`io.BufferedReader` whose raw stream hands the bytes over in pieces: one
piece, one line at a time, one byte at a time and at random cut points.  The
outcome - the parsed values, or the error class, status and stage - must be the
one written in the case's JSON file, whatever the split.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any

import pytest

from support.vectors import (
    ALL,
    VECTORS,
    PieceReader,
    Vector,
    decode,
    outcome,
    split_lines,
    split_random,
)


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
