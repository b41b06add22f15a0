"""devserve.http11.response: status lines, header fields, dates, body rules."""

from __future__ import annotations

import pytest

from devserve.http11 import body_allowed, check_field, field_line, http_date, response, status_line
from devserve.http11.response import check_reason


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
