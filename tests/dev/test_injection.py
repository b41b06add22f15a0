"""The live-reload script in pages: where it goes, and what is never touched.

Files go through PageScript (the files handler's page_transform hook), apps through
LiveReloadMiddleware; both over a real socket on 127.0.0.1.
"""

from __future__ import annotations

import gzip
import http.client
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devserve import SimpleHTTPRequestHandler, WSGIHandler
from devserve.dev.injection import LiveReloadMiddleware, PageScript, inject_script
from devserve.dev.livereload import LiveReload
from devserve.testing import serve_in_thread
from support.sockets import CLIENT_TIMEOUT

S = b"<script>S</script>"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"<html><body><p>x</p></body></html>", b"<html><body><p>x</p>" + S + b"</body></html>"),
        (b"<BODY>x</BODY >", b"<BODY>x" + S + b"</BODY >"),
        (b"<body><!-- </body> -->x</body>", b"<body><!-- </body> -->x" + S + b"</body>"),
        (b"<head><title>t</title></head><p>x", b"<head><title>t</title>" + S + b"</head><p>x"),
        (b"<p>no head, no body", b"<p>no head, no body" + S),
        (b"", S),
        (b"<body>x</bodyguard>", b"<body>x</bodyguard>" + S),
        ("<body>café</body>".encode(), "<body>café".encode() + S + b"</body>"),
    ],
    ids=["body", "upper-and-space", "last-body-wins", "head-only", "neither", "empty",
         "not-a-body-tag", "utf-8"],
)  # fmt: skip
def test_inject_script_places(body: bytes, expected: bytes) -> None:
    assert inject_script(body, S) == expected


def quiet(self: Any, format: str, *args: Any) -> None:
    pass


def files_handler(directory: Path, livereload: LiveReload, **attributes: Any) -> type:
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("directory", str(directory))
        SimpleHTTPRequestHandler.__init__(self, *args, **kwargs)

    attributes = {
        "page_transform": PageScript(livereload), "responders": (livereload,),
        "__init__": __init__, "log_message": quiet,
        "protocol_version": "HTTP/1.1", "etags": True, "precompressed": True,
        "cache_control": "no-cache", **attributes,
    }  # fmt: skip
    return type("Files", (SimpleHTTPRequestHandler,), attributes)


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "page.html").write_text("<html><body><h1>Hi</h1></body></html>")
    (tmp_path / "bare.html").write_text("<h1>No body tag</h1>")
    (tmp_path / "data.json").write_text('{"html": "</body>"}')
    (tmp_path / "style.css").write_text("body { color: red }")
    (tmp_path / "zipped.html").write_text("<body>plain</body>")
    with gzip.open(tmp_path / "zipped.html.gz", "wb") as f:
        f.write(b"<body>gzipped</body>")
    (tmp_path / "sub").mkdir()
    return tmp_path


@pytest.fixture
def files(site: Path) -> Iterator[tuple[str, int, LiveReload]]:
    livereload = LiveReload()
    with serve_in_thread(files_handler(site, livereload)) as server:
        yield server.host, server.port, livereload


def request(
    address: tuple[str, int, Any], path: str, method: str = "GET", **headers: str
) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection(address[0], address[1], timeout=CLIENT_TIMEOUT)
    try:
        connection.request(method, path, headers={"Host": "localhost", **headers})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def test_page_gets_the_script_with_a_fixed_length_and_no_validators(files: Any) -> None:
    status, headers, body = request(files, "/page.html")
    script = files[2].script()
    assert status == 200
    assert body == b"<html><body><h1>Hi</h1>" + script + b"</body></html>"
    assert headers["content-length"] == str(len(body))
    assert headers["cache-control"] == "no-store"
    assert "etag" not in headers
    assert "last-modified" not in headers
    assert "accept-ranges" not in headers


def test_page_without_body_gets_it_at_the_end(files: Any) -> None:
    _status, _headers, body = request(files, "/bare.html")
    assert body == b"<h1>No body tag</h1>" + files[2].script()


def test_head_announces_the_injected_length(files: Any) -> None:
    _s, get_headers, body = request(files, "/page.html")
    status, headers, head_body = request(files, "/page.html", "HEAD")
    assert (status, head_body) == (200, b"")
    assert headers["content-length"] == get_headers["content-length"] == str(len(body))


def test_conditional_and_range_requests_get_the_whole_page(files: Any) -> None:
    # An ETag of the file alone would give a 304 for a page holding an old script.
    status, _headers, body = request(
        files, "/page.html", **{"If-None-Match": "*", "Range": "bytes=0-3"}
    )
    assert status == 200
    assert files[2].script() in body


def test_precompressed_page_is_served_plain_with_the_script(files: Any) -> None:
    status, headers, body = request(files, "/zipped.html", **{"Accept-Encoding": "gzip"})
    assert status == 200
    assert "content-encoding" not in headers
    assert body.startswith(b"<body>plain")
    assert files[2].script() in body


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/data.json", {}),
        ("/style.css", {}),
        ("/zipped.html.gz", {}),
        ("/missing.html", {}),
        ("/page.html", {"Sec-Fetch-Dest": "empty"}),
    ],
    ids=["json", "css", "gzip-file", "404", "fetched-by-a-script"],
)
def test_other_responses_are_untouched(
    files: Any, site: Path, path: str, headers: dict[str, str]
) -> None:
    status, response_headers, body = request(files, path, **headers)
    assert files[2].script() not in body
    if status == 200:
        assert body == (site / path.lstrip("/")).read_bytes()
        assert response_headers["content-length"] == str(len(body))


def test_listing_gets_the_script(files: Any) -> None:
    status, headers, body = request(files, "/sub/")
    assert status == 200
    assert files[2].script() + b"</body>" in body
    assert headers["content-length"] == str(len(body))


def test_redirect_and_not_modified_keep_their_heads(files: Any) -> None:
    status, headers, body = request(files, "/sub")
    assert (status, headers["location"], body) == (301, "/sub/", b"")
    _status, css_headers, _body = request(files, "/style.css")
    status, _headers, body = request(files, "/style.css", **{"If-None-Match": css_headers["etag"]})
    assert (status, body) == (304, b"")


# -- WSGI applications ----------------------------------------------------------


def app(environ: dict[str, Any], start_response: Any) -> Any:
    path = environ["PATH_INFO"]
    if path == "/page":
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                                  ("Content-Length", "24"), ("ETag", '"v1"')])  # fmt: skip
        return [b"<body>", b"<p>page</p>", b"</body>"]
    if path == "/error":
        start_response("500 Internal Server Error", [("Content-Type", "text/html")])
        return [b"<h1>Traceback</h1>"]
    if path == "/generator":
        return generator(start_response)
    if path == "/gzip":
        data = gzip.compress(b"<body>x</body>")
        start_response("200 OK", [("Content-Type", "text/html"), ("Content-Encoding", "gzip")])
        return [data]
    if path == "/utf16":
        start_response("200 OK", [("Content-Type", "text/html; charset=UTF-16")])
        return ["<body>x</body>".encode("utf-16")]
    if path == "/partial":
        start_response("206 Partial Content", [("Content-Type", "text/html"),
                                               ("Content-Range", "bytes 6-10/20")])  # fmt: skip
        return [b"<p>pa"]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"<body>text</body>"]


def generator(start_response: Any) -> Iterator[bytes]:
    start_response("200 OK", [("Content-Type", "text/html")])
    yield b"<head></head>"
    yield b"<p>streamed"


@pytest.fixture
def wsgi() -> Iterator[tuple[str, int, LiveReload]]:
    livereload = LiveReload()
    handler = type("Quiet", (WSGIHandler,), {"log_message": quiet})
    with serve_in_thread(LiveReloadMiddleware(app, livereload), handler_class=handler) as server:
        yield server.host, server.port, livereload


def test_app_page_and_error_page_get_the_script(wsgi: Any) -> None:
    script = wsgi[2].script()
    status, headers, body = request(wsgi, "/page")
    assert (status, body) == (200, b"<body><p>page</p>" + script + b"</body>")
    assert headers["content-length"] == str(len(body))
    assert "etag" not in headers
    status, _headers, body = request(wsgi, "/error")
    assert (status, body) == (500, b"<h1>Traceback</h1>" + script)


def test_app_generator_page_gets_the_script_in_its_head(wsgi: Any) -> None:
    _status, headers, body = request(wsgi, "/generator")
    assert body == b"<head>" + wsgi[2].script() + b"</head><p>streamed"
    assert headers["content-length"] == str(len(body))


def test_app_head_grows_the_length_only(wsgi: Any) -> None:
    status, headers, body = request(wsgi, "/page", "HEAD")
    assert (status, body) == (200, b"")
    assert headers["content-length"] == str(24 + len(wsgi[2].script()))


@pytest.mark.parametrize(
    ("path", "headers", "expected"),
    [
        ("/gzip", {}, gzip.compress(b"<body>x</body>")),
        ("/utf16", {}, "<body>x</body>".encode("utf-16")),
        ("/text", {}, b"<body>text</body>"),
        ("/page", {"Sec-Fetch-Dest": "empty"}, b"<body><p>page</p></body>"),
        ("/partial", {}, b"<p>pa"),
    ],
    ids=["compressed", "utf-16", "not-html", "fetched-by-a-script", "part-of-a-page"],
)
def test_app_other_bodies_pass_untouched(
    wsgi: Any, path: str, headers: dict[str, str], expected: bytes
) -> None:
    _status, _headers, body = request(wsgi, path, **headers)
    if path == "/gzip":
        assert gzip.decompress(body) == b"<body>x</body>"
    else:
        assert body == expected
