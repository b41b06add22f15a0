"""MountTable: prefixes served by handler classes, directories, WSGI apps and proxies.

Each kind of target under each server class, over real sockets, one keep-alive
connection going from mount to mount.
"""

from __future__ import annotations

import functools
import http.server
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

import devserve
from devserve.handler.messages import ResponseRecord
from devserve.mount.table import MountTable, is_handler
from devserve.net.bounded import BoundedHTTPServer
from devserve.wsgi.server import WSGIServer
from support.processes import TIMEOUT
from support.sockets import RunningServer, read_response
from support.wsgi import QuietWSGIHandler

SERVERS = [devserve.ThreadingHTTPServer, BoundedHTTPServer, WSGIServer, devserve.HTTPServer]


class Records:
    """A response log that keeps every record."""

    def __init__(self) -> None:
        self.records: list[ResponseRecord] = []
        self.lock = threading.Lock()

    def write(self, record: ResponseRecord) -> None:
        with self.lock:
            self.records.append(record)


def api(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    body = environ["wsgi.input"].read()
    text = "api %s|%s|%s|%s" % (
        environ["SCRIPT_NAME"], environ["PATH_INFO"], environ["QUERY_STRING"], body.decode()
    )  # fmt: skip
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [text.encode()]


def sized(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    """The backend a proxy mount forwards to: it says what it was asked."""
    body = ("backend %s|%s|%s" % (
        environ["PATH_INFO"], environ["QUERY_STRING"], environ.get("HTTP_X_FORWARDED_FOR")
    )).encode()  # fmt: skip
    start_response("200 OK", [("Content-Length", str(len(body)))])
    return [body]


@pytest.fixture(scope="module")
def backend() -> Iterator[str]:
    server = devserve.make_server("127.0.0.1", 0, sized, handler_class=QuietWSGIHandler)
    running = RunningServer(server)
    try:
        yield running.url
    finally:
        running.stop()


class Native(devserve.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = ("native %s|%s" % (self.mount_prefix, self.path)).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Stdlib(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        if self.path == "/go":
            self.send_response(302)
            self.send_header("Location", "/there")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = ("stdlib %s" % self.path).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class QuietStdlibFiles(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "index.txt").write_text("root file")
    assets = tmp_path / "assets"
    (assets / "sub").mkdir(parents=True)
    (assets / "app.css").write_text("body{}")
    (assets / "sub" / "f.txt").write_text("deep")
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "n.txt").write_text("nested wins")
    return tmp_path


def root_handler(tree: Path, table: MountTable, log: Records) -> type[Any]:
    class Root(devserve.SimpleHTTPRequestHandler):
        default_directory = str(tree / "root")
        protocol_version = "HTTP/1.1"
        responders = (table,)
        response_log = log

    return Root


def full_table(tree: Path, backend: str | None = None) -> MountTable:
    table = MountTable()
    if backend is not None:
        table.mount("/proxied", devserve.Proxy(backend))
    table.mount("/api", api)
    table.mount("/native", Native)
    table.mount("/stdlib", Stdlib)
    table.mount("/stdfiles", functools.partial(QuietStdlibFiles, directory=str(tree / "assets")))
    table.mount("/assets", tree / "assets")
    table.mount("/assets/nested", str(tree / "nested"))
    return table


def get(sock: socket.socket, path: str, extra: str = "") -> tuple[bytes, bytes]:
    sock.sendall(("GET %s HTTP/1.1\r\nHost: a\r\n%s\r\n" % (path, extra)).encode())
    return read_response(sock)


def field(head: bytes, name: str) -> str | None:
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == name.encode():
            return value.strip().decode()
    return None


@pytest.mark.parametrize("server_class", SERVERS, ids=lambda cls: cls.__name__)
def test_every_kind_of_target_under_every_server(
    serve: Any, tree: Path, server_class: type[Any], backend: str
) -> None:
    log = Records()
    table = full_table(tree, backend)
    running: RunningServer = serve(root_handler(tree, table, log), server_class)
    with running.connect() as sock:
        # One keep-alive connection, from mount to mount and back to the root.
        assert get(sock, "/index.txt")[1] == b"root file"
        assert get(sock, "/api/v1/items?x=1")[1] == b"api /api|/v1/items|x=1|"
        assert get(sock, "/api")[1] == b"api /api|||"
        assert get(sock, "/native/a/b?c")[1] == b"native /native|/a/b?c"
        assert get(sock, "/stdlib/page")[1] == b"stdlib /page"
        head, _ = get(sock, "/stdlib/go")
        assert head.startswith(b"HTTP/1.1 302")
        assert field(head, "location") == "/stdlib/there"  # put back under the mount
        assert get(sock, "/stdfiles/app.css")[1] == b"body{}"
        assert get(sock, "/assets/app.css")[1] == b"body{}"
        head, body = get(sock, "/assets/app.css", "Range: bytes=0-1\r\n")
        assert (head[:12], body) == (b"HTTP/1.1 206", b"bo")  # devserve's files handler
        assert get(sock, "/assets/nested/n.txt")[1] == b"nested wins"  # the longest prefix
        assert get(sock, "/proxied/x?y=1")[1] == b"backend /proxied/x|y=1|127.0.0.1"
        head, _ = get(sock, "/assets/sub")
        assert head.startswith(b"HTTP/1.1 301")
        assert field(head, "location") == "/assets/sub/"
        head, body = get(sock, "/assets/sub/")
        assert b"/assets/sub/" in body  # the listing names the path with its prefix
        assert b'href="f.txt"' in body
        assert get(sock, "/index.txt")[1] == b"root file"
        # Not under /assets: the root's 404 (which closes, as http.server's errors do).
        assert get(sock, "/assetsx")[0].startswith(b"HTTP/1.1 404")
    # The root's log saw every request once, mounted or not (the last one is written
    # after its response, so it may take a moment).
    deadline = time.monotonic() + TIMEOUT
    while len(log.records) < 15 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [record.status for record in log.records] == [
        200, 200, 200, 200, 200, 302, 200, 200, 206, 200, 200, 301, 200, 200, 404
    ]  # fmt: skip
    table.close()
    assert log.records[3].requestline == "GET /native/a/b?c HTTP/1.1"


def test_an_application_mount_reads_the_body_chunked_or_not(serve: Any, tree: Path) -> None:
    running = serve(root_handler(tree, full_table(tree), Records()), BoundedHTTPServer)
    with running.connect() as sock:
        sock.sendall(b"POST /api/in HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello")
        assert read_response(sock)[1] == b"api /api|/in||hello"
        sock.sendall(
            b"POST /api/in HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
        )
        head, body = read_response(sock)
        assert head.startswith(b"HTTP/1.1 200")
        assert body == b"api /api|/in||abcde"
        # The connection still serves: nothing of the body was left on the wire.
        assert get(sock, "/native/x")[1] == b"native /native|/x"


def test_a_method_a_mounted_handler_lacks_is_its_501(serve: Any, tree: Path) -> None:
    running = serve(root_handler(tree, full_table(tree), Records()), BoundedHTTPServer)
    answer = running.exchange(b"DELETE /native/x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 501")


def test_a_catch_all_mount_takes_what_no_prefix_holds(serve: Any, tree: Path) -> None:
    table = MountTable([("/native", Native), ("/", api)])
    running = serve(root_handler(tree, table, Records()), BoundedHTTPServer)
    with running.connect() as sock:
        assert get(sock, "/index.txt")[1] == b"api |/index.txt||"
        assert get(sock, "/native/y")[1] == b"native /native|/y"


def test_mounting_a_prefix_again_replaces_it(tree: Path) -> None:
    table = MountTable([("/x", api)])
    table.mount("/x/", Native)
    assert [(mount.prefix, mount.handler_class) for mount in table.mounts] == [("/x", Native)]


@pytest.mark.parametrize(
    ("target", "error"),
    [(42, TypeError), ("no/such/dir", ValueError)],
    ids=["not-callable", "missing-directory"],
)
def test_what_cannot_be_mounted_is_refused(target: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match="cannot mount"):
        MountTable().mount("/x", target)


def test_is_handler_knows_both_families_and_partials() -> None:
    assert is_handler(Native)
    assert is_handler(Stdlib)
    assert is_handler(functools.partial(QuietStdlibFiles, directory="."))
    assert not is_handler(api)
    assert not is_handler(int)


class Redirecting(devserve.BaseHTTPRequestHandler):
    """Hands the request to a handler mounted where the request is not."""

    calls: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        try:
            Native.for_request_of(self, "/elsewhere")
        except ValueError as error:
            self.calls.append(str(error))
        self.send_error(404)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_for_request_of_refuses_a_prefix_the_path_is_not_under(serve: Any) -> None:
    running = serve(Redirecting)
    running.exchange(b"GET /here HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    assert Redirecting.calls == ["'/here' is not under '/elsewhere'"]
