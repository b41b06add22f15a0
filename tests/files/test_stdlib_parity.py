"""The same requests for files to http.server's and devserve's SimpleHTTPRequestHandler.

Both serve the same tree with their library defaults (HTTP/1.0).  Status, reason,
headers (``Date`` masked) and bodies are compared; documented differences are listed
in DIFFERENT with the reason, and both answers are asserted there.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import threading
from collections.abc import Iterator
from typing import Any

import pytest

import devserve
from devserve.files.handler import SimpleHTTPRequestHandler
from support.sockets import CLIENT_TIMEOUT, read_all


class StdlibQuiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class DevserveQuiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def _serve(server_class: Any, handler: Any) -> tuple[Any, threading.Thread]:
    server = server_class(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    return server, thread


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("site")
    (root / "file.txt").write_bytes(b"0123456789")
    (root / "page.html").write_text("<p>hi</p>")
    (root / "archive.tar.gz").write_bytes(b"\x1f\x8b")
    (root / "dir").mkdir()
    (root / "dir" / "a.txt").write_text("a")
    (root / "dir" / "b & <c>.txt").write_text("b")
    (root / "dir" / "sub").mkdir()
    (root / os.fsdecode(b"undecodable-\xff.bin")).write_bytes(b"odd")
    (root / "indexed").mkdir()
    (root / "indexed" / "index.html").write_text("<h1>index</h1>")
    stdlib, stdlib_thread = _serve(
        http.server.HTTPServer, functools.partial(StdlibQuiet, directory=str(root))
    )
    ours, ours_thread = _serve(
        devserve.HTTPServer, functools.partial(DevserveQuiet, directory=str(root))
    )
    yield {"stdlib": stdlib.server_address, "devserve": ours.server_address, "root": root}
    for server, thread in ((stdlib, stdlib_thread), (ours, ours_thread)):
        server.shutdown()
        server.server_close()
        thread.join(CLIENT_TIMEOUT)


def exchange(address: tuple[str, int], request: bytes) -> bytes:
    import socket

    with socket.create_connection(address, timeout=CLIENT_TIMEOUT) as sock:
        sock.sendall(request)
        return read_all(sock)


def split(response: bytes) -> tuple[str, list[tuple[str, str]], bytes]:
    head, _, body = response.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(": ")
        if name.lower() != "date":
            headers.append((name.lower(), value))
    return lines[0], headers, body


def both(servers: dict[str, Any], request: bytes) -> tuple[Any, Any]:
    return (
        split(exchange(servers["stdlib"], request)),
        split(exchange(servers["devserve"], request)),
    )


def get(target: str, *headers: str, method: str = "GET") -> bytes:
    lines = ["%s %s HTTP/1.0" % (method, target), *headers, "", ""]
    return "\r\n".join(lines).encode("latin-1")


FUTURE = "Fri, 01 Jan 2100 00:00:00 GMT"
PAST = "Thu, 01 Jan 1970 00:00:00 GMT"

SAME = [
    ("file", get("/file.txt")),
    ("file-head", get("/file.txt", method="HEAD")),
    ("gz-type", get("/archive.tar.gz")),
    ("dir-redirect", get("/dir")),
    ("dir-redirect-query", get("/dir?x=1")),
    ("index-page", get("/indexed/")),
    ("dotdot-normalised", get("/dir/../file.txt")),
    ("encoded-dotdot", get("/%2e%2e/file.txt")),
    ("double-slash", get("//file.txt")),
    ("query-dropped", get("/file.txt?a=b#c")),
    ("undecodable-name", get("/undecodable-%ED%B3%BF.bin")),
    ("if-modified-since-future", get("/page.html", "If-Modified-Since: " + FUTURE)),
    ("if-modified-since-past", get("/page.html", "If-Modified-Since: " + PAST)),
    ("if-none-match-star", get("/page.html", "If-None-Match: *", "If-Modified-Since: " + FUTURE)),
]  # fmt: skip

# Only the status line and the headers that say the same thing are compared.
SAME_STATUS = [
    ("missing", get("/missing.txt")),
    ("file-with-slash", get("/file.txt/")),
    ("post", get("/file.txt", method="POST")),
    ("nonexistent-dir", get("/nope/")),
]

# devserve adds Accept-Ranges to every file response: it answers Range (see below).
ADDED_HEADERS = {("accept-ranges", "bytes")}


@pytest.mark.parametrize(("name", "request_bytes"), SAME, ids=[c[0] for c in SAME])
def test_same_answer(servers: dict[str, Any], name: str, request_bytes: bytes) -> None:
    (status, headers, body), (our_status, our_headers, our_body) = both(servers, request_bytes)
    assert our_status == status
    assert [h for h in our_headers if h not in ADDED_HEADERS] == headers
    assert our_body == body


@pytest.mark.parametrize(("name", "request_bytes"), SAME_STATUS, ids=[c[0] for c in SAME_STATUS])
def test_same_status(servers: dict[str, Any], name: str, request_bytes: bytes) -> None:
    """Error pages differ in markup (devserve's has 3.14's dark-mode style)."""
    (status, headers, _body), (our_status, our_headers, _our_body) = both(servers, request_bytes)
    assert our_status == status
    assert dict(our_headers)["connection"] == dict(headers)["connection"] == "close"


HREF = re.compile(rb'href="([^"?]*)"')


@pytest.mark.parametrize("target", ["/dir/", "/", "/dir/?x=123"])
def test_listing_links_and_title(servers: dict[str, Any], target: str) -> None:
    """DIFFERENT: devserve's listing is a table (sizes, dates, sort links, a ``../`` row)."""
    (status, headers, body), (our_status, our_headers, our_body) = both(servers, get(target))
    assert our_status == status
    assert dict(our_headers)["content-type"] == dict(headers)["content-type"]
    assert set(HREF.findall(our_body)) - {b"../"} == set(HREF.findall(body))
    title = re.search(rb"<title>.*</title>", body)
    assert title is not None
    assert title.group(0) in our_body


def test_range_is_answered_by_devserve_only(servers: dict[str, Any]) -> None:
    """DIFFERENT: http.server ignores Range (gh-86809); devserve sends 206."""
    (status, _, body), (our_status, our_headers, our_body) = both(
        servers, get("/file.txt", "Range: bytes=2-4")
    )
    assert status.endswith("200 OK")
    assert body == b"0123456789"
    assert our_status.endswith("206 Partial Content")
    assert ("content-range", "bytes 2-4/10") in our_headers
    assert our_body == b"234"


def test_nul_in_path(servers: dict[str, Any]) -> None:
    """DIFFERENT: http.server's open() raises ValueError and drops the connection; 404 here."""
    stdlib = exchange(servers["stdlib"], get("/%00"))
    ours = exchange(servers["devserve"], get("/%00"))
    assert stdlib == b""
    assert ours.startswith(b"HTTP/1.0 404 ")


def test_fifo(servers: dict[str, Any]) -> None:
    """DIFFERENT: http.server opens a FIFO and blocks a thread forever; 404 here."""
    os.mkfifo(servers["root"] / "pipe")
    try:
        assert exchange(servers["devserve"], get("/pipe")).startswith(b"HTTP/1.0 404 ")
    finally:
        os.unlink(servers["root"] / "pipe")
