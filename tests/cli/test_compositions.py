"""Every flag combination the command line accepts is served correctly or refused.

The bugs live in pairs, so each family's flags are tried alone and in every pair, over
real sockets, against ``python -m devserve`` in a subprocess:

- files: ``--cgi``, ``--livereload``, ``--allowed-host``, ``-q``, ``--compat`` and TLS;
- ``--app``: ``--static``, ``--livereload``, ``--debug``, ``--reload``, ``--script-name``.

Each started server is checked for what every flag of its family promises, on or
off, so a flag that breaks another one shows.  Then what both modes share (``-q``, the
access log, ``-H``, the two loopback sockets, a port in use) is checked in each mode,
and the combinations that cannot be served are refused with a usage error.
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
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from devserve.dev.livereload import ENDPOINT
from support.cli import DevserveProcess

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
        sock = socket.create_connection((address, port), timeout=TIMEOUT)
        if tls:
            sock = _tls_client_context().wrap_socket(sock, server_hostname="localhost")
        self.sock = sock
        self.host = "%s:%d" % ("[%s]" % address if ":" in address else address, port)
        self.buffer = b""
        self.taken = b""
        self.closed = False

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

    def _rest(self) -> bytes:
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
        """Send one request (*line* replaces the request line) and read its answer."""
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
        return self._rest(), "close"

    def open_stream(self, path: str = ENDPOINT) -> Response:
        """Ask for the live-reload event stream: its head (events follow), or the answer."""
        request = "GET %s HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\n\r\n"
        self.send((request % (path, self.host)).encode("latin-1"))
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


def assert_stream_says_hello(port: int, tls: bool) -> str:
    """The event stream answers 200 text/event-stream and starts with ``hello``."""
    with Client(port, tls=tls) as client:
        head = client.open_stream()
        assert head.status == 200, head.raw
        assert head.header("Content-Type") == "text/event-stream"
        event = client.event()
    assert event["event"] == "hello", event
    return str(event["data"]["boot"])


def assert_no_stream(port: int, tls: bool) -> None:
    with Client(port, tls=tls) as client:
        response = client.open_stream()
    assert not (response.header("Content-Type") or "").startswith("text/event-stream")


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
    assert "Keyboard interrupt received, exiting." in out
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


def pairs(names: Sequence[str]) -> list[tuple[str, ...]]:
    """Each name alone, then every pair."""
    return [(name,) for name in names] + list(itertools.combinations(names, 2))


def ids(combos: Sequence[tuple[str, ...]]) -> list[str]:
    return ["+".join(combo) for combo in combos]


# -- the files family ---------------------------------------------------------------------

FILES_FLAGS = ("cgi", "livereload", "allowed-host", "quiet", "compat", "tls")
FILES_COMBOS = pairs(FILES_FLAGS)


def files_args(combo: Sequence[str], site: Path, certificate: tuple[Path, Path]) -> list[str]:
    args = ["0", "-d", str(site)]
    for flag in combo:
        args += {
            "cgi": ["--cgi"],
            "livereload": ["--livereload"],
            "allowed-host": ["--allowed-host", "dev.test"],
            "quiet": ["-q"],
            "compat": ["--compat"],
            "tls": ["--tls-cert", str(certificate[0]), "--tls-key", str(certificate[1])],
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
        page = client.request("/", headers=NAVIGATION)
        if "livereload" in on:
            assert_injected(page, INDEX)
        else:
            assert (page.status, page.body) == (200, INDEX)
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
    for host, status in (
        ("dev.test", 200 if "allowed-host" in on else 403),
        ("evil.example", 403),
        ("localhost", 200),
        ("localhost:%d" % port, 200),
    ):
        response = get(port, "/hello.txt", tls=tls, host=host)
        assert response.status == status, (host, response.raw[:300])
    # The event stream.
    if "livereload" in on:
        assert_stream_says_hello(port, tls)
    else:
        assert_no_stream(port, tls)


@pytest.mark.parametrize("combo", FILES_COMBOS, ids=ids(FILES_COMBOS))
def test_files_flags_alone_and_in_pairs(
    combo: tuple[str, ...],
    site: Path,
    certificate: tuple[Path, Path],
    launch: Callable[..., DevserveProcess],
) -> None:
    on = set(combo)
    server = launch(*files_args(combo, site, certificate))
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
        assert HELLO not in client._rest()
    _out, err = assert_stopped_cleanly(server)
    assert "Traceback" not in err


# -- the --app family ---------------------------------------------------------------------

APP_FLAGS = ("static", "livereload", "debug", "reload", "script-name")
APP_COMBOS = pairs(APP_FLAGS)


def app_args(combo: Sequence[str], site: Path) -> list[str]:
    args = ["0", "--app", "app.py:app"]
    for flag in combo:
        args += {
            "static": ["--static", "/assets=%s" % (site / "assets")],
            "livereload": ["--livereload"],
            "debug": ["--debug"],
            "reload": ["--reload"],
            "script-name": ["--script-name", "/base"],
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
        if "livereload" in on:
            assert_injected(page, expected)
        else:
            assert (page.status, page.body) == (200, expected)
        assert LIVE_SCRIPT not in client.request(base + "/json", headers=NAVIGATION).body
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
        else:
            assert b"Werkzeug" not in boom.body
            assert b"boom for the debugger" not in boom.body
    # The event stream (answered by devserve, outside the app and its prefix).
    if "livereload" in on:
        assert_stream_says_hello(port, False)
    else:
        assert_no_stream(port, False)
    return seen


def change_app_and_wait(site: Path, port: int, on: set[str], old_pid: int) -> dict[str, Any]:
    """Edit app.py; poll until a new child serves the new version; return its /echo."""
    base = "/base" if "script-name" in on else ""
    source = (site / "app.py").read_text().replace('VERSION = "first"', 'VERSION = "second"')
    deadline = time.monotonic() + 4 * TIMEOUT
    written = 0.0
    while True:
        if time.monotonic() - written > 2.0:
            # Again if the child's watcher took its first look after the last write.
            (site / "app.py").write_text(source)
            written = time.monotonic()
        seen = echo(get(port, base + "/echo"))
        if seen["version"] == "second":
            assert seen["pid"] != old_pid
            return seen
        assert time.monotonic() < deadline, "app.py changed, still serving the old version"
        time.sleep(0.05)


@pytest.mark.parametrize("combo", APP_COMBOS, ids=ids(APP_COMBOS))
def test_app_flags_alone_and_in_pairs(
    combo: tuple[str, ...], site: Path, launch: Callable[..., DevserveProcess]
) -> None:
    on = set(combo)
    server = launch(*app_args(combo, site), cwd=site)
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
            boot = stream.event()["data"]["boot"]
        try:
            change_app_and_wait(site, server.port, on, seen["pid"])
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


# -- what both modes share ----------------------------------------------------------------

MODES = ("files", "app")


def mode_args(mode: str, site: Path, *extra: str) -> list[str]:
    if mode == "files":
        return ["0", "-d", str(site), *extra]
    return ["0", "--app", "app.py:app", "--static", "/assets=%s" % (site / "assets"), *extra]


def exchanges(mode: str, port: int) -> list[tuple[str, Response]]:
    """One of each kind of response the mode gives; ``(request line, response)`` each."""
    made: list[tuple[str, Response]] = []
    targets = ["/hello.txt?n=1", "/missing?n=2", "/cgi-bin?n=3"]
    if mode == "app":
        targets = ["/echo?n=1", "/assets/hello.txt?n=2", "/assets/missing?n=3", "/boom?n=4"]
    clients = [Client(port)]
    try:
        for target in targets:
            if clients[-1].closed:  # an error may close the connection
                clients.append(Client(port))
            made.append(("GET %s HTTP/1.1" % target, clients[-1].request(target)))
        if clients[-1].closed:
            clients.append(Client(port))
        response = clients[-1].request("/hello.txt?n=5", method="HEAD")
        made.append(("HEAD /hello.txt?n=5 HTTP/1.1", response))
    finally:
        for client in clients:
            client.close()
    refused = get(port, "/hello.txt?n=6", host="evil.example")
    made.append(("GET /hello.txt?n=6 HTTP/1.1", refused))
    malformed = get(port, "/hello.txt?n=7", host="")  # HTTP/1.1 without Host: 400
    made.append(("GET /hello.txt?n=7 HTTP/1.1", malformed))
    return made


EXPECTED_STATUSES = {
    "files": [200, 404, 301, 200, 403, 400],
    "app": [200, 200, 404, 500, 200, 403, 400],
}


@pytest.mark.parametrize("mode", MODES)
def test_quiet_logs_no_request(
    mode: str, site: Path, launch: Callable[..., DevserveProcess]
) -> None:
    server = launch(*mode_args(mode, site, "-q"), cwd=site)
    made = exchanges(mode, server.port)
    assert [response.status for _, response in made] == EXPECTED_STATUSES[mode]
    _out, err = assert_stopped_cleanly(server)
    assert access_lines(err) == [], err
    assert 'HTTP/1.1" ' not in err


@pytest.mark.parametrize("mode", MODES)
def test_access_log_is_one_line_per_response(
    mode: str, site: Path, launch: Callable[..., DevserveProcess]
) -> None:
    server = launch(*mode_args(mode, site), cwd=site)
    made = exchanges(mode, server.port)
    assert [response.status for _, response in made] == EXPECTED_STATUSES[mode]
    server.wait_for_stderr('"%s"' % made[-1][0])
    _out, err = assert_stopped_cleanly(server)
    for request_line, response in made:
        assert_logged_once(err, response, request_line)
    assert len(access_lines(err)) == len(made), err


@pytest.mark.parametrize(
    ("mode", "livereload"),
    [("files", False), ("app", False), ("files", True), ("app", True)],
    ids=["files", "app", "files-livereload", "app-livereload"],
)
def test_header_option_on_every_response(
    mode: str, livereload: bool, site: Path, launch: Callable[..., DevserveProcess]
) -> None:
    extra = ["-H", "X-Dev", "yes", "--header", "X-Two", "two words"]
    if livereload:
        extra.append("--livereload")
    server = launch(*mode_args(mode, site, *extra), cwd=site)
    made = exchanges(mode, server.port)
    with Client(server.port) as client:
        page = "/page" if mode == "app" else "/"
        made.append(("page", client.request(page, headers=NAVIGATION)))
        target = "/assets/hello.txt" if mode == "app" else "/hello.txt"
        first = client.request(target)
        etag = first.header("ETag") or ""
        made.append(("304", client.request(target, headers=[("If-None-Match", etag)])))
    if livereload:
        with Client(server.port) as client:
            made.append(("stream", client.open_stream()))
    for what, response in made:
        assert response.all("X-Dev") == ["yes"], (what, response.raw[:400])
        assert response.all("X-Two") == ["two words"], (what, response.raw[:400])
    statuses = {response.status for _, response in made}
    assert {200, 304, 403, 400, 404} <= statuses
    if livereload:
        assert LIVE_SCRIPT in dict(made)["page"].body
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


@pytest.mark.parametrize("mode", MODES)
def test_binds_both_loopback_addresses_by_default(
    mode: str, site: Path, launch: Callable[..., DevserveProcess]
) -> None:
    server = launch(*mode_args(mode, site), cwd=site)
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
        assert echo(response)["path_info"] == "/echo"
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
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
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
        (["--reload"], "--reload needs --app"),
        (["--debug"], "--debug needs --app"),
        (["--static", "/assets=assets"], "--static needs --app"),
        (["--script-name", "/base"], "--script-name needs --app"),
        (["--tls", "adhoc", "--tls-cert", "cert.pem"], "cannot be combined with --tls-cert"),
    ],
    ids=[
        "app+directory",
        "app+cgi",
        "app+compat",
        "reload-without-app",
        "debug-without-app",
        "static-without-app",
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
