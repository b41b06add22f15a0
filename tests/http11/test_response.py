"""devserve.http11.response: status lines, header fields, dates, body rules."""

from __future__ import annotations

import pytest

from devserve.http11 import body_allowed, check_field, field_line, http_date, response, status_line
from devserve.http11.response import HOP_BY_HOP_FIELDS, check_reason, connection_options


def test_http_date_of_a_timestamp() -> None:
    assert http_date(0) == "Thu, 01 Jan 1970 00:00:00 GMT"
    assert http_date(784111777) == "Sun, 06 Nov 1994 08:49:37 GMT"


def test_http_date_now_is_cached_per_second(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [784111777.25]
    monkeypatch.setattr(response.time, "time", lambda: now[0])
    first = http_date()
    assert first == "Sun, 06 Nov 1994 08:49:37 GMT"
    now[0] = 784111777.75
    assert http_date() is first
    now[0] = 784111778.0
    assert http_date() == "Sun, 06 Nov 1994 08:49:38 GMT"


def test_status_line() -> None:
    assert status_line("HTTP/1.1", 404, "Not Found") == b"HTTP/1.1 404 Not Found\r\n"
    assert status_line("HTTP/1.0", 200, "Caf\xe9") == b"HTTP/1.0 200 Caf\xe9\r\n"


@pytest.mark.parametrize("reason", ["a\rb", "a\nb", "a\x00b"], ids=["cr", "lf", "nul"])
def test_reason_refuses_line_breaks(reason: str) -> None:
    with pytest.raises(ValueError, match="invalid reason phrase"):
        status_line("HTTP/1.1", 200, reason)
    with pytest.raises(ValueError, match="invalid reason phrase"):
        check_reason(reason)


def test_field_line() -> None:
    assert field_line("X-A", "b\tc") == b"X-A: b\tc\r\n"
    assert field_line("X-A", "") == b"X-A: \r\n"


@pytest.mark.parametrize(
    ("name", "value", "match"),
    [
        ("", "v", "invalid header name"),
        ("X A", "v", "invalid header name"),
        ("X:", "v", "invalid header name"),
        ("X\r\nY", "v", "invalid header name"),
        ("\xe9", "v", "invalid header name"),
        ("X", "a\r\nSet-Cookie: s=1", "invalid header value"),
        ("X", "a\nb", "invalid header value"),
        ("X", "a\rb", "invalid header value"),
        ("X", "a\x00", "invalid header value"),
    ],
    ids=[
        "empty-name",
        "space-name",
        "colon-name",
        "crlf-name",
        "non-ascii-name",
        "response-splitting",
        "lf",
        "cr",
        "nul",
    ],
)
def test_fields_refuse_response_splitting(name: str, value: str, match: str) -> None:
    # gunicorn CVE-2018-1000164, uvicorn CVE-2020-7695: CR/LF from the app reached the wire.
    with pytest.raises(ValueError, match=match):
        check_field(name, value)
    with pytest.raises(ValueError, match=match):
        field_line(name, value)


@pytest.mark.parametrize(
    ("code", "method", "allowed"),
    [
        (100, "GET", False),
        (101, "GET", False),
        (199, None, False),
        (200, "GET", True),
        (200, "HEAD", False),
        (204, "GET", False),
        (205, "GET", False),
        (206, "GET", True),
        (304, "GET", False),
        (404, None, True),
        (500, "POST", True),
    ],
    ids=["100", "101", "199", "200", "head", "204", "205", "206", "304", "404", "500"],
)
def test_body_allowed(code: int, method: str | None, allowed: bool) -> None:
    # Regression: 205 Reset Content was allowed a body (RFC 9110 §15.3.6 forbids it).
    assert body_allowed(code, method) is allowed


# -- framing: decided here for do_* handlers, WSGI applications and CGI scripts alike ----

from devserve.http11.response import (  # noqa: E402
    Framing,
    can_chunk,
    choose_framing,
    connection_field,
    parse_status,
)


@pytest.mark.parametrize(
    ("request_version", "protocol_version", "allowed"),
    [
        ("HTTP/1.1", "HTTP/1.1", True),
        ("HTTP/1.0", "HTTP/1.1", False),
        ("HTTP/1.1", "HTTP/1.0", False),
        ("HTTP/0.9", "HTTP/1.1", False),
    ],
    ids=["both-1.1", "client-1.0", "server-1.0", "client-0.9"],
)
def test_chunking_needs_both_parties_at_http11(
    request_version: str, protocol_version: str, allowed: bool
) -> None:
    assert can_chunk(request_version, protocol_version) is allowed


@pytest.mark.parametrize(
    ("code", "method", "length", "chunked", "framing"),
    [
        (200, "GET", 5, True, Framing.LENGTH),
        (200, "GET", None, True, Framing.CHUNKED),
        (200, "GET", None, False, Framing.CLOSE),
        (200, "HEAD", 5, True, Framing.NONE),
        (204, "GET", None, True, Framing.NONE),
        (304, "GET", 5, True, Framing.NONE),
        (101, "GET", None, True, Framing.NONE),
        (500, "POST", 0, False, Framing.LENGTH),
    ],
    ids=["length", "chunked", "close", "head", "204", "304", "101", "empty-length"],
)
def test_choose_framing(
    code: int, method: str, length: int | None, chunked: bool, framing: Framing
) -> None:
    assert choose_framing(code, method, length=length, chunked=chunked) is framing


@pytest.mark.parametrize(
    ("close", "framing", "announce", "version", "value"),
    [
        (True, Framing.CLOSE, False, "HTTP/1.1", "close"),  # only closing ends the body
        (False, Framing.CLOSE, False, "HTTP/1.1", "close"),
        (True, Framing.LENGTH, False, "HTTP/1.1", None),  # the stdlib says nothing
        (True, Framing.LENGTH, True, "HTTP/1.1", "close"),
        (False, Framing.LENGTH, True, "HTTP/1.1", None),
        (False, Framing.CHUNKED, True, "HTTP/1.0", "keep-alive"),
        (False, Framing.LENGTH, True, "HTTP/1.0", "keep-alive"),
        (False, Framing.NONE, False, "HTTP/1.0", None),
    ],
    ids=["delimited", "delimited-persistent", "quiet", "announced-close", "persistent-1.1",
         "chunked-1.0-keep-alive", "keep-alive-1.0", "drop-in-1.0"],
)  # fmt: skip
def test_connection_field(
    close: bool, framing: Framing, announce: bool, version: str, value: str | None
) -> None:
    assert (
        connection_field(close=close, framing=framing, announce=announce, request_version=version)
        == value
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("200 OK", (200, "OK")),
        ("404", (404, None)),
        ("599 Weird\tone", (599, "Weird\tone")),
        ("200  Two spaces", (200, "Two spaces")),
    ],
    ids=["reason", "bare-code", "tab-in-reason", "two-spaces"],
)
def test_parse_status(text: str, expected: tuple[int, str | None]) -> None:
    assert parse_status(text) == expected


@pytest.mark.parametrize(
    "text",
    ["OK", "20 OK", "2000 OK", "600 Nope", "099 Low", "200OK", "200 OK\r\nX: y", "200 \x00",
     "\uff1000 OK"],
    ids=["no-code", "two-digits", "four-digits", "over-599", "under-100", "no-space", "crlf",
         "nul", "unicode-digit"],
)  # fmt: skip
def test_parse_status_refuses(text: str) -> None:
    with pytest.raises(ValueError, match=r"status|reason"):
        parse_status(text)


@pytest.mark.parametrize(
    ("value", "options"),
    [
        ("close", {"close"}),
        ("Keep-Alive, X-Trace", {"keep-alive", "x-trace"}),
        (" upgrade ,\tHTTP2-Settings ", {"upgrade", "http2-settings"}),
        (",, ,close,", {"close"}),
        ("", set()),
    ],
    ids=["one", "case", "blanks", "empty-elements", "empty"],
)
def test_connection_options(value: str, options: set[str]) -> None:
    assert connection_options(value) == options


def test_hop_by_hop_fields_are_the_connection_fields_and_trailer() -> None:
    assert {
        "connection", "proxy-connection", "keep-alive", "te", "transfer-encoding", "upgrade",
        "trailer",
    } == HOP_BY_HOP_FIELDS  # fmt: skip
