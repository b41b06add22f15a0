"""HandlerApp: handler classes as WSGI applications, over real servers and sockets.

The handlers of ``tests/apps/handlers.py`` answer the same requests on devserve's
ThreadingHTTPServer (the stdlib's, for the stdlib's file handler) and, through
HandlerApp, under gunicorn (a subprocess), waitress (a thread) and WebTest; the answers
must be the same, the fields a server sets for itself aside.  Then what only HandlerApp
does: streaming, constant memory, the request as the handler sees it, and the errors
for what cannot map.  Each server is required under ``CI=true``: missing, the test
fails instead of being skipped.
"""

from __future__ import annotations

import contextlib
import email.utils
import functools
import http.client
import http.server
import importlib.util
import io
import json
import os
import socket
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import devserve
from apps.handlers import HELLO, Quiet, dispatcher, handler_factories
from devserve.wsgi.handler_app import HandlerApp, HandlerAppError
from support import processes
from support.cli import same_devserve_path
from support.sockets import RunningServer

TESTS = Path(__file__).resolve().parent.parent
TIMEOUT = 10
# What a server says about itself or its connection: not the handler's answer.
SERVERS_OWN = {"date", "server", "connection", "keep-alive", "transfer-encoding", "via"}
MTIME = 1_700_000_000
DATA = bytes(range(100)) * 10


def require(module: str) -> Any:
    """Import *module*; skip without it, or fail under ``CI=true``, where every server must run."""
    if importlib.util.find_spec(module) is None:
        reason = "%s is not installed (pip install -e .[test])" % module
        if os.environ.get("CI") == "true":
            pytest.fail(reason + " (CI=true: the HandlerApp tests must run under it)")
        pytest.skip(reason)
    with warnings.catch_warnings():
        # WebOb, under WebTest, imports the cgi module, deprecated since Python 3.11.
        warnings.simplefilter("ignore", DeprecationWarning)
        return importlib.import_module(module)


# -- servers --------------------------------------------------------------------


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("handler-app-root")
    (directory / "data.bin").write_bytes(DATA)
    (directory / "hello.txt").write_text("hello file\n")
    for path in directory.iterdir():
        os.utime(path, (MTIME, MTIME))
    return directory


Address = tuple[str, int]


@pytest.fixture(scope="module")
def gunicorn(root: Path) -> Iterator[tuple[Address, int]]:
    """gunicorn serving every handler (``X-Handler``) from a subprocess: its address and pid."""
    require("gunicorn")
    port = processes.free_port()
    argv = [sys.executable, "-m", "gunicorn", "--worker-class", "gthread", "--workers", "1",
            "--threads", "4", "--bind", "127.0.0.1:%d" % port, "--chdir", str(TESTS),
            "--log-level", "warning", "apps.handlers:dispatcher(%r)" % str(root)]  # fmt: skip
    proc = processes.start(argv, env={"PYTHONPATH": same_devserve_path()})
    try:
        processes.wait_for_port(port, proc)
        yield ("127.0.0.1", port), proc.pid
    finally:
        processes.stop(proc)


@pytest.fixture(scope="module")
def waitress_address(root: Path) -> Iterator[Address]:
    server: Any = require("waitress.server").create_server(
        dispatcher(str(root)), host="127.0.0.1", port=0, threads=4
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield "127.0.0.1", int(server.effective_port)
    finally:
        server.close()
        server.task_dispatcher.shutdown()
        thread.join(TIMEOUT)


class Recorder:
    """A WSGI application that keeps the headers it gives ``start_response``.

    WebTest adds a ``Content-Length`` the handler did not send; these are the handler's.
    """

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app
        self.headers: list[tuple[str, str]] = []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        def record(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            self.headers = list(headers)
            return start_response(status, headers, exc_info)

        return self.app(environ, record)


@pytest.fixture(scope="module")
def webtest_app(root: Path) -> Any:
    return require("webtest").TestApp(Recorder(dispatcher(str(root))))


# -- clients --------------------------------------------------------------------


class Case:
    """One request to one handler, and how to send it."""

    def __init__(
        self,
        handler: str,
        method: str = "GET",
        path: str = "/",
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        *,
        chunked: bool = False,
        repeat: int = 1,
    ) -> None:
        self.handler, self.method, self.path = handler, method, path
        self.headers = {"X-Handler": handler, **(headers or {})}
        self.body, self.chunked, self.repeat = body, chunked, repeat


Answer = tuple[int, bytes, list[tuple[str, str]]]


def observe(status: int, body: bytes, headers: list[tuple[str, str]]) -> Answer:
    """What a client sees of the handler's answer: the server's own fields left out."""
    fields = sorted((name.lower(), value) for name, value in headers)
    return status, body, [(name, value) for name, value in fields if name not in SERVERS_OWN]


def over_http(address: Address, case: Case) -> list[Answer]:
    """Send *case* over one persistent connection (*repeat* times), as http.client does."""
    connection = http.client.HTTPConnection(*address, timeout=TIMEOUT)
    answers = []
    try:
        for _ in range(case.repeat):
            body: Any = case.body
            if case.chunked and body is not None:
                body = iter([body[:3], body[3:]])
            connection.request(case.method, case.path, body=body, headers=case.headers,
                               encode_chunked=case.chunked)  # fmt: skip
            response = connection.getresponse()
            answers.append(observe(response.status, response.read(), response.getheaders()))
    finally:
        connection.close()
    return answers


def over_webtest(app: Any, case: Case) -> list[Answer]:
    """Send *case* through WebTest; a chunked body is what a server hands on after decoding it."""
    answers = []
    for _ in range(case.repeat):
        request = require("webob").Request.blank(
            case.path, method=case.method, headers=case.headers
        )
        if case.body is not None:
            request.body = case.body
        if case.chunked:
            del request.environ["CONTENT_LENGTH"]
            request.environ["HTTP_TRANSFER_ENCODING"] = "chunked"
            request.environ["wsgi.input_terminated"] = True
        # WebTest says HTTP/1.0 unless told; the other servers are asked in HTTP/1.1.
        request.environ["SERVER_PROTOCOL"] = "HTTP/1.1"
        response = app.do_request(request, status="*", expect_errors=True)
        answers.append(observe(response.status_int, response.body, app.app.headers))
    return answers


def own_server(factory: Any, server_class: Any = devserve.ThreadingHTTPServer) -> RunningServer:
    return RunningServer(server_class(("127.0.0.1", 0), factory))


# -- parity ---------------------------------------------------------------------

MODIFIED = email.utils.formatdate(MTIME, usegmt=True)
TEXT = {"Content-Type": "text/plain"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
CASES = {
    "hello": Case("hello"),
    "post-length": Case("echo", "POST", "/echo?x=1", {"X-Custom": "a, b", **FORM}, b"a=1&b=2"),
    "post-chunked": Case("read-body", "POST", "/", TEXT, b"abcdef", chunked=True),
    "stream-no-length": Case("stream"),
    "handler-chunks": Case("chunked"),
    "send-error-404": Case("errors", path="/404"),
    "send-error-500": Case("errors", path="/500"),
    # gunicorn reads away a small unread body, and closes after a large one (without
    # saying so, for a plain WSGI application too): a small one, twice on a connection.
    "body-never-read": Case("ignore", "POST", "/", TEXT, b"x" * 1000, repeat=2),
    "files-range": Case("files", path="/data.bin", headers={"Range": "bytes=10-19"}),
    "files-conditional": Case("files", path="/data.bin", headers={"If-Modified-Since": MODIFIED}),
    "files-listing": Case("files", path="/"),
    "files-missing": Case("files", path="/missing.txt"),
    "stdlib-files": Case("stdlib-files", path="/hello.txt"),
    "stdlib-files-conditional": Case(
        "stdlib-files", path="/hello.txt", headers={"If-Modified-Since": MODIFIED}
    ),
    "stdlib-files-listing": Case("stdlib-files", path="/"),
}
# What the handlers answer on their own server: the parity below is not of empty answers.
EXPECTED_ON_OWN_SERVER = {
    "hello": (200, HELLO),
    "post-chunked": (200, b"6:abcdef"),
    "stream-no-length": (200, b"first,second,third"),
    "handler-chunks": (200, b"one,two,three"),
    "send-error-404": (404, None),
    "send-error-500": (500, None),
    "body-never-read": (200, b"ignored"),
    "files-range": (206, DATA[10:20]),
    "files-conditional": (304, b""),
    "files-missing": (404, None),
    "stdlib-files": (200, b"hello file\n"),
    "stdlib-files-conditional": (304, b""),
}


@pytest.fixture(scope="module")
def own_answers(root: Path) -> Callable[[str], list[Answer]]:
    """Each case answered by its handler on its own server, once."""
    factories = handler_factories(str(root))
    cache: dict[str, list[Answer]] = {}

    def answer(name: str) -> list[Answer]:
        if name not in cache:
            case = CASES[name]
            stdlib = case.handler.startswith("stdlib")
            server_class = (http.server if stdlib else devserve).ThreadingHTTPServer
            server = own_server(factories[case.handler], server_class)
            try:
                cache[name] = over_http(server.address, case)
            finally:
                server.stop()
        return cache[name]

    return answer


@pytest.mark.parametrize("name", sorted(EXPECTED_ON_OWN_SERVER))
def test_the_handlers_answer_on_their_own_server(
    name: str, own_answers: Callable[[str], list[Answer]]
) -> None:
    status, body = EXPECTED_ON_OWN_SERVER[name]
    answers = own_answers(name)
    assert [answer[0] for answer in answers] == [status] * len(answers)
    if body is not None:
        assert answers[0][1] == body


@pytest.mark.parametrize("name", list(CASES))
def test_same_answer_under_gunicorn(
    name: str, own_answers: Callable[[str], list[Answer]], gunicorn: tuple[Address, int]
) -> None:
    assert over_http(gunicorn[0], CASES[name]) == own_answers(name)


@pytest.mark.parametrize("name", list(CASES))
def test_same_answer_under_waitress(
    name: str, own_answers: Callable[[str], list[Answer]], waitress_address: Address
) -> None:
    assert over_http(waitress_address, CASES[name]) == own_answers(name)


@pytest.mark.parametrize("name", list(CASES))
def test_same_answer_through_webtest(
    name: str, own_answers: Callable[[str], list[Answer]], webtest_app: Any
) -> None:
    assert over_webtest(webtest_app, CASES[name]) == own_answers(name)


# -- the request as the handler sees it -------------------------------------------


def test_a_chunked_body_reaches_the_handler_with_its_length(
    gunicorn: tuple[Address, int], waitress_address: Address
) -> None:
    case = Case("echo", "POST", "/up", {"Content-Type": "text/plain"}, b"abcdef", chunked=True)
    for address in (gunicorn[0], waitress_address):
        [(status, body, _)] = over_http(address, case)
        seen = json.loads(body)
        assert (status, seen["body"], seen["content_length"]) == (200, "abcdef", "6")
        assert seen["transfer_encoding"] is None


def test_the_server_answers_expect_and_the_handler_reads_the_body(
    gunicorn: tuple[Address, int],
) -> None:
    headers = {"Expect": "100-continue", "Content-Type": "text/plain"}
    [(status, body, _)] = over_http(gunicorn[0], Case("echo", "POST", "/", headers, b"abc"))
    seen = json.loads(body)
    assert (status, seen["body"], seen["expect"]) == (200, "abc", None)


def test_request_line_and_fields(gunicorn: tuple[Address, int]) -> None:
    case = Case("echo", path="/a%2Fb/c?q=%20x", headers={"X-Custom": "1"})
    [(status, body, _)] = over_http(gunicorn[0], case)
    seen = json.loads(body)
    assert status == 200
    assert (seen["command"], seen["path"], seen["request_version"]) == (
        "GET", "/a%2Fb/c?q=%20x", "HTTP/1.1"
    )  # fmt: skip
    assert seen["x_custom"] == ["1"]


def test_client_address_and_server_name(gunicorn: tuple[Address, int]) -> None:
    address = gunicorn[0]
    with socket.create_connection(address, timeout=TIMEOUT) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Handler: facts\r\nConnection: close\r\n\r\n")
        response = http.client.HTTPResponse(sock)
        response.begin()
        facts = json.loads(response.read())
        local = sock.getsockname()
    assert facts["client"] == [local[0], local[1]]
    assert facts["server_port"] == address[1]


def test_the_stdlib_file_handler_under_gunicorn(root: Path, gunicorn: tuple[Address, int]) -> None:
    [(status, body, headers)] = over_http(gunicorn[0], Case("stdlib-files", path="/hello.txt"))
    assert (status, body) == (200, b"hello file\n")
    assert ("last-modified", MODIFIED) in headers


class QuietStdlibFiles(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_under_a_script_name_the_handler_sees_the_path_below_it(tmp_path: Path) -> None:
    # waitress's url_prefix sets SCRIPT_NAME, as a proxy mounting the tool would.
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "page.txt").write_text("below")
    app = HandlerApp(functools.partial(QuietStdlibFiles, directory=str(tmp_path)))
    server: Any = require("waitress.server").create_server(
        app, host="127.0.0.1", port=0, threads=2, url_prefix="/tool"
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        connection = http.client.HTTPConnection("127.0.0.1", server.effective_port, timeout=TIMEOUT)
        connection.request("GET", "/tool/sub/page.txt")
        response = connection.getresponse()
        assert (response.status, response.read()) == (200, b"below")
        # http.server's redirect is built from its own path: the prefix is put back.
        connection.request("GET", "/tool/sub")
        response = connection.getresponse()
        response.read()
        assert (response.status, response.getheader("Location")) == (301, "/tool/sub/")
        connection.close()
    finally:
        server.close()
        server.task_dispatcher.shutdown()
        thread.join(TIMEOUT)


# -- streaming --------------------------------------------------------------------


def _first_bytes_before_the_handler_returns(address: Address, release: Path) -> None:
    request = ("GET /?wait=%s HTTP/1.1\r\nHost: x\r\nX-Handler: stream\r\nConnection: close\r\n\r\n"
               % release)  # fmt: skip
    with socket.create_connection(address, timeout=TIMEOUT) as sock:
        sock.sendall(request.encode())
        received = b""
        while b"first," not in received:
            data = sock.recv(65536)
            assert data, "the connection closed before the first part"
            received += data
        # The handler is now waiting for the release file: nothing else can have been sent.
        assert b"second" not in received
        release.touch()
        while data := sock.recv(65536):
            received += data
    body = received.partition(b"\r\n\r\n")[2]
    assert b"released," in body
    assert b"timed out" not in body


def test_first_bytes_reach_the_client_before_the_handler_returns(
    tmp_path: Path, gunicorn: tuple[Address, int], waitress_address: Address
) -> None:
    for name, address in (("gunicorn", gunicorn[0]), ("waitress", waitress_address)):
        _first_bytes_before_the_handler_returns(address, tmp_path / ("release-" + name))


#: The size of the large body: 1 GiB streams in about three seconds here.
LARGE = 1 << 30


def _peak_rss(pid: int) -> int:
    for line in Path("/proc/%d/status" % pid).read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM for %d" % pid)


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _download(address: Address, size: int) -> int:
    request = "GET /%d HTTP/1.1\r\nHost: x\r\nX-Handler: large\r\nConnection: close\r\n\r\n" % size
    buffer = bytearray(1 << 20)
    total = 0
    with socket.create_connection(address, timeout=TIMEOUT) as sock:
        sock.sendall(request.encode())
        while count := sock.recv_into(buffer):
            total += count
    return total


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_a_large_body_streams_in_constant_memory(gunicorn: tuple[Address, int]) -> None:
    address, master = gunicorn
    [worker] = _children(master)
    assert _download(address, 1 << 20) > 1 << 20  # the worker's buffers, warmed up
    before = _peak_rss(worker)
    received = _download(address, LARGE)
    growth = _peak_rss(worker) - before
    assert received > LARGE
    assert growth < 4 << 20, "the worker's peak RSS grew by %.1f MiB" % (growth / 2**20)


# -- what cannot map, and the details ---------------------------------------------


def call(app: Any, path: str = "/", **environ: Any) -> tuple[str, list[tuple[str, str]], bytes]:
    """Call *app* as a WSGI server would, with its body written through ``write``."""
    request = require("webob").Request.blank(path)
    request.environ.update(environ)
    started: list[Any] = []
    written: list[bytes] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started[:] = [status, headers]
        return written.append

    body = b"".join(app(request.environ, start_response))
    return started[0], started[1], b"".join(written) + body


class RawSocket(Quiet):
    def do_GET(self) -> None:
        self.connection.recv(1)


class Upgrade(Quiet):
    def do_GET(self) -> None:
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.end_headers()


class Silent(Quiet):
    def do_GET(self) -> None:
        pass


class Short(Quiet):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "10")
        self.end_headers()
        self.wfile.write(b"12345")


class Interim(Quiet):
    def do_GET(self) -> None:
        self.send_response_only(103)
        self.send_header("Link", "</a.css>; rel=preload")
        self.end_headers()
        self.reply(b"final")


class Logs(devserve.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.log_message("note %s", "\x1b[31m")
        self.send_error(404)


def test_a_handler_that_uses_its_socket_gets_a_clear_error() -> None:
    with pytest.raises(HandlerAppError, match=r"connection\.recv.*WSGI server owns"):
        call(HandlerApp(RawSocket))


def test_switching_protocols_is_an_error() -> None:
    with pytest.raises(HandlerAppError, match="101"):
        call(HandlerApp(Upgrade))


def test_http_0_9_is_answered_505() -> None:
    status, _, body = call(HandlerApp(Silent), SERVER_PROTOCOL="HTTP/0.9")
    assert status.startswith("505 ")
    assert b"505" in body


def test_a_handler_that_writes_nothing_is_an_error() -> None:
    with pytest.raises(HandlerAppError, match="no response"):
        call(HandlerApp(Silent))


def test_a_body_short_of_its_length_is_an_error() -> None:
    with pytest.raises(HandlerAppError, match="5 bytes short"):
        call(HandlerApp(Short))


def test_interim_responses_are_dropped() -> None:
    status, headers, body = call(HandlerApp(Interim))
    assert (status, body) == ("200 OK", b"final")
    assert "Link" not in dict(headers)


def test_the_handler_chunks_are_decoded_and_framing_fields_dropped() -> None:
    status, headers, body = call(HandlerApp(handler_factories("/")["chunked"]))
    assert (status, body) == ("200 OK", b"one,two,three")
    assert {name.lower() for name, _ in headers} == {"content-type"}


def chunking(*writes: bytes) -> type[devserve.BaseHTTPRequestHandler]:
    """A handler that frames its own body in chunks and writes *writes* as they are."""

    class Chunking(Quiet):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for data in writes:
                self.wfile.write(data)

    return Chunking


def test_a_chunked_body_is_read_to_its_last_chunk_and_trailers() -> None:
    # Read by the core (a BodyScanner), in whatever pieces it is written; the trailer
    # section is dropped (WSGI has no way to send it), and what follows is logged.
    errors = io.StringIO()
    app = HandlerApp(chunking(b"3\r\none\r", b"\n4;x=y\r\n,two\r\n0\r\nT: v\r\n\r\nmore"))
    status, _, body = call(app, **{"wsgi.errors": errors})
    assert (status, body) == ("200 OK", b"one,two")
    assert "4 bytes written after the end of the response were dropped" in errors.getvalue()


class AnnouncesTrailers(Quiet):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Trailer", "X-Sum")
        self.end_headers()
        self.wfile.write(b"2\r\nok\r\n0\r\nX-Sum: 1\r\n\r\n")


def test_a_trailer_announced_is_not_passed_on_as_its_trailers_are_dropped() -> None:
    status, headers, body = call(HandlerApp(AnnouncesTrailers))
    assert (status, body) == ("200 OK", b"ok")
    assert "trailer" not in {name.lower() for name, _ in headers}


@pytest.mark.parametrize(
    ("writes", "error"),
    [
        ((b"3\r\none\r\n",), "ended without its last chunk"),
        ((b"3\r\noneX\r\n0\r\n\r\n",), "malformed"),  # data not followed by CRLF
        ((b"zz\r\n",), "malformed"),
        ((b"0\r\nContent-Length: 5\r\n\r\n",), "malformed"),  # a forbidden trailer
    ],
    ids=["no-last-chunk", "data-without-crlf", "bad-size", "forbidden-trailer"],
)
def test_a_chunked_body_the_core_refuses_is_an_error(writes: tuple[bytes], error: str) -> None:
    with pytest.raises(HandlerAppError, match=error):
        call(HandlerApp(chunking(*writes)))


class Swallowing(Quiet):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for data in (b"3\r\none\r\n", b"zz\r\n", b"3\r\ntwo\r\n0\r\n\r\n"):
            with contextlib.suppress(HandlerAppError):  # a handler that goes on regardless
                self.wfile.write(data)


def test_a_malformed_chunked_body_is_an_error_even_when_the_handler_swallows_it() -> None:
    with pytest.raises(HandlerAppError, match="malformed"):
        call(HandlerApp(Swallowing))


def test_a_chunked_body_over_the_limit_is_413() -> None:
    app = HandlerApp(handler_factories("/")["read-body"])
    app.max_spooled_body = 5
    environ = {"REQUEST_METHOD": "POST", "HTTP_TRANSFER_ENCODING": "chunked",
               "wsgi.input": io.BytesIO(b"abcdef"), "wsgi.input_terminated": True}  # fmt: skip
    status, _, _ = call(app, **environ)
    assert status.startswith("413 ")


def test_the_stock_log_message_writes_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    # As on its own server: gunicorn and waitress keep stderr as their error log.
    errors = io.StringIO()
    status, _, _ = call(HandlerApp(Logs), REMOTE_ADDR="192.0.2.1", **{"wsgi.errors": errors})
    assert status.startswith("404 ")
    logged = capsys.readouterr().err
    lines = logged.splitlines()
    assert lines[0].startswith("192.0.2.1 - - [")
    assert lines[0].endswith("note \\x1b[31m")
    assert '"GET / HTTP/1.0" 404' in logged
    assert errors.getvalue() == ""


class StdlibIgnores(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # the stdlib reads its next request after the body it left

    def do_POST(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_the_request_ends_with_its_response() -> None:
    # On its own server this handler would read "GET / HTTP/1.1" from the body it left
    # as a second request; here rfile ends once the response is complete.
    errors = io.StringIO()
    left = b"GET / HTTP/1.1\r\n\r\n"
    environ = {"REQUEST_METHOD": "POST", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.errors": errors,
               "CONTENT_LENGTH": str(len(left)), "wsgi.input": io.BytesIO(left)}  # fmt: skip
    status, _, body = call(HandlerApp(StdlibIgnores), **environ)
    assert (status, body, errors.getvalue()) == ("200 OK", b"ok", "")


class Buffered(Quiet):
    wbufsize = -1  # wfile is a BufferedWriter: the response leaves when it is flushed

    def do_GET(self) -> None:
        self.reply(b"buffered")


def test_a_buffered_wfile() -> None:
    status, headers, body = call(HandlerApp(Buffered))
    assert (status, body) == ("200 OK", b"buffered")
    assert ("Content-Length", "8") in headers


def test_a_partial_of_the_stdlib_file_handler(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    factory = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    status, headers, body = call(HandlerApp(factory), "/hello.txt")
    assert (status, body) == ("200 OK", b"hello file\n")
    assert dict(headers)["Content-Length"] == "11"
    assert '"GET /hello.txt HTTP/1.0" 200' in capsys.readouterr().err


@pytest.mark.parametrize("wrong", [object(), devserve.WSGIServer, functools.partial(print)])
def test_only_handler_classes_are_accepted(wrong: Any) -> None:
    with pytest.raises(TypeError, match="BaseHTTPRequestHandler"):
        HandlerApp(wrong)


class FixedRedirect(Quiet):
    """The same head, byte for byte, every time (no Date, no Server)."""

    def do_GET(self) -> None:
        self.send_response_only(302)
        self.send_header("Location", "/there")
        self.send_header("Content-Length", "0")
        self.end_headers()


def test_a_head_read_again_is_given_fresh_to_each_call() -> None:
    # A head is read once and remembered: what a server does to the fields it is
    # given, and the SCRIPT_NAME a call is mounted under, stay that call's.
    app = HandlerApp(FixedRedirect)
    seen = []
    for script_name in ("", "/a", "/b", "/a"):
        status, headers, _ = call(app, SCRIPT_NAME=script_name)
        seen.append((status, dict(headers)["Location"]))
        headers.append(("X-Added-By-The-Server", "1"))
        headers[0] = ("Location", "/changed")
    assert seen == [("302 Found", "/there"), ("302 Found", "/a/there"),
                    ("302 Found", "/b/there"), ("302 Found", "/a/there")]  # fmt: skip
    _, headers, _ = call(app)
    assert headers == [("Location", "/there"), ("Content-Length", "0")]


@pytest.mark.parametrize(
    "field", [{"HTTP_X_BAD": "a\x01b"}, {"HTTP_X_BAD": "a\nb"}, {"HTTP_X BAD": "v"}],
    ids=["control", "line-feed", "name-with-a-space"],
)  # fmt: skip
def test_fields_no_parser_would_accept_are_400(field: dict[str, str]) -> None:
    # devserve's handlers take the request parsed; what a server let through that
    # devserve's own parser refuses is refused as that parser would refuse it.
    status, _, body = call(HandlerApp(handler_factories("/")["hello"]), **field)
    assert status.startswith("400 "), (status, body)


def test_a_value_outside_latin_1_is_not_a_failure() -> None:
    # PEP 3333 strings carry latin-1; a server that broke the rule is not the handler's.
    status, _, body = call(HandlerApp(handler_factories("/")["hello"]), HTTP_X_EURO="\u20ac")
    assert status.startswith("200 "), (status, body)


@pytest.mark.parametrize(
    ("environ", "status"),
    [
        ({"PATH_INFO": "/" + "a" * 70000}, "414 "),
        ({"HTTP_X_%d" % n: "v" for n in range(120)}, "431 "),
        ({"HTTP_X_BIG": "v" * 70000}, "431 "),
    ],
    ids=["long-target", "many-fields", "long-field"],
)
def test_the_handler_limits_apply_to_a_request_given_parsed(
    environ: dict[str, str], status: str
) -> None:
    # As they would to the same request read as bytes (RAW_URI is the server's own).
    app = HandlerApp(handler_factories("/")["hello"])
    answer, _, body = call(app, **environ)
    assert answer.startswith(status), (answer, body[:200])


class ReadsItsOwnRequest(Quiet):
    """An http.server-style class that reads the request line itself."""

    def handle_one_request(self) -> None:
        self.raw_requestline = self.rfile.readline(65537)
        if not self.raw_requestline:
            self.close_connection = True
            return
        if self.parse_request():
            self.reply(b"read it myself: " + self.path.encode())


def test_a_class_that_reads_its_own_request_gets_it_as_bytes() -> None:
    status, _, body = call(HandlerApp(ReadsItsOwnRequest), "/mine")
    assert (status, body) == ("200 OK", b"read it myself: /mine")


class ManyCookies(Quiet):
    def do_GET(self) -> None:
        self.send_response(200)
        for number in range(150):
            self.send_header("Set-Cookie", "c%d=%d" % (number, number))
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")


def test_a_handler_may_send_more_fields_than_a_request_may_carry() -> None:
    status, headers, body = call(HandlerApp(ManyCookies))
    assert (status, body) == ("200 OK", b"ok")
    assert len([name for name, _ in headers if name == "Set-Cookie"]) == 150
