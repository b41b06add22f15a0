"""The proxy's rewrites as raw vectors: backend URLs, targets, fields, Location, Set-Cookie."""

from __future__ import annotations

import pytest

from devserve.proxy.headers import (
    Backend,
    backend_target,
    parse_backend,
    request_fields,
    response_fields,
    rewrite_cookie,
    rewrite_location,
)

KEEP = parse_backend("http://127.0.0.1:5000")
V1 = parse_backend("http://127.0.0.1:5000/v1")
ROOT = parse_backend("http://localhost:5173/")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:5000", Backend("http://127.0.0.1:5000", "127.0.0.1", 5000, None)),
        (
            "http://localhost:5173/v1/",
            Backend("http://localhost:5173/v1/", "localhost", 5173, "/v1"),
        ),
        ("ws://[::1]:8080/", Backend("ws://[::1]:8080/", "::1", 8080, "")),
        ("http://127.0.0.2", Backend("http://127.0.0.2", "127.0.0.2", 80, None)),
    ],
    ids=["ipv4", "localhost-path", "ipv6-ws-root", "default-port"],
)
def test_parse_backend(url: str, expected: Backend) -> None:
    assert parse_backend(url) == expected


@pytest.mark.parametrize(
    "url",
    ["https://127.0.0.1:5000", "127.0.0.1:5000", "http://", "http://127.0.0.1:5000/?q=1",
     "http://u:p@127.0.0.1:5000", "http://127.0.0.1:99999", "http://example.com",
     "http://10.0.0.1:5000", "http://localhost.example.com"],
    ids=["https", "no-scheme", "no-host", "query", "userinfo", "bad-port", "remote-name",
         "remote-address", "localhost-lookalike"],
)  # fmt: skip
def test_bad_backends_are_usage_errors(url: str) -> None:
    with pytest.raises(ValueError, match=r"backend|URL|port"):
        parse_backend(url)


def test_remote_backend_allowed_by_option() -> None:
    assert parse_backend("http://10.0.0.1:5000", allow_remote=True).host == "10.0.0.1"
    with pytest.raises(ValueError, match="--proxy-allow-remote"):
        parse_backend("http://10.0.0.1:5000")


@pytest.mark.parametrize(
    ("backend", "target", "expected"),
    [
        (KEEP, "/api/x?q=1", "/api/x?q=1"),
        (KEEP, "/api", "/api"),
        (V1, "/api/x?q=1", "/v1/x?q=1"),
        (V1, "/api", "/v1"),
        (V1, "/api?q", "/v1?q"),
        (ROOT, "/api/x", "/x"),
        (ROOT, "/api", "/"),
        (ROOT, "/api?q", "/?q"),
        (KEEP, "http://devserve:8000/api/x", "/api/x"),
    ],
    ids=["kept", "kept-prefix", "path", "path-prefix", "path-query", "root", "root-prefix",
         "root-query", "absolute-form"],
)  # fmt: skip
def test_backend_target(backend: Backend, target: str, expected: str) -> None:
    assert backend_target(backend, "/api", target) == expected


def test_request_fields() -> None:
    fields = [
        ("Host", "localhost:8000"), ("Connection", "keep-alive, X-Private"),
        ("Keep-Alive", "timeout=5"), ("X-Private", "1"), ("TE", "trailers"),
        ("Transfer-Encoding", "chunked"), ("Content-Length", "3"), ("Upgrade", "h2c"),
        ("Proxy-Authorization", "secret"), ("Trailer", "X"), ("Expect", "100-continue"),
        ("Accept", "*/*"), ("X-Forwarded-For", "10.1.1.1"), ("Cookie", "a=1"),
    ]  # fmt: skip
    connection = ("keep-alive", "x-private")
    assert request_fields(fields, connection, backend=KEEP, client="127.0.0.9", proto="http") == [
        ("Host", "localhost:8000"), ("Accept", "*/*"), ("Cookie", "a=1"),
        ("X-Forwarded-For", "10.1.1.1, 127.0.0.9"), ("X-Forwarded-Proto", "http"),
        ("X-Forwarded-Host", "localhost:8000"),
    ]  # fmt: skip


def test_change_origin_and_websocket() -> None:
    fields = [("Host", "localhost:8000"), ("Connection", "Upgrade"), ("Upgrade", "websocket"),
              ("X-Forwarded-Proto", "https"), ("Sec-WebSocket-Key", "k")]  # fmt: skip
    out = request_fields(fields, ("upgrade",), backend=ROOT, client="::1", proto="http",
                         change_origin=True, websocket=True)  # fmt: skip
    assert out == [
        ("Host", "localhost:5173"), ("X-Forwarded-Proto", "https"), ("Sec-WebSocket-Key", "k"),
        ("X-Forwarded-For", "::1"), ("X-Forwarded-Host", "localhost:8000"),
        ("Connection", "Upgrade"), ("Upgrade", "websocket"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("backend", "location", "expected"),
    [
        (KEEP, "http://127.0.0.1:5000/api/login?next=/", "http://me:8000/api/login?next=/"),
        (KEEP, "http://localhost:5000/api/x", "http://me:8000/api/x"),
        (KEEP, "http://127.0.0.1:5000", "http://me:8000/"),
        (KEEP, "/api/login", "/api/login"),
        (V1, "http://127.0.0.1:5000/v1/login", "http://me:8000/api/login"),
        (V1, "/v1/login", "/api/login"),
        (V1, "/v1", "/api"),
        (V1, "/v10/login", "/v10/login"),
        (V1, "/other", "/other"),
        (V1, "http://127.0.0.1:5000/other", "http://127.0.0.1:5000/other"),
        (KEEP, "http://127.0.0.1:5001/x", "http://127.0.0.1:5001/x"),
        (KEEP, "https://example.com/x", "https://example.com/x"),
        (V1, "//example.com/v1/x", "//example.com/v1/x"),
        (V1, "login", "login"),
        (ROOT, "/", "/api"),
        (ROOT, "/x", "/api/x"),
    ],
    ids=["origin", "loopback-alias", "origin-alone", "path-kept", "origin-path", "abs-path",
         "abs-path-base", "not-below", "outside-path", "origin-outside-path", "other-port",
         "other-site", "scheme-relative", "relative", "root-slash", "root-path"],
)  # fmt: skip
def test_rewrite_location(backend: Backend, location: str, expected: str) -> None:
    assert rewrite_location(location, backend, "/api", "http://me:8000") == expected


@pytest.mark.parametrize(
    ("backend", "cookie", "expected"),
    [
        (KEEP, "s=1; Domain=127.0.0.1; Path=/api; HttpOnly", "s=1; Path=/api; HttpOnly"),
        (KEEP, "s=1; domain=.localhost; path=/", "s=1; path=/"),
        (KEEP, "s=1; Domain=example.com", "s=1; Domain=example.com"),
        (V1, "s=1; Path=/v1/admin; Secure", "s=1; Path=/api/admin; Secure"),
        (V1, "s=1; Path=/", "s=1; Path=/"),
        (ROOT, "s=1; Path=/", "s=1; Path=/api"),
        (ROOT, "s=1; Expires=Wed, 21 Oct 2026 07:28:00 GMT",
         "s=1; Expires=Wed, 21 Oct 2026 07:28:00 GMT"),
    ],
    ids=["backend-domain", "loopback-domain", "other-domain", "path-mapped", "path-outside",
         "root-path", "expires-comma"],
)  # fmt: skip
def test_rewrite_cookie(backend: Backend, cookie: str, expected: str) -> None:
    assert rewrite_cookie(cookie, backend, "/api") == expected


def test_response_fields() -> None:
    fields = [("Content-Type", "text/plain"), ("Connection", "close, X-Hop"), ("X-Hop", "1"),
              ("Transfer-Encoding", "chunked"), ("Content-Length", "5"), ("Keep-Alive", "t=1"),
              ("Location", "/v1/x"), ("Set-Cookie", "a=1; Path=/v1"), ("Set-Cookie", "b=2"),
              ("Upgrade", "websocket"), ("Proxy-Authenticate", "Basic")]  # fmt: skip
    connection = {"close", "x-hop"}
    assert response_fields(fields, connection, backend=V1, prefix="/api", origin="http://me") == [
        ("Content-Type", "text/plain"), ("Location", "/api/x"), ("Set-Cookie", "a=1; Path=/api"),
        ("Set-Cookie", "b=2"),
    ]  # fmt: skip
    upgraded = response_fields(
        [("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Accept", "x")],
        {"upgrade"}, backend=V1, prefix="/api", origin="http://me", upgrade=True,
    )  # fmt: skip
    assert upgraded == [("Upgrade", "websocket"), ("Sec-WebSocket-Accept", "x"),
                        ("Connection", "Upgrade")]  # fmt: skip
