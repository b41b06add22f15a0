"""devserve.http11.head: request lines and heads, strict and lenient."""

from __future__ import annotations

import io

import pytest

from devserve.http11 import (
    BadFraming,
    BadHeader,
    BadRequestLine,
    BodyTooLarge,
    IncompleteMessage,
    Limits,
    RequestHead,
    RequestLine,
    UnsupportedHTTPVersion,
    URITooLong,
    parse_head,
    parse_request_head,
    parse_request_line,
)


def test_request_line_values() -> None:
    line = parse_request_line(b"PUT /x?y HTTP/1.0", strict=True)
    assert line == RequestLine("PUT", "/x?y", "HTTP/1.0", (1, 0))


@pytest.mark.parametrize(
    ("content", "version", "info"),
    [
        (b"GET  /  HTTP/1.1", "HTTP/1.1", (1, 1)),
        (b"GET / HTTP/01.01", "HTTP/01.01", (1, 1)),
        (b"GET /", "HTTP/0.9", (0, 9)),
        (b"GET / HTTP/0.9", "HTTP/0.9", (0, 9)),
        (b"GET /\xe9 HTTP/1.1", "HTTP/1.1", (1, 1)),
    ],
    ids=["blank-runs", "leading-zeros", "http09", "explicit-09", "non-ascii"],
)
def test_lenient_request_lines(content: bytes, version: str, info: tuple[int, int]) -> None:
    line = parse_request_line(content, strict=False)
    assert (line.method, line.version, line.version_info) == ("GET", version, info)


@pytest.mark.parametrize(
    ("content", "strict", "error", "message"),
    [
        (b"GET / HTTP/1.1 extra", False, BadRequestLine, "Bad request version ('extra')"),
        (b"POST /", False, BadRequestLine, "Bad HTTP/0.9 request type ('POST')"),
        (b"GET / HTTP/2.0", False, UnsupportedHTTPVersion, "Invalid HTTP version (2.0)"),
        (b"GET / HTTP/12.0", False, UnsupportedHTTPVersion, "Invalid HTTP version (12.0)"),
        (b"GET / HTTP/0.9", True, UnsupportedHTTPVersion, "Invalid HTTP version (0.9)"),
        (b"GET", False, BadRequestLine, "Bad request syntax ('GET')"),
        (b"", False, BadRequestLine, "Bad request syntax ('')"),
        (b"G:T / HTTP/1.1", False, BadRequestLine, "Bad request method ('G:T')"),
        (b"GET /\x01 HTTP/1.1", False, BadRequestLine, "Bad request syntax"),
        (b"GET /a b HTTP/1.1", False, BadRequestLine, "Bad request syntax"),
    ],
    ids=[
        "extra",
        "post-09",
        "http2",
        "http12",
        "strict-09",
        "one-word",
        "empty",
        "method",
        "ctl",
        "four-words",
    ],
)
def test_request_line_messages(
    content: bytes, strict: bool, error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as info:
        parse_request_line(content, strict=strict)
    assert str(info.value).startswith(message)


@pytest.mark.parametrize(
    ("content", "version"),
    [
        (b"GET  / HTTP/1.1", "HTTP/1.1"),
        (b"GET /", None),
        (b"GET / HTTP/10.0", None),
        (b"GET foo HTTP/1.0", "HTTP/1.0"),
        (b"CONNECT / HTTP/1.1", "HTTP/1.1"),
    ],
    ids=["blank-runs", "http09", "two-digit-major", "bad-target-1.0", "connect-origin"],
)
def test_strict_errors_carry_the_request_version(content: bytes, version: str | None) -> None:
    # The handler answers with error.version; a target error on HTTP/1.0 must say 1.0.
    with pytest.raises(BadRequestLine) as info:
        parse_request_line(content, strict=True)
    assert info.value.version == version


@pytest.mark.parametrize(
    ("method", "target", "valid"),
    [
        (b"GET", b"/", True),
        (b"GET", b"http://h/p", True),
        (b"OPTIONS", b"*", True),
        (b"CONNECT", b"h:443", True),
        (b"CONNECT", b"[::1]:443", True),
        (b"GET", b"*", False),
        (b"CONNECT", b"/", False),
        (b"CONNECT", b"h", False),
        (b"GET", b"h:80", False),
        (b"GET", b"p", False),
    ],
    ids=[
        "origin",
        "absolute",
        "asterisk",
        "authority",
        "authority-ipv6",
        "get-asterisk",
        "connect-origin",
        "connect-no-port",
        "get-authority",
        "relative",
    ],
)
def test_target_forms(method: bytes, target: bytes, valid: bool) -> None:
    content = method + b" " + target + b" HTTP/1.1"
    if valid:
        assert parse_request_line(content, strict=True).target == target.decode()
    else:
        with pytest.raises(BadRequestLine, match="Bad request target"):
            parse_request_line(content, strict=True)
    assert parse_request_line(content, strict=False).target == target.decode()


LINE = RequestLine("POST", "/", "HTTP/1.1", (1, 1))


def test_parse_head_facts() -> None:
    head = parse_head(
        LINE,
        [
            b"Host: h:1\r\n",
            b"Content-Length: 007\r\n",
            b"Expect: 100-continue\r\n",
            b"Connection: Keep-Alive, ,Upgrade\r\n",
        ],
        strict=True,
    )
    assert head == RequestHead(
        LINE,
        [
            ("Host", "h:1"),
            ("Content-Length", "007"),
            ("Expect", "100-continue"),
            ("Connection", "Keep-Alive, ,Upgrade"),
        ],
        content_length=7,
        connection=("keep-alive", "upgrade"),
        host="h:1",
        expect="100-continue",
    )
    assert not head.chunked


def test_parse_head_chunked() -> None:
    head = parse_head(LINE, [b"Host: h\r\n", b"Transfer-Encoding: chunked\r\n"], strict=True)
    assert (head.chunked, head.content_length) == (True, None)


def test_parse_head_honours_limits() -> None:
    # Regression: parse_head used the default limits for Content-Length digits.
    lines = [b"Host: h\r\n", b"Content-Length: 100\r\n"]
    assert parse_head(LINE, lines, strict=True).content_length == 100
    with pytest.raises(BodyTooLarge):
        parse_head(LINE, lines, strict=True, limits=Limits(max_content_length_digits=2))


@pytest.mark.parametrize(
    ("lines", "error", "explain"),
    [
        ([b"Host: a\r\n", b"Host: a\r\n"], BadHeader, "Duplicate Host"),
        ([b"Host: a b\r\n"], BadHeader, "Invalid Host"),
        ([b"X: y\r\n"], BadHeader, "Missing Host"),
        (
            [b"Host: a\r\n", b"Content-Length: 1\r\n", b"Transfer-Encoding: chunked\r\n"],
            BadFraming,
            "Content-Length with Transfer-Encoding",
        ),
        (
            [b"Host: a\r\n", b"Content-Length: 1\r\n", b"Content-Length: 1\r\n"],
            BadFraming,
            "More than one Content-Length",
        ),
    ],
    ids=["duplicate-host", "bad-host", "missing-host", "cl-te", "two-cl"],
)
def test_parse_head_errors(lines: list[bytes], error: type[Exception], explain: str) -> None:
    with pytest.raises(error) as info:
        parse_head(LINE, lines, strict=True)
    assert explain in str(getattr(info.value, "explain", ""))


def test_transfer_encoding_needs_http11() -> None:
    line = RequestLine("POST", "/", "HTTP/1.0", (1, 0))
    with pytest.raises(BadFraming, match="Bad framing") as info:
        parse_head(line, [b"Transfer-Encoding: chunked\r\n"], strict=False)
    assert "HTTP/1.0" in str(info.value.explain)


def test_lenient_head_without_host() -> None:
    assert parse_head(LINE, [], strict=False).host is None
    assert parse_head(LINE, [b"Host:\r\n"], strict=False).host == ""


def test_parse_request_head_bytes_and_stream() -> None:
    data = b"GET / HTTP/1.1\r\nHost: a\r\n\r\nNEXT"
    head, used = parse_request_head(data)
    assert (head.line.target, used, data[used:]) == ("/", len(data) - 4, b"NEXT")
    stream = io.BufferedReader(io.BytesIO(data))
    head2, used2 = parse_request_head(stream)
    assert (head2, used2, stream.read()) == (head, used, b"NEXT")


def test_parse_request_head_skips_one_empty_line_when_strict() -> None:
    head, used = parse_request_head(b"\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n")
    assert (head.line.method, used) == ("GET", 29)


def test_parse_request_head_http09_reads_no_fields() -> None:
    head, used = parse_request_head(b"GET /x\r\nHost: a\r\n\r\n", strict=False)
    assert (head.line.version, head.fields, used) == ("HTTP/0.9", [], 8)


def test_parse_request_head_line_limit() -> None:
    limits = Limits(max_request_line=17)
    head, _ = parse_request_head(b"GET /1 HTTP/1.0\r\n\r\n", limits=limits)
    assert head.line.target == "/1"
    with pytest.raises(URITooLong):
        parse_request_head(b"GET /12 HTTP/1.0\r\n\r\n", limits=limits)


def test_unsupported_version_has_the_stdlib_explanation() -> None:
    # http.server sends 505 with its default explanation; a text of ours broke parity.
    with pytest.raises(UnsupportedHTTPVersion) as info:
        parse_request_line(b"GET / HTTP/2.0", strict=True)
    assert (info.value.message, info.value.explain) == ("Invalid HTTP version (2.0)", None)


def test_a_head_compares_and_shows_its_values() -> None:
    head, _ = parse_request_head(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    again, _ = parse_request_head(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    assert head == again
    assert head != parse_request_head(b"GET /x HTTP/1.1\r\nHost: h\r\n\r\n")[0]
    assert head != "GET /"
    assert repr(head).startswith("RequestHead(line=RequestLine(method='GET'")
    assert "host='h'" in repr(head)


def test_parse_request_head_finds_no_request_in_a_blank_lenient_line() -> None:
    # The serving path says nothing to a blank line (as http.server); as a whole-head
    # parse, that is a head that never came.
    with pytest.raises(IncompleteMessage):
        parse_request_head(b"\r\n", strict=False)


def test_parse_request_hands_over_the_line_before_reading_the_fields() -> None:
    # A server needs the method and version to answer a fault in the fields after it.
    from devserve.http11.head import parse_request

    seen: list[RequestLine] = []
    source = io.BytesIO(b"Bad Header\r\n\r\n")
    with pytest.raises(BadHeader):
        parse_request(b"POST /x HTTP/1.0\r\n", source, strict=True, on_line=seen.append)
    assert seen == [RequestLine("POST", "/x", "HTTP/1.0", (1, 0))]
