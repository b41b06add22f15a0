"""Every flag combination the command line accepts is served correctly or refused.

The bugs live in pairs, so each family's flags are tried alone and in every pair, over
real sockets, against ``python -m devserve`` in a subprocess:

- files: ``--cgi``, ``--livereload``, ``--allowed-host``, ``-q``, ``--compat``, TLS,
  ``--mount`` of a directory and ``--proxy`` to a backend;
- ``--app``: ``--static``, ``--livereload``, ``--debug``, ``--reload``, ``--script-name``,
  ``--mount`` of an application (the same one, under ``/mounted``) and ``--proxy``.

The backend is devserve's WSGI server in this test process, saying what it was asked.

Each started server is checked for what every flag of its family promises, on or
off, so a flag that breaks another one shows (TLS is the conftest certificate; one
test uses ``--tls adhoc``, one serves an app over TLS from the reloader's child).
Then what both modes share (``-q``, the access log, ``-H``, the two loopback sockets,
a port in use) is checked in each mode, and the combinations that cannot be served
are refused with a usage error.  Every client socket has a timeout; every server is
stopped by its pid when its test ends.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from devserve import make_server
from devserve.dev.livereload import ENDPOINT
from support.cli import DevserveProcess, same_devserve_path
from support.wsgi import QuietWSGIHandler

TIMEOUT = 5.0
LIVE_SCRIPT = b'<script data-devserve="livereload">'

INDEX = b"<!doctype html><html><head><title>i</title></head><body><p>index</p></body></html>\n"
HELLO = b"hello\n"
DOTFILE = b"SECRET=1\n"
CGI_BODY = b"<html><head><title>cgi</title></head><body><p>from cgi</p></body></html>\n"
CGI_SCRIPT = (
    b"#!/bin/sh\n"
    b"printf 'Content-Type: text/html\\r\\n\\r\\n'\n"
    b"printf '%s\\n' '" + CGI_BODY.rstrip(b"\n") + b"'\n"
)
STATIC = b"static hello\n"
STATIC_PAGE = b"<!doctype html><html><body><p>a static page</p></body></html>\n"

APP_SOURCE = """\
import json
import os

VERSION = "first"


def app(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path == "/boom":
        raise RuntimeError("boom for the debugger")
    if path == "/page":
        body = ("<!doctype html><html><body><h1>%s</h1></body></html>" % VERSION).encode()
        ctype = "text/html; charset=utf-8"
    else:
        body = json.dumps({
            "script_name": environ.get("SCRIPT_NAME"),
            "path_info": path,
            "run_main": os.environ.get("WERKZEUG_RUN_MAIN"),
            "version": VERSION,
            "pid": os.getpid(),
        }).encode()
        ctype = "application/json"
    start_response("200 OK", [("Content-Type", ctype), ("Content-Length", str(len(body)))])
    return [body]
"""

# ADDRESS - - [DATE] "REQUEST LINE" STATUS BYTES DURATION, an error's note after it.
ACCESS_LINE = re.compile(
    r"(?P<address>[0-9a-f.:]+) - - \[\d\d/[A-Z][a-z]{2}/\d{4} \d\d:\d\d:\d\d\] "
    r'"(?P<request>[^"]*)" (?P<status>\d{3}) (?P<bytes>\d+) (?P<duration>\d+\.\d+m?s)'
    r"(?: \(.*\))?"
)


# -- a raw HTTP/1.1 client, plain or TLS, with a timeout --------------------------------


def _tls_client_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class Response(NamedTuple):
    status_line: str
    status: int
    fields: list[tuple[str, str]]
    body: bytes
    #: Every byte of the response as received, head included.
    raw: bytes
    #: How the body was delimited: "length", "chunked", "close" or "none".
    framing: str

    def header(self, name: str) -> str | None:
        values = self.all(name)
        assert len(values) <= 1, "%s sent %d times: %r" % (name, len(values), self.fields)
        return values[0] if values else None

    def all(self, name: str) -> list[str]:
        return [value for field, value in self.fields if field.lower() == name.lower()]


class Client:
    """One connection to 127.0.0.1 (or *address*), TLS with *tls*: requests, answers."""

    def __init__(self, port: int, *, tls: bool = False, address: str = "127.0.0.1") -> None:
        self.where, self.tls = (address, port), tls
        self.host = "%s:%d" % ("[%s]" % address if ":" in address else address, port)
        #: How many connections were opened: a request after a closing answer opens one.
        self.connections = 0
        self._connect()

    def _connect(self) -> None:
        sock = socket.create_connection(self.where, timeout=TIMEOUT)
        if self.tls:
            sock = _tls_client_context().wrap_socket(sock, server_hostname="localhost")
        self.sock = sock
        self.buffer = b""
        self.taken = b""
        self.closed = False
        self.connections += 1

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.sock.close()

    def _recv(self) -> bytes:
        try:
            chunk = self.sock.recv(65536)
        except (ssl.SSLEOFError, ConnectionResetError):
            chunk = b""
        if not chunk:
            self.closed = True
        return chunk

    def _until(self, marker: bytes) -> bytes:
        while marker not in self.buffer:
            chunk = self._recv()
            if not chunk:
                raise EOFError(self.buffer)
            self.buffer += chunk
        found, _, self.buffer = self.buffer.partition(marker)
        self.taken += found + marker
        return found

    def _exactly(self, size: int) -> bytes:
        while len(self.buffer) < size:
            chunk = self._recv()
            if not chunk:
                raise EOFError(self.buffer)
            self.buffer += chunk
        found, self.buffer = self.buffer[:size], self.buffer[size:]
        self.taken += found
        return found

    def until_closed(self) -> bytes:
        """Read what is left until the server closes the connection."""
        while not self.closed:
            self.buffer += self._recv()
        found, self.buffer = self.buffer, b""
        self.taken += found
        return found

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def request(
        self,
        target: str = "/",
        *,
        method: str = "GET",
        host: str | None = None,
        headers: Sequence[tuple[str, str]] = (),
        line: str | None = None,
    ) -> Response:
        """Send one request (*line* replaces the request line) and read its answer.

        After an answer that closed the connection, a new connection is opened.
        """
        if self.closed:
            self.sock.close()
            self._connect()
        # host="" sends no Host at all.
        fields = ([("Host", host or self.host)] if host != "" else []) + list(headers)
        head = (line or "%s %s HTTP/1.1" % (method, target)) + "\r\n"
        head += "".join("%s: %s\r\n" % field for field in fields) + "\r\n"
        self.send(head.encode("latin-1"))
        return self.response(method)

    def head(self) -> tuple[str, int, list[tuple[str, str]]]:
        """Read a response head: the status line, the status, the fields."""
        self.taken = b""
        status_line, *lines = self._until(b"\r\n\r\n").decode("latin-1").split("\r\n")
        assert re.fullmatch(r"HTTP/1\.[01] \d{3}( .*)?", status_line), status_line
        fields = [(n.strip(), v.strip()) for n, _, v in (line.partition(":") for line in lines)]
        return status_line, int(status_line.split(" ", 2)[1]), fields

    def response(self, method: str = "GET") -> Response:
        """Read one whole response, its body delimited as its head says (RFC 9112 §6.3)."""
        status_line, status, fields = self.head()
        body, framing = self._body(method, status, fields)
        if any(n.lower() == "connection" and "close" in v.lower() for n, v in fields):
            self.closed = True  # the server closes after this one (errors do)
        return Response(status_line, status, fields, body, self.taken, framing)

    def _body(self, method: str, status: int, fields: list[tuple[str, str]]) -> tuple[bytes, str]:
        names = [name.lower() for name, _ in fields]
        chunked = any(
            n.lower() == "transfer-encoding" and "chunked" in v.lower() for n, v in fields
        )
        assert not (chunked and "content-length" in names), fields
        assert names.count("content-length") <= 1, fields
        if method == "HEAD" or status in (204, 304) or status < 200:
            return b"", "none"
        if chunked:
            body = b""
            while True:
                size = int(self._until(b"\r\n").split(b";")[0], 16)
                if size == 0:
                    while self._until(b"\r\n"):  # trailers, up to the empty line
                        pass
                    return body, "chunked"
                body += self._exactly(size)
                assert self._exactly(2) == b"\r\n", "a chunk not ended by CRLF"
        if "content-length" in names:
            length = next(int(v) for n, v in fields if n.lower() == "content-length")
            return self._exactly(length), "length"
        return self.until_closed(), "close"

    def open_stream(
        self, path: str = ENDPOINT, *, host: str | None = None, origin: str | None = None
    ) -> Response:
        """Ask for the live-reload event stream: its head (events follow), or the answer.

        As a page's ``EventSource`` asks, from the origin *origin* when given.
        """
        fields = [("Host", host or self.host), ("Accept", "text/event-stream")]
        if origin is not None:
            fields += [("Origin", origin), ("Sec-Fetch-Site", "same-origin")]
        head = "GET %s HTTP/1.1\r\n%s\r\n" % (path, "".join("%s: %s\r\n" % f for f in fields))
        self.send(head.encode("latin-1"))
        status_line, status, fields = self.head()
        ctype = next((v for n, v in fields if n.lower() == "content-type"), "")
        if status == 200 and ctype.startswith("text/event-stream"):
            return Response(status_line, status, fields, b"", self.taken, "stream")
        body, framing = self._body("GET", status, fields)
        return Response(status_line, status, fields, body, self.taken, framing)

    def event(self) -> dict[str, Any]:
        """The next event of a stream (comments skipped): its fields, data decoded."""
        while True:
            block = self._until(b"\n\n").decode()
            fields = dict(line.split(": ", 1) for line in block.split("\n") if ": " in line)
            if "event" in fields:
                fields["data"] = json.loads(fields["data"])
                return fields


def get(port: int, target: str = "/", *, tls: bool = False, **options: Any) -> Response:
    """One request on a connection of its own."""
    with Client(port, tls=tls) as client:
        return client.request(target, **options)


NAVIGATION = [("Sec-Fetch-Dest", "document")]


def assert_injected(response: Response, page: bytes) -> None:
    """*response* is *page* with the live-reload script just before its last ``</body>``."""
    assert response.status == 200, response.raw[:300]
    assert response.header("Content-Length") == str(len(response.body))
    before, _, after = page.rpartition(b"</body>")
    assert response.body.startswith(before + LIVE_SCRIPT), response.body[:200]
    assert response.body.endswith(b"</script></body>" + after), response.body[-200:]
    assert response.body.count(LIVE_SCRIPT) == 1
    assert response.header("ETag") is None  # a changed page carries no validator


def assert_stream_says_hello(port: int, tls: bool, host: str | None = None) -> str:
    """The event stream, asked for by a page of this origin (``Host: host``), says hello.

    It answers 200 ``text/event-stream`` and its first event is ``hello``; the same
    request from another site's page is refused.  Returns the boot id.
    """
    with Client(port, tls=tls) as client:
        origin = "%s://%s" % ("https" if tls else "http", host or client.host)
        head = client.open_stream(host=host, origin=origin)
        assert head.status == 200, head.raw
        assert head.header("Content-Type") == "text/event-stream"
        event = client.event()
    assert event["event"] == "hello", event
    with Client(port, tls=tls) as client:
        cross = client.open_stream(host=host, origin="http://evil.example")
    assert cross.status == 403, cross.raw[:300]
    return str(event["data"]["boot"])


def assert_no_stream(port: int, tls: bool) -> None:
    with Client(port, tls=tls) as client:
        response = client.open_stream()
    assert not (response.header("Content-Type") or "").startswith("text/event-stream")


def assert_page(response: Response, page: bytes, live: bool) -> None:
    """*response* is *page*, with the live-reload script in it when *live*."""
    if live:
        assert_injected(response, page)
    else:
        assert (response.status, response.body) == (200, page), response.raw[:300]


def access_lines(stderr: str) -> list[re.Match[str]]:
    return [m for m in map(ACCESS_LINE.fullmatch, stderr.splitlines()) if m is not None]


def assert_logged_once(stderr: str, response: Response, request_line: str) -> re.Match[str]:
    """One access-log line for *request_line*, with its status and every byte sent."""
    lines = [m for m in access_lines(stderr) if m["request"] == request_line]
    assert len(lines) == 1, (request_line, stderr)
    line = lines[0]
    assert line["address"] in ("127.0.0.1", "::1")
    assert int(line["status"]) == response.status
    assert int(line["bytes"]) == len(response.raw), (line.group(0), response.raw[:200])
    return line


def assert_stopped_cleanly(server: DevserveProcess) -> tuple[str, str]:
    code, out, err = server.stop()
    assert code == 0, err
    return out, err


def tracebacks_are_the_apps(stderr: str) -> None:
    """Every traceback on stderr is /boom's own exception (logged, as it should be)."""
    blocks = stderr.split("Traceback (most recent call last):")[1:]
    for block in blocks:
        assert "RuntimeError: boom for the debugger" in block, stderr


# -- fixtures -----------------------------------------------------------------------------


@pytest.fixture
def site() -> Iterator[Path]:
    """A directory for both modes: pages, a dotfile, a CGI script, an app and assets/.

    Under the system temporary directory with mode 755 all the way down: served as
    root, CGI scripts run as ``nobody``, who cannot enter pytest's private tmp_path.
    """
    root = Path(tempfile.mkdtemp(prefix="devserve-compositions-"))
    root.chmod(0o755)
    (root / "index.html").write_bytes(INDEX)
    (root / "hello.txt").write_bytes(HELLO)
    (root / ".env").write_bytes(DOTFILE)
    (root / "cgi-bin").mkdir(mode=0o755)
    (root / "cgi-bin" / "page.sh").write_bytes(CGI_SCRIPT)
    (root / "cgi-bin" / "page.sh").chmod(0o755)
    (root / "app.py").write_text(APP_SOURCE)
    (root / "assets").mkdir(mode=0o755)
    (root / "assets" / "hello.txt").write_bytes(STATIC)
    (root / "assets" / "page.html").write_bytes(STATIC_PAGE)
    (root / "notes").mkdir(mode=0o755)
    (root / "notes" / "todo.txt").write_bytes(HELLO)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def launch() -> Iterator[Callable[..., DevserveProcess]]:
    """``launch(*args, cwd=...)`` starts devserve; each is stopped by its pid at the end."""
    started: list[DevserveProcess] = []

    def start(*args: str, cwd: Path | None = None) -> DevserveProcess:
        server = DevserveProcess(*args, cwd=cwd)
        started.append(server)
        if not server.banner:
            raise AssertionError("no banner: %r" % (server.stop(),))
        return server

    try:
        yield start
    finally:
        for server in started:
            server.stop()


PROXIED_PAGE = b"<!doctype html><html><body><p>from the backend</p></body></html>\n"


def backend_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """Say what was asked (JSON); a page at /api/page."""
    if environ["PATH_INFO"] == "/api/page":
        body, ctype = PROXIED_PAGE, "text/html; charset=utf-8"
    else:
        body = json.dumps({
            "path": environ["PATH_INFO"], "query": environ["QUERY_STRING"],
            "fields": {k[5:]: v for k, v in environ.items() if k.startswith("HTTP_")},
        }).encode()  # fmt: skip
        ctype = "application/json"
    start_response("200 OK", [("Content-Type", ctype), ("Content-Length", str(len(body)))])
    return [body]


@pytest.fixture(scope="module")
def backend() -> Iterator[str]:
    """The URL of a backend for ``--proxy``: devserve's WSGI server, in this process."""
    server = make_server("127.0.0.1", 0, backend_app, handler_class=QuietWSGIHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield "http://127.0.0.1:%d" % server.server_port
    finally:
        server.shutdown()
        server.server_close()
        thread.join(TIMEOUT)


def assert_proxied(response: Response, client: Client, tls: bool) -> None:
    """*response* to ``/api/echo?x=1`` is the backend's, asked as a proxy asks.

    Then a page of the backend, navigated to, passes byte for byte (live reload's
    script is not put in a backend's pages), on the same connection.
    """
    assert response.status == 200, response.raw[:300]
    seen = json.loads(response.body)
    assert (seen["path"], seen["query"]) == ("/api/echo", "x=1")
    fields = seen["fields"]
    assert fields["HOST"] == client.host  # kept, without --proxy-change-origin
    assert fields["X_FORWARDED_FOR"] == "127.0.0.1"
    assert fields["X_FORWARDED_PROTO"] == ("https" if tls else "http")
    assert fields["X_FORWARDED_HOST"] == client.host
    connections = client.connections
    page = client.request("/api/page", headers=NAVIGATION)
    assert (page.status, page.body) == (200, PROXIED_PAGE), page.raw[:300]
    assert client.connections == connections  # the front kept the connection


def pairs(names: Sequence[str]) -> list[tuple[str, ...]]:
    """Each name alone, then every pair."""
    return [(name,) for name in names] + list(itertools.combinations(names, 2))


def ids(combos: Sequence[tuple[str, ...]]) -> list[str]:
    return ["+".join(combo) for combo in combos]


# -- the files family ---------------------------------------------------------------------

FILES_FLAGS = ("cgi", "livereload", "allowed-host", "quiet", "compat", "tls", "mount", "proxy")
FILES_COMBOS = pairs(FILES_FLAGS)


def files_args(
    combo: Sequence[str], site: Path, certificate: tuple[Path, Path], backend: str = ""
) -> list[str]:
    args = ["0", "-d", str(site)]
    for flag in combo:
        args += {
            "cgi": ["--cgi"],
            "livereload": ["--livereload"],
            "allowed-host": ["--allowed-host", "dev.test"],
            "quiet": ["-q"],
            "compat": ["--compat"],
            "tls": ["--tls-cert", str(certificate[0]), "--tls-key", str(certificate[1])],
            "mount": ["--mount", "/m=%s" % (site / "assets")],
            "proxy": ["--proxy", "/api=%s" % backend],
        }[flag]
    return args


def check_files(port: int, on: set[str]) -> None:
    """What each files flag promises, on or off, on a server started with the flags *on*."""
    tls = "tls" in on
    with Client(port, tls=tls) as client:
        # Files, and the drop-in's differences: --compat is http.server's behaviour.
        hello = client.request("/hello.txt")
        assert (hello.status, hello.body) == (200, HELLO)
        if "compat" in on:
            assert hello.header("Cache-Control") is None
            assert hello.header("ETag") is None
        else:
            assert hello.header("Cache-Control") == "no-cache"
            assert hello.header("ETag") is not None
        dotfile = get(port, "/.env", tls=tls)  # an error ends its connection
        if "compat" in on:
            assert (dotfile.status, dotfile.body) == (200, DOTFILE)
        else:
            assert dotfile.status == 404
        # A page, navigated to: the live-reload script goes in with --livereload only.
        live = "livereload" in on
        page = client.request("/", headers=NAVIGATION)
        assert_page(page, INDEX, live)
        # HEAD tells the length GET sends; a changed page is never partial, nor a 304.
        head = client.request("/", method="HEAD", headers=NAVIGATION)
        assert head.header("Content-Length") == str(len(page.body))
        partial = client.request("/", headers=[*NAVIGATION, ("Range", "bytes=0-9")])
        if live:
            assert_injected(partial, INDEX)
        etag = client.request("/index.html", headers=[("Sec-Fetch-Dest", "empty")])
        if live and etag.header("ETag") is not None:
            validated = client.request(
                "/", headers=[*NAVIGATION, ("If-None-Match", etag.header("ETag") or "")]
            )
            assert_injected(validated, INDEX)
        # --mount: a directory under /m, with the files options and live reload.
        mounted = client.request("/m/hello.txt")
        if "mount" in on:
            assert (mounted.status, mounted.body) == (200, STATIC), mounted.raw[:300]
            assert (mounted.header("ETag") is None) == ("compat" in on)
            assert_page(client.request("/m/page.html", headers=NAVIGATION), STATIC_PAGE, live)
        else:
            assert mounted.status == 404, mounted.raw[:300]
        proxied = client.request("/api/echo?x=1")
        if "proxy" in on:
            assert_proxied(proxied, client, tls)
        else:
            assert proxied.status == 404, proxied.raw[:300]
        # A directory listing is an HTML page too.
        listing = client.request("/notes/", headers=NAVIGATION)
        assert listing.status == 200, listing.raw[:300]
        assert b"todo.txt" in listing.body
        assert (LIVE_SCRIPT in listing.body) == live
        assert listing.header("Content-Length") == str(len(listing.body))
        # Fetched by a script, the same page is a fragment: never changed.
        fragment = client.request("/index.html", headers=[("Sec-Fetch-Dest", "empty")])
        assert (fragment.status, fragment.body) == (200, INDEX)
        # CGI, navigated to: run with --cgi (its output untouched by live reload, framed
        # so that this connection carries on), else served as a file.
        script = client.request("/cgi-bin/page.sh", headers=NAVIGATION)
        assert script.raw.startswith(b"HTTP/1.1 200 "), script.raw[:200]
        if "cgi" in on:
            assert script.header("Content-Type") == "text/html"
            assert script.body == CGI_BODY, script.raw
        else:
            assert script.body == CGI_SCRIPT
        assert LIVE_SCRIPT not in script.raw
        if not client.closed:
            after = client.request("/hello.txt")
            assert (after.status, after.body) == (200, HELLO), after.raw[:200]
    # Lenient parsing with --compat: two spaces between the words of the request line.
    with Client(port, tls=tls) as client:
        loose = client.request(line="GET  /hello.txt HTTP/1.1")
        if "compat" in on:
            assert (loose.status, loose.body) == (200, HELLO)
        else:
            assert loose.status == 400
    # The Host check: on loopback, only local names and --allowed-host are answered.
    targets = ["/hello.txt", "/cgi-bin/page.sh"]
    for host, status in (
        ("dev.test", 200 if "allowed-host" in on else 403),
        ("evil.example", 403),
        ("localhost", 200),
        ("localhost:%d" % port, 200),
    ):
        for target in targets:
            response = get(port, target, tls=tls, host=host)
            assert response.status == status, (host, target, response.raw[:300])
    # The event stream: for this origin only, under each name the server answers.
    if "livereload" in on:
        assert_stream_says_hello(port, tls)
        assert_stream_says_hello(port, tls, host="localhost:%d" % port)
        if "allowed-host" in on:
            assert_stream_says_hello(port, tls, host="dev.test:%d" % port)
        with Client(port, tls=tls) as client:
            refused = client.open_stream(host="evil.example")
        assert refused.status == 403, refused.raw[:300]
    else:
        assert_no_stream(port, tls)


@pytest.mark.parametrize("combo", FILES_COMBOS, ids=ids(FILES_COMBOS))
def test_files_flags_alone_and_in_pairs(
    combo: tuple[str, ...],
    site: Path,
    certificate: tuple[Path, Path],
    launch: Callable[..., DevserveProcess],
    backend: str,
) -> None:
    on = set(combo)
    server = launch(*files_args(combo, site, certificate, backend))
    scheme = "HTTPS" if "tls" in on else "HTTP"
    assert [line[0] for line in server.banner] == [scheme] * len(server.banner)
    marker = "/hello.txt?log=" + "+".join(combo)
    logged = get(server.port, marker, tls="tls" in on)
    assert logged.status == 200
    check_files(server.port, on)
    if "quiet" not in on:
        server.wait_for_stderr('"GET %s HTTP/1.1"' % marker)
    _out, err = assert_stopped_cleanly(server)
    assert "Traceback" not in err
    if "quiet" in on:
        assert access_lines(err) == [], err
        assert '"GET ' not in err
    else:
        assert_logged_once(err, logged, "GET %s HTTP/1.1" % marker)


def test_files_tls_adhoc_with_livereload(
    site: Path, launch: Callable[..., DevserveProcess]
) -> None:
    server = launch("0", "-d", str(site), "--tls", "adhoc", "--livereload")
    assert [line[0] for line in server.banner] == ["HTTPS"] * len(server.banner)
    assert re.search(r"TLS: self-signed certificate for .*SHA-256 fingerprint", server.stdout)
    with Client(server.port, tls=True) as client:
        assert client.request("/hello.txt").body == HELLO
        assert_injected(client.request("/", headers=NAVIGATION), INDEX)
    assert_stream_says_hello(server.port, True)
    # Plain HTTP on the TLS port is not served.
    with Client(server.port) as client:
        client.send(b"GET /hello.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert HELLO not in client.until_closed()
    _out, err = assert_stopped_cleanly(server)
    assert "Traceback" not in err


# -- the --app family ---------------------------------------------------------------------

APP_FLAGS = ("static", "livereload", "debug", "reload", "script-name", "mount", "proxy")
APP_COMBOS = pairs(APP_FLAGS)


def app_args(combo: Sequence[str], site: Path, backend: str = "") -> list[str]:
    args = ["0", "--app", "app.py:app"]
    for flag in combo:
        args += {
            "static": ["--static", "/assets=%s" % (site / "assets")],
            "livereload": ["--livereload"],
            "debug": ["--debug"],
            "reload": ["--reload"],
            "script-name": ["--script-name", "/base"],
            "mount": ["--mount", "/mounted=app.py:app"],
            "proxy": ["--proxy", "/api=%s" % backend],
        }[flag]
    return args


def echo(response: Response) -> dict[str, Any]:
    assert response.status == 200, response.raw[:500]
    assert response.header("Content-Type") == "application/json"
    return dict(json.loads(response.body))


def check_app(port: int, on: set[str], version: str) -> dict[str, Any]:
    """What each --app flag promises, on or off; return what the app saw of /echo."""
    base = "/base" if "script-name" in on else ""
    with Client(port) as client:
        # The app, and what it sees of its mount point.
        seen = echo(client.request(base + "/echo"))
        assert seen["script_name"] == base
        assert seen["path_info"] == "/echo"
        assert seen["version"] == version
        assert seen["run_main"] == ("true" if "reload" in on else None)
        # --static: files under the prefix (validators, 304), the app the rest, on this
        # one keep-alive connection.
        static = client.request("/assets/hello.txt")
        if "static" in on:
            assert (static.status, static.body) == (200, STATIC), static.raw[:300]
            etag = static.header("ETag")
            assert etag is not None
            assert static.header("Cache-Control") == "no-cache"
            seen = echo(client.request(base + "/after-static"))
            assert seen["path_info"] == "/after-static"
            again = client.request("/assets/hello.txt", headers=[("If-None-Match", etag)])
            assert again.status == 304, again.raw[:300]
            assert client.connections == 1
            # A page from a static directory is an HTML page devserve sends.
            static_page = client.request("/assets/page.html", headers=NAVIGATION)
            assert_page(static_page, STATIC_PAGE, "livereload" in on)
            assert client.connections == 1
            missing = client.request("/assets/missing.txt")
            assert missing.status == 404, missing.raw[:300]
            assert missing.header("Content-Type") != "application/json"  # not the app's
        elif base:
            assert static.status == 404, static.raw[:300]  # outside the app's prefix
        else:
            assert echo(static)["path_info"] == "/assets/hello.txt"
        # Pages, navigated to, get the live-reload script with --livereload; JSON never.
        page = client.request(base + "/page", headers=NAVIGATION)
        expected = b"<!doctype html><html><body><h1>%s</h1></body></html>" % version.encode()
        assert_page(page, expected, "livereload" in on)
        head = client.request(base + "/page", method="HEAD", headers=NAVIGATION)
        assert head.header("Content-Length") == str(len(page.body))
        assert LIVE_SCRIPT not in client.request(base + "/json", headers=NAVIGATION).body
        # --mount: the same application under /mounted, its own SCRIPT_NAME, with live
        # reload, beside the root's.
        mounted = client.request("/mounted/echo")
        if "mount" in on:
            assert (echo(mounted)["script_name"], echo(mounted)["path_info"]) == (
                "/mounted", "/echo"
            )  # fmt: skip
            assert echo(mounted)["version"] == version
            mounted_page = client.request("/mounted/page", headers=NAVIGATION)
            assert_page(mounted_page, expected, "livereload" in on)
        elif base:
            assert mounted.status == 404, mounted.raw[:300]
        else:
            assert echo(mounted)["path_info"] == "/mounted/echo"
        # --proxy: /api goes to the backend, whatever the app's prefix.
        proxied = client.request("/api/echo?x=1")
        if "proxy" in on:
            assert_proxied(proxied, client, False)
        elif base:
            assert proxied.status == 404, proxied.raw[:300]
        else:
            assert echo(proxied)["path_info"] == "/api/echo"
        # --script-name: a path outside the prefix is not the app's.
        if base:
            outside = client.request("/echo")
            assert outside.status == 404, outside.raw[:300]
    # An exception: Werkzeug's debugger with --debug, else a 500 that shows nothing of it.
    with Client(port) as client:
        boom = client.request(base + "/boom", headers=NAVIGATION)
        assert boom.status == 500, boom.raw[:300]
        if "debug" in on:
            assert (boom.header("Content-Type") or "").startswith("text/html")
            assert b"Werkzeug Debugger" in boom.body
            assert b"RuntimeError: boom for the debugger" in boom.body
            if "livereload" in on:  # the debugger's page reloads once the code is fixed
                assert boom.body.count(LIVE_SCRIPT) == 1
            # The debugger page's own resources, relative to its URL.
            style = client.request(base + "/boom?__debugger__=yes&cmd=resource&f=style.css")
            assert style.status == 200, style.raw[:300]
            assert (style.header("Content-Type") or "").startswith("text/css")
        else:
            assert b"Werkzeug" not in boom.body
            assert b"boom for the debugger" not in boom.body
    if "mount" in on:  # the debugger covers the mounted application too
        mounted_boom = get(port, "/mounted/boom", headers=NAVIGATION)
        assert mounted_boom.status == 500, mounted_boom.raw[:300]
        assert (b"Werkzeug Debugger" in mounted_boom.body) == ("debug" in on)
    # The Host check (on loopback): the app, the static files and the stream alike.
    served = [base + "/echo"] + (["/assets/hello.txt"] if "static" in on else [])
    for target in served:
        response = get(port, target, host="localhost:%d" % port)
        assert response.status == 200, (target, response.raw[:300])
    for target in [*served, ENDPOINT]:
        response = get(port, target, host="evil.example")
        assert response.status == 403, (target, response.raw[:300])
    # The event stream (answered by devserve, outside the app and its prefix).
    if "livereload" in on:
        assert_stream_says_hello(port, False)
    else:
        assert_no_stream(port, False)
    return seen


SECOND = APP_SOURCE.replace('VERSION = "first"', 'VERSION = "second"')


def wait_for_second_version(port: int, base: str, old_pid: int) -> dict[str, Any]:
    """Poll until a new child serves app.py's second version; return its /echo."""
    deadline = time.monotonic() + 2 * TIMEOUT
    while True:
        try:
            seen = echo(get(port, base + "/echo"))
        except (EOFError, ConnectionError):
            seen = {}  # accepted by the child that was stopping (in-flight requests are cut)
        if seen.get("version") == "second":
            assert seen["pid"] != old_pid
            return seen
        assert time.monotonic() < deadline, "restarted, still serving the old version"
        time.sleep(0.05)


def change_app_and_wait(
    server: DevserveProcess, site: Path, on: set[str], old_pid: int
) -> dict[str, Any]:
    """Edit app.py; wait until a new child serves the new version; return its /echo.

    A save the child's watcher missed is made again (see
    :func:`test_app_reload_sees_a_save_made_as_soon_as_the_child_answers`): the pairs
    are checked here, not that window.
    """
    for _attempt in range(3):
        (site / "app.py").write_text(SECOND)
        # Written again only if the child's watcher had not taken its first look yet:
        # a second write seen by the new child would restart it once more.
        if "Detected change in" in server.wait_for_stderr("Detected change in", timeout=2.0):
            break
    else:
        raise AssertionError("app.py changed, no restart: %s" % server.stderr)
    return wait_for_second_version(server.port, "/base" if "script-name" in on else "", old_pid)


@pytest.mark.parametrize("combo", APP_COMBOS, ids=ids(APP_COMBOS))
def test_app_flags_alone_and_in_pairs(
    combo: tuple[str, ...], site: Path, launch: Callable[..., DevserveProcess], backend: str
) -> None:
    on = set(combo)
    if "debug" in on:
        pytest.importorskip("werkzeug.debug")  # --debug is Werkzeug's debugger
    server = launch(*app_args(combo, site, backend), cwd=site)
    assert [line[0] for line in server.banner] == ["HTTP"] * len(server.banner)
    assert "App app.py:app - press Ctrl+C to stop" in server.stdout
    seen = check_app(server.port, on, "first")
    if "reload" in on:
        assert seen["pid"] != server.process.pid  # a child serves
        boot = None
        stream = None
        if "livereload" in on:
            stream = Client(server.port)
            assert stream.open_stream().status == 200
            hello = stream.event()["data"]
            boot = hello["boot"]
            # check_app's /boom stands, replayed after hello (--debug shows its own page).
            base = "/base" if "script-name" in on else ""
            booms = [] if "debug" in on else ["path %s/boom" % base]
            assert hello["failures"] == booms
            for key in booms:
                assert stream.event()["data"]["key"] == key
        try:
            change_app_and_wait(server, site, on, seen["pid"])
            if stream is not None:
                with pytest.raises(EOFError):
                    stream.event()  # the old child's stream ended with it
        finally:
            if stream is not None:
                stream.close()
        check_app(server.port, on, "second")
        if boot is not None:
            assert assert_stream_says_hello(server.port, False) != boot
    _out, err = assert_stopped_cleanly(server)
    tracebacks_are_the_apps(err)
    if "debug" in on:
        assert "Debugger is active!" in err
    if "reload" in on:
        assert re.search(r"Detected change in '[^']*app\.py'", err), err


def test_app_reload_sees_a_save_made_as_soon_as_the_child_answers(
    site: Path, launch: Callable[..., DevserveProcess]
) -> None:
    """A save made once the child answers is never lost.

    The same moment follows every restart: a second save (a formatter's, a checkout's)
    landing just as the new child serves must restart it again, or the old code stays.
    """
    server = launch(*app_args(("reload",), site), cwd=site)
    first = echo(get(server.port, "/echo"))
    assert first["run_main"] == "true"
    (site / "app.py").write_text(SECOND)
    # The watcher sees a save within a second (watchfiles at once, polling every 0.5 s).
    err = server.wait_for_stderr("Detected change in", timeout=3.0)
    assert "Detected change in" in err, "the save was lost: no restart in 3 s"
    wait_for_second_version(server.port, "", first["pid"])
    assert_stopped_cleanly(server)


def test_app_tls_served_by_the_reloaders_child_with_livereload(
    site: Path, certificate: tuple[Path, Path], launch: Callable[..., DevserveProcess]
) -> None:
    """The child adopts its parent's sockets: they must still speak TLS."""
    cert, key = (str(path) for path in certificate)
    server = launch(
        *app_args(("reload", "livereload"), site), "--tls-cert", cert, "--tls-key", key, cwd=site
    )
    assert [line[0] for line in server.banner] == ["HTTPS"] * len(server.banner)
    with Client(server.port, tls=True) as client:
        seen = echo(client.request("/echo"))
        assert seen["run_main"] == "true"
        expected = b"<!doctype html><html><body><h1>first</h1></body></html>"
        assert_injected(client.request("/page", headers=NAVIGATION), expected)
    assert_stream_says_hello(server.port, True)
    assert_stopped_cleanly(server)


# -- what both modes share ----------------------------------------------------------------

MODES = ("files", "app")


def mode_args(mode: str, site: Path, *extra: str) -> list[str]:
    if mode == "files":
        return ["0", "-d", str(site), *extra]
    return ["0", "--app", "app.py:app", "--static", "/assets=%s" % (site / "assets"), *extra]


class Variant(NamedTuple):
    """A mode and what is on besides: ``--cgi`` (files only) and ``--livereload``."""

    mode: str
    cgi: bool = False
    livereload: bool = False

    def args(self, site: Path, *extra: str) -> list[str]:
        flags = ["--cgi"] * self.cgi + ["--livereload"] * self.livereload
        return mode_args(self.mode, site, *flags, *extra)


VARIANTS = [
    Variant("files"),
    Variant("app"),
    Variant("files", cgi=True, livereload=True),
    Variant("app", livereload=True),
]
VARIANT_IDS = ["files", "app", "files-cgi-livereload", "app-livereload"]


def exchanges(variant: Variant, port: int) -> list[tuple[str, int, Response]]:
    """One of each kind of response the mode gives: ``(request line, expected status,
    response)`` each; successes, redirects, 304, errors and refusals."""
    if variant.mode == "files":
        targets = [("/hello.txt?n=1", 200), ("/missing?n=2", 404), ("/notes?n=3", 301)]
        targets += [("/?n=4", 200)]  # a page, navigated to
        if variant.cgi:
            targets += [("/cgi-bin/page.sh?n=5", 200)]
        validated = "/hello.txt"
    else:
        targets = [("/echo?n=1", 200), ("/assets/hello.txt?n=2", 200)]
        targets += [("/page?n=4", 200), ("/assets/page.html?n=5", 200)]
        targets += [("/assets/missing?n=3", 404), ("/boom?n=6", 500)]
        validated = "/assets/hello.txt"
    made = []
    with Client(port) as client:
        for target, status in targets:
            response = client.request(target, headers=NAVIGATION)
            made.append(("GET %s HTTP/1.1" % target, status, response))
        response = client.request("/hello.txt?n=7", method="HEAD")
        made.append(("HEAD /hello.txt?n=7 HTTP/1.1", 200, response))
        etag = client.request(validated + "?n=8").header("ETag") or "none"
        response = client.request(validated + "?n=9", headers=[("If-None-Match", etag)])
        made.append(("GET %s?n=9 HTTP/1.1" % validated, 304, response))
    refused = get(port, "/hello.txt?n=10", host="evil.example")
    made.append(("GET /hello.txt?n=10 HTTP/1.1", 403, refused))
    malformed = get(port, "/hello.txt?n=11", host="")  # HTTP/1.1 without Host
    made.append(("GET /hello.txt?n=11 HTTP/1.1", 400, malformed))
    for request_line, status, response in made:
        assert response.status == status, (request_line, response.raw[:300])
    return made


@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANT_IDS)
def test_quiet_logs_no_request(
    variant: Variant, site: Path, launch: Callable[..., DevserveProcess]
) -> None:
    server = launch(*variant.args(site, "-q"), cwd=site)
    exchanges(variant, server.port)
    _out, err = assert_stopped_cleanly(server)
    assert access_lines(err) == [], err
    assert 'HTTP/1.1" ' not in err


@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANT_IDS)
def test_access_log_is_one_line_per_response(
    variant: Variant, site: Path, launch: Callable[..., DevserveProcess]
) -> None:
    server = launch(*variant.args(site), cwd=site)
    made = exchanges(variant, server.port)
    server.wait_for_stderr('"%s"' % made[-1][0])
    _out, err = assert_stopped_cleanly(server)
    for request_line, _status, response in made:
        assert_logged_once(err, response, request_line)
    # One line per response, and the ETag lookup's (n=8) too: nothing else.
    assert len(access_lines(err)) == len(made) + 1, err


@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANT_IDS)
def test_header_option_on_every_response(
    variant: Variant, site: Path, launch: Callable[..., DevserveProcess]
) -> None:
    extra = ["-H", "X-Dev", "yes", "--header", "X-Two", "two words"]
    server = launch(*variant.args(site, *extra), cwd=site)
    made = [(line, response) for line, _status, response in exchanges(variant, server.port)]
    if variant.livereload:
        with Client(server.port) as client:
            made.append(("the event stream", client.open_stream()))
            assert client.event()["event"] == "hello"
        page = next(response for line, response in made if "?n=4 " in line)
        assert LIVE_SCRIPT in page.body  # the page, changed
    for what, response in made:
        assert response.all("X-Dev") == ["yes"], (what, response.raw[:400])
        assert response.all("X-Two") == ["two words"], (what, response.raw[:400])
    assert_stopped_cleanly(server)


def ipv6_loopback() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.parametrize(
    ("mode", "extra"),
    [("files", []), ("app", []), ("app", ["--reload"])],
    ids=["files", "app", "app-reload"],
)
def test_binds_both_loopback_addresses_by_default(
    mode: str, extra: list[str], site: Path, launch: Callable[..., DevserveProcess]
) -> None:
    server = launch(*mode_args(mode, site, *extra), cwd=site)
    target = "/echo" if mode == "app" else "/hello.txt"
    hosts = [host for _scheme, host, _port in server.banner]
    assert hosts[0] == "127.0.0.1"
    assert get(server.port, target).status == 200
    if not ipv6_loopback():
        assert_stopped_cleanly(server)
        pytest.skip("this machine has no IPv6 loopback: the ::1 half is not checked")
    assert hosts == ["127.0.0.1", "::1"], server.stdout
    assert {port for _scheme, _host, port in server.banner} == {server.port}
    with Client(server.port, address="::1") as client:
        response = client.request(target)
        assert response.status == 200, response.raw[:300]
        if mode == "app":
            seen = echo(response)
            assert seen["path_info"] == "/echo"
            assert seen["run_main"] == ("true" if "--reload" in extra else None)
            static = client.request("/assets/hello.txt")
            assert (static.status, static.body) == (200, STATIC), static.raw[:300]
        else:
            assert response.body == HELLO
    assert_stopped_cleanly(server)


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "devserve", *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT * 2,
        cwd=cwd,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": same_devserve_path()},
    )


@pytest.mark.parametrize(
    "extra",
    [["-d", "."], ["--app", "app.py:app"], ["--app", "app.py:app", "--reload"]],
    ids=["files", "app", "app-reload"],
)
def test_port_in_use_is_one_line_and_status_1(extra: list[str], site: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run(str(port), *extra, cwd=site)
    assert result.returncode == 1, result
    assert result.stderr == (
        "devserve: error: cannot listen on 127.0.0.1:%d: address already in use "
        "(try another port, or 0)\n" % port
    )
    assert "Serving" not in result.stdout


USAGE_SYNOPSIS = re.compile(r"usage: devserve .*|\s+\S.*")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--app", "app.py:app", "-d", "."], "-d/--directory serves a directory"),
        (["--app", "app.py:app", "--cgi"], "--cgi serves a directory"),
        (["--app", "app.py:app", "--compat"], "--compat serves a directory"),
        (["--reload"], "--reload needs Python code: --app MODULE:NAME or --mount"),
        (["--debug"], "--debug needs Python code: --app MODULE:NAME or --mount"),
        (["--reload", "--mount", "/files=."], "--reload needs Python code"),
        (["--static", "/assets=no-such-dir"], "cannot serve 'no-such-dir': not a directory"),
        (["--mount", "/=."], "the root is served by --app or the directory"),
        (["--mount", "assets"], "--mount wants PREFIX=TARGET"),
        (["--mount", "/a=no-such-dir"], "not a directory, nor MODULE:NAME"),
        (["--mount", "/a?b=."], "a mount prefix cannot hold"),
        (["--mount", "/cgi=cgi:no-such-dir"], "cannot run CGI scripts in 'no-such-dir'"),
        (["--compat", "--mount", "/api=app.py:app"], "--compat serves files as http.server"),
        (["--script-name", "/base"], "--script-name needs --app"),
        (["--tls", "adhoc", "--tls-cert", "cert.pem"], "cannot be combined with --tls-cert"),
    ],
    ids=[
        "app+directory",
        "app+cgi",
        "app+compat",
        "reload-without-code",
        "debug-without-code",
        "reload-with-only-directories",
        "static-missing-directory",
        "mount-root",
        "mount-without-prefix",
        "mount-missing-target",
        "mount-prefix-with-query",
        "mount-cgi-missing-directory",
        "compat+python-mount",
        "script-name-without-app",
        "tls-adhoc+tls-cert",
    ],
)
def test_refused_combinations_are_a_usage_error(args: list[str], message: str, site: Path) -> None:
    result = run("0", *args, cwd=site)
    assert result.returncode == 2, result
    assert result.stdout == ""  # nothing was served
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("devserve:")]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith("devserve: error: ")
    assert message in errors[0]
    # Anything else is argparse's usage synopsis, which comes with its usage errors.
    others = [line for line in result.stderr.splitlines() if line not in errors]
    assert all(USAGE_SYNOPSIS.fullmatch(line) for line in others), result.stderr
