"""SimpleHTTPRequestHandler over real sockets: files, ranges, validators, listings, paths."""

from __future__ import annotations

import email.parser
import email.policy
import functools
import gzip
import http.client
import json
import ntpath
import os
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from devserve.files.handler import SimpleHTTPRequestHandler
from devserve.net.streams import SocketWriter
from support.sockets import CLIENT_TIMEOUT, RunningServer

Serve = Callable[..., RunningServer]
DATA = bytes(range(256)) * 4  # 1 KiB
BIG = os.urandom(300_000)  # above the small-body cut-over: sent with sendfile


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def handler(root: Path, **attributes: Any) -> Any:
    cls = type("Configured", (Quiet,), attributes)
    return functools.partial(cls, directory=str(root))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "data.bin").write_bytes(DATA)
    (tmp_path / "big.bin").write_bytes(BIG)
    (tmp_path / "page.html").write_text("<p>page</p>")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "inner.txt").write_text("inner")
    (tmp_path / "index-dir").mkdir()
    (tmp_path / "index-dir" / "index.html").write_text("<h1>index</h1>")
    return tmp_path


def get(server: RunningServer, path: str, method: str = "GET", **headers: str) -> Any:
    conn = http.client.HTTPConnection(server.host, server.port, timeout=CLIENT_TIMEOUT)
    conn.request(method, path, headers={k.replace("_", "-"): v for k, v in headers.items()})
    response = conn.getresponse()
    response.body = response.read()
    conn.close()
    return response


def raw(server: RunningServer, target: str) -> bytes:
    return server.exchange(b"GET %s HTTP/1.0\r\n\r\n" % target.encode("latin-1"))


# -- files and ranges ----------------------------------------------------------


def test_whole_file_with_requests(serve: Serve, root: Path) -> None:
    server = serve(handler(root))
    response = requests.get(server.url + "/data.bin", timeout=CLIENT_TIMEOUT)
    assert response.status_code == 200
    assert response.content == DATA
    assert response.headers["Content-Length"] == str(len(DATA))
    assert response.headers["Accept-Ranges"] == "bytes"
    assert "Last-Modified" in response.headers
    assert "ETag" not in response.headers  # off in the drop-in class
    assert "Cache-Control" not in response.headers


def test_single_range_with_curl(serve: Serve, root: Path) -> None:
    server = serve(handler(root))
    result = subprocess.run(
        ["curl", "-s", "-i", "-r", "10-19", "--max-time", "5", server.url + "/data.bin"],
        capture_output=True,
        check=True,
    )
    head, _, body = result.stdout.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.0 206 ")
    assert b"Content-Range: bytes 10-19/1024" in head
    assert b"Content-Length: 10" in head
    assert body == DATA[10:20]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("bytes=1000-", DATA[1000:]), ("bytes=-4", DATA[-4:]), ("bytes=0-0", DATA[:1])],
    ids=["open", "suffix", "first-byte"],
)
def test_range_forms(serve: Serve, root: Path, value: str, expected: bytes) -> None:
    response = get(serve(handler(root)), "/data.bin", Range=value)
    assert response.status == 206
    assert response.body == expected


def test_multiple_ranges_are_multipart(serve: Serve, root: Path) -> None:
    response = get(serve(handler(root)), "/data.bin", Range="bytes=0-1, 100-102")
    assert response.status == 206
    ctype = response.getheader("Content-Type")
    assert ctype.startswith("multipart/byteranges; boundary=")
    assert int(response.getheader("Content-Length")) == len(response.body)
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + response.body
    )
    parts = list(message.iter_parts())
    assert [p["Content-Range"] for p in parts] == ["bytes 0-1/1024", "bytes 100-102/1024"]
    assert [p.get_payload(decode=True) for p in parts] == [DATA[0:2], DATA[100:103]]


def test_multiple_ranges_of_a_big_file_use_sendfile(
    serve: Serve, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[int, int | None]] = []
    original = SocketWriter.sendfile

    def spy(
        self: SocketWriter, file: Any, offset: int = 0, count: int | None = None, **kw: Any
    ) -> int:
        calls.append((offset, count))
        return original(self, file, offset, count, **kw)

    monkeypatch.setattr(SocketWriter, "sendfile", spy)
    server = serve(handler(root))
    response = get(server, "/big.bin", Range="bytes=0-99999,200000-299999")
    assert response.status == 206
    assert BIG[:100000] in response.body
    assert BIG[200000:] in response.body
    assert calls == [(0, 100000), (200000, 100000)]
    calls.clear()
    assert get(server, "/big.bin").body == BIG
    assert calls == [(0, len(BIG))]


def test_unsatisfiable_range_is_416(serve: Serve, root: Path) -> None:
    response = get(serve(handler(root)), "/data.bin", Range="bytes=5000-")
    assert response.status == 416
    assert response.getheader("Content-Range") == "bytes */1024"
    assert response.body == b""


@pytest.mark.parametrize(
    "value",
    ["bytes=+1-2", "bytes=\u0661-2", "bytes=5-1", "pages=1-2", "bytes=" + "1-1," * 101 + "1-1"],
    ids=["plus", "unicode-digit", "backwards", "unit", "too-many"],
)
def test_ignored_range_sends_everything(serve: Serve, root: Path, value: str) -> None:
    server = serve(handler(root))
    request = "GET /data.bin HTTP/1.0\r\nRange: %s\r\n\r\n" % value
    response = server.exchange(request.encode("utf-8"))
    assert response.startswith(b"HTTP/1.0 200 ")
    assert response.endswith(DATA)


def test_head_ignores_range(serve: Serve, root: Path) -> None:
    response = get(serve(handler(root)), "/data.bin", "HEAD", Range="bytes=0-1")
    assert response.status == 200
    assert response.getheader("Content-Length") == "1024"
    assert response.body == b""


def test_if_range(serve: Serve, root: Path) -> None:
    server = serve(handler(root, etags=True))
    os.utime(root / "data.bin", (1_000_000_000, 1_000_000_000))
    full = get(server, "/data.bin")
    etag, modified = full.getheader("ETag"), full.getheader("Last-Modified")
    assert get(server, "/data.bin", Range="bytes=0-1", If_Range=etag).status == 206
    assert get(server, "/data.bin", Range="bytes=0-1", If_Range=modified).status == 206
    assert get(server, "/data.bin", Range="bytes=0-1", If_Range='"stale"').status == 200
    assert get(server, "/data.bin", Range="bytes=0-1", If_Range="W/" + etag).status == 200


# -- validators and caching ------------------------------------------------------


def test_etag_and_if_none_match(serve: Serve, root: Path) -> None:
    server = serve(handler(root, etags=True, cache_control="no-cache"))
    first = get(server, "/data.bin")
    etag = first.getheader("ETag")
    assert etag.startswith('"')
    assert first.getheader("Cache-Control") == "no-cache"
    not_modified = get(server, "/data.bin", If_None_Match=etag)
    assert not_modified.status == 304
    assert not_modified.getheader("ETag") == etag
    assert not_modified.getheader("Cache-Control") == "no-cache"
    assert not_modified.body == b""
    assert get(server, "/data.bin", "HEAD", If_None_Match="W/" + etag).status == 304
    assert get(server, "/data.bin", If_None_Match="*").status == 304
    assert get(server, "/data.bin", If_None_Match='"other"').status == 200
    (root / "data.bin").write_bytes(DATA[::-1])
    changed = get(server, "/data.bin", If_None_Match=etag)
    assert changed.status == 200
    assert changed.getheader("ETag") != etag


def test_if_none_match_ignored_without_etags_as_in_the_stdlib(serve: Serve, root: Path) -> None:
    response = get(serve(handler(root)), "/data.bin", If_None_Match="*")
    assert response.status == 200


def test_if_modified_since(serve: Serve, root: Path) -> None:
    server = serve(handler(root))
    modified = get(server, "/data.bin").getheader("Last-Modified")
    assert get(server, "/data.bin", If_Modified_Since=modified).status == 304
    old = "Thu, 01 Jan 1970 00:00:00 GMT"
    assert get(server, "/data.bin", If_Modified_Since=old).status == 200
    assert get(server, "/data.bin", If_Modified_Since="garbage").status == 200


# -- bodies ----------------------------------------------------------------------


def test_subclass_copyfile_is_honoured(serve: Serve, root: Path) -> None:
    class Upper(Quiet):
        def copyfile(self, source: Any, outputfile: Any) -> None:
            outputfile.write(source.read().upper())

    server = serve(functools.partial(Upper, directory=str(root)))
    assert get(server, "/sub/inner.txt").body == b"INNER"


def test_keep_alive_serves_several_files_on_one_connection(serve: Serve, root: Path) -> None:
    server = serve(handler(root, protocol_version="HTTP/1.1"))
    conn = http.client.HTTPConnection(server.host, server.port, timeout=CLIENT_TIMEOUT)
    for path, body in [("/data.bin", DATA), ("/big.bin", BIG), ("/sub/inner.txt", b"inner")]:
        conn.request("GET", path)
        response = conn.getresponse()
        assert response.read() == body
        assert not response.will_close
    conn.request("GET", "/big.bin", headers={"Range": "bytes=1-2,10-20"})
    response = conn.getresponse()
    assert response.status == 206
    response.read()
    conn.close()


def test_precompressed_siblings(serve: Serve, root: Path) -> None:
    (root / "app.js").write_text("let x = 1;\n" * 100)
    (root / "app.js.gz").write_bytes(gzip.compress((root / "app.js").read_bytes()))
    (root / "app.js.br").write_bytes(b"not really brotli")
    server = serve(handler(root, precompressed=True, etags=True))
    gz = get(server, "/app.js", Accept_Encoding="gzip")
    assert gz.getheader("Content-Encoding") == "gzip"
    assert gz.getheader("Vary") == "Accept-Encoding"
    assert gz.getheader("Content-Type") == get(server, "/app.js").getheader("Content-Type")
    assert gzip.decompress(gz.body) == (root / "app.js").read_bytes()
    br = get(server, "/app.js", Accept_Encoding="gzip, br")
    assert br.getheader("Content-Encoding") == "br"
    assert br.body == b"not really brotli"
    assert br.getheader("ETag") != gz.getheader("ETag")
    plain = requests.get(server.url + "/app.js", headers={"Accept-Encoding": "identity"}, timeout=5)
    assert "Content-Encoding" not in plain.headers
    assert plain.headers["Vary"] == "Accept-Encoding"
    # A sibling older than its source is stale and never served.
    os.utime(root / "app.js.gz", (1, 1))
    os.utime(root / "app.js.br", (1, 1))
    assert get(server, "/app.js", Accept_Encoding="gzip, br").getheader("Content-Encoding") is None


def test_precompressed_off_by_default(serve: Serve, root: Path) -> None:
    (root / "a.css").write_text("a{}")
    (root / "a.css.gz").write_bytes(gzip.compress(b"a{}"))
    response = get(serve(handler(root)), "/a.css", Accept_Encoding="gzip")
    assert response.getheader("Content-Encoding") is None
    assert response.body == b"a{}"


# -- listings --------------------------------------------------------------------


def test_listing_html(serve: Serve, root: Path) -> None:
    (root / "<b>&amp.txt").write_text("x")
    (root / "zdir").mkdir()
    body = get(serve(handler(root)), "/").body.decode()
    assert "Directory listing for /" in body
    assert 'href="%3Cb%3E%26amp.txt"' in body
    assert ">&lt;b&gt;&amp;amp.txt<" in body
    names = [line.split('">')[1].split("<")[0] for line in body.split("\n") if "<td><a" in line]
    assert names.index("zdir/") < names.index("data.bin")  # directories first
    assert "1.0 KiB" in body
    assert "color-scheme: light dark" in body
    assert 'href="../"' not in body  # no parent row at the root
    assert 'href="../"' in get(serve(handler(root)), "/sub/").body.decode()


def test_listing_sorted_by_size(serve: Serve, root: Path) -> None:
    body = get(serve(handler(root)), "/?sort=size&order=desc").body.decode()
    assert body.index("big.bin") < body.index("data.bin") < body.index("page.html")


def test_listing_json(serve: Serve, root: Path) -> None:
    response = requests.get(
        serve(handler(root)).url + "/sub/", headers={"Accept": "application/json"}, timeout=5
    )
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Vary"] == "Accept"
    document = response.json()
    assert document["path"] == "/sub/"
    [entry] = document["entries"]
    assert entry["name"] == "inner.txt"
    assert entry["url"] == "inner.txt"
    assert entry["size"] == 5
    assert entry["is_dir"] is False
    assert entry["modified"].endswith("Z")


def test_directory_redirect_and_index(serve: Serve, root: Path) -> None:
    server = serve(handler(root))
    redirect = get(server, "/sub?x=1")
    assert redirect.status == 301
    assert redirect.getheader("Location") == "/sub/?x=1"
    assert get(server, "/sub%2f").status == 200  # gh-134098: %2f counts as the slash
    assert get(server, "/index-dir/").body == b"<h1>index</h1>"


# -- paths -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    ["/..%20/data.bin", "/sub%5cinner.txt", "/NUL.txt", "/data.bin.", "/sub/../data.bin",
     "/PROGRA~1", "/a%01b"],
    ids=["dotdot-space", "backslash", "device", "trailing-dot", "dotdot", "short-name",
         "control"],
)  # fmt: skip
def test_strict_paths_refuse_windows_tricks(serve: Serve, root: Path, target: str) -> None:
    assert raw(serve(handler(root, strict_paths=True)), target).startswith(b"HTTP/1.0 400 ")


def test_a_colon_is_served_on_posix_and_refused_where_os_path_is_windows(
    serve: Serve, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (root / "2024-01-01T10:00.log").write_bytes(b"log")
    server = serve(handler(root, strict_paths=True))
    listing = raw(server, "/")
    assert b'href="2024-01-01T10%3A00.log"' in listing
    assert raw(server, "/2024-01-01T10:00.log").endswith(b"\r\n\r\nlog")
    assert raw(server, "/2024-01-01T10%3A00.log").endswith(b"\r\n\r\nlog")
    # What a colon means is the file system's: os.path is looked up at call time, as
    # CPython's test_windows_colon swaps it, and there a drive or a stream is refused.
    monkeypatch.setattr(os, "path", ntpath)
    for target in ("/c:/data.bin", "/data.bin::$DATA"):
        assert raw(server, target).startswith(b"HTTP/1.0 400 ")


def test_lenient_paths_as_in_the_stdlib(serve: Serve, root: Path) -> None:
    server = serve(handler(root))
    assert raw(server, "/sub/../data.bin").endswith(DATA)
    assert raw(server, "/..%20/data.bin").startswith(b"HTTP/1.0 404 ")
    assert raw(server, "/%00").startswith(b"HTTP/1.0 404 ")


def test_dotfiles_hidden_by_flag(serve: Serve, root: Path) -> None:
    (root / ".env").write_text("SECRET=1")
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text("x")
    (root / ".well-known").mkdir()
    (root / ".well-known" / "security.txt").write_text("contact")
    hidden = serve(handler(root, serve_dotfiles=False))
    assert get(hidden, "/.env").status == 404
    assert get(hidden, "/.git/config").status == 404
    assert get(hidden, "/%2egit/config").status == 404
    assert get(hidden, "/.well-known/security.txt").body == b"contact"
    listing = get(hidden, "/").body
    assert b".env" not in listing
    assert b".well-known" in listing
    assert get(serve(handler(root)), "/.env").body == b"SECRET=1"  # the stdlib default


def test_symlinks_leaving_the_root(serve: Serve, root: Path, tmp_path_factory: Any) -> None:
    outside = tmp_path_factory.mktemp("outside")
    (outside / "secret.txt").write_text("secret")
    (root / "escape").symlink_to(outside / "secret.txt")
    (root / "escape-dir").symlink_to(outside)
    (root / "inside").symlink_to(root / "data.bin")
    confined = serve(handler(root, allow_symlink_escape=False))
    assert get(confined, "/escape").status == 404
    assert get(confined, "/escape-dir/secret.txt").status == 404
    assert get(confined, "/escape-dir/").status == 404
    assert get(confined, "/inside").body == DATA
    assert b"escape" not in get(confined, "/").body
    assert get(serve(handler(root)), "/escape").body == b"secret"  # the stdlib default


def test_fifo_is_not_opened(serve: Serve, root: Path) -> None:
    os.mkfifo(root / "pipe")
    assert get(serve(handler(root)), "/pipe").status == 404


# -- dev-server features ---------------------------------------------------------


def test_spa_fallback_only_on_a_miss(serve: Serve, root: Path) -> None:
    (root / "index.html").write_text("<div id=app>")
    server = serve(handler(root, spa_fallback="index.html"))
    route = get(server, "/users/42", Accept="text/html")
    assert route.status == 200
    assert route.body == b"<div id=app>"
    assert get(server, "/users/42").status == 200  # no extension: a route
    assert get(server, "/missing.js", Accept="*/*").status == 404
    assert get(server, "/page.html").body == b"<p>page</p>"  # real files win


def test_cors(serve: Serve, root: Path) -> None:
    server = serve(handler(root, cors_origin="*"))
    assert get(server, "/data.bin").getheader("Access-Control-Allow-Origin") == "*"
    assert get(server, "/nope").getheader("Access-Control-Allow-Origin") == "*"
    preflight = get(
        server, "/data.bin", "OPTIONS",
        Origin="http://example.test", Access_Control_Request_Method="GET",
        Access_Control_Request_Headers="range, x-custom",
    )  # fmt: skip
    assert preflight.status == 204
    assert preflight.getheader("Access-Control-Allow-Headers") == "range, x-custom"
    assert "GET" in preflight.getheader("Access-Control-Allow-Methods")
    plain = serve(handler(root))
    assert get(plain, "/data.bin", "OPTIONS").status == 501
    assert get(plain, "/data.bin").getheader("Access-Control-Allow-Origin") is None


@pytest.mark.parametrize(
    "headers",
    [{"X-One": "1", "X-Two": "2"}, [("X-One", "1"), ("X-Two", "2")]],
    ids=["dict", "pairs"],
)
def test_response_headers(serve: Serve, root: Path, headers: Any) -> None:
    server = serve(functools.partial(Quiet, directory=str(root), response_headers=headers))
    for path in ("/data.bin", "/", "/nope"):
        response = get(server, path)
        assert response.getheader("X-One") == "1"
        assert response.getheader("X-Two") == "2"


def test_custom_404_page(serve: Serve, root: Path) -> None:
    (root / "404.html").write_text("<h1>lost</h1>")
    server = serve(handler(root, not_found_page="404.html"))
    response = get(server, "/nope")
    assert response.status == 404
    assert response.body == b"<h1>lost</h1>"
    assert response.getheader("Content-Type") == "text/html"
    head = get(server, "/nope", "HEAD")
    assert head.status == 404
    assert head.body == b""


def test_client_disconnect_mid_body_leaves_server_working(serve: Serve, root: Path) -> None:
    server = serve(handler(root))
    with socket.create_connection(server.address, timeout=CLIENT_TIMEOUT) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.sendall(b"GET /big.bin HTTP/1.0\r\n\r\n")
        sock.recv(100)
    assert get(server, "/data.bin").body == DATA


def test_listing_json_is_valid_with_undecodable_names(serve: Serve, root: Path) -> None:
    name = os.fsdecode(b"bad\xff.txt")
    (root / name).write_text("x")
    response = get(serve(handler(root)), "/", Accept="application/json")
    names = [e["name"] for e in json.loads(response.body)["entries"]]
    assert name in names


# -- the absolute form (RFC 9112 §3.2.2: a server MUST accept it) ---------------------


def test_the_absolute_form_is_served_by_its_path(serve: Serve, root: Path) -> None:
    (root / "2024-01-01T10:00.log").write_bytes(b"log")
    server = serve(handler(root, strict_paths=True, protocol_version="HTTP/1.1"))
    origin = "http://127.0.0.1:%d" % server.port
    answer = server.exchange(
        b"GET %s/data.bin HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        % origin.encode()
    )
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert answer.endswith(DATA)
    log = server.exchange(b"GET %s/2024-01-01T10:00.log HTTP/1.0\r\n\r\n" % origin.encode())
    assert log.startswith(b"HTTP/1.1 200 ")
    listing = server.exchange(b"GET %s/sub/?sort=size HTTP/1.0\r\n\r\n" % origin.encode())
    assert listing.startswith(b"HTTP/1.1 200 ")
    assert b'href="inner.txt"' in listing
    assert b"Directory listing for /sub/" in listing
    redirect = server.exchange(b"GET %s/sub HTTP/1.0\r\n\r\n" % origin.encode())
    assert redirect.startswith(b"HTTP/1.1 301 ")
    assert b"\r\nLocation: %s/sub/\r\n" % origin.encode() in redirect
