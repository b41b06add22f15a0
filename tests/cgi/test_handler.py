"""CGIHTTPRequestHandler over real sockets, with the scripts in tests/apps/cgi-bin/.

The tests run as they are on the machine: as root, scripts run as ``nobody``, so they
are installed in a world-traversable directory and Python scripts get an interpreter
``nobody`` can run.  Every client has a timeout.
"""

from __future__ import annotations

import functools
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from devserve.cgi.environ import ScriptRequest, build_environ
from devserve.cgi.handler import CGIHTTPRequestHandler, _url_collapse_path, nobody_uid
from devserve.cgi.script_head import BadScriptResponse, parse_script_head
from support.sockets import CLIENT_TIMEOUT, RunningServer, read_all
from support.wsgi import dechunk

SCRIPTS = Path(__file__).parent.parent / "apps" / "cgi-bin"
AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
SOURCE_MARKERS = (b"#!/", b"import ", b"printf")


@functools.cache
def script_python() -> str | None:
    """An interpreter the scripts' user can run: ours, or as root one ``nobody`` reaches."""
    if not AS_ROOT:
        return sys.executable
    import pwd

    nobody = pwd.getpwuid(nobody_uid())
    for candidate in ("/usr/bin/python3", "/usr/local/bin/python3", "/bin/python3"):
        if not os.path.exists(candidate):
            continue
        probe = subprocess.run(
            [candidate, "-c", "pass"],
            user=nobody.pw_uid,
            group=nobody.pw_gid,
            extra_groups=[],
            capture_output=True,
            timeout=30,
            check=False,
        )
        if probe.returncode == 0:
            return candidate
    return None


@pytest.fixture
def site() -> Iterator[Path]:
    """A served directory: tests/apps/cgi-bin/ installed as cgi-bin/, plus a few files.

    Made under the system temporary directory with mode 755 all the way down,
    because ``nobody`` must reach the scripts (pytest's tmp_path is private).
    """
    root = Path(tempfile.mkdtemp(prefix="devserve-cgi-"))
    root.chmod(0o755)
    cgi_bin = root / "cgi-bin"
    cgi_bin.mkdir(mode=0o755)
    python = script_python()
    for source in SCRIPTS.iterdir():
        target = cgi_bin / source.name
        text = source.read_text(encoding="utf-8")
        if source.suffix == ".py":
            if python is None:
                continue
            text = "#!%s\n%s" % (python, text.split("\n", 1)[1])
        target.write_text(text, encoding="utf-8")
        target.chmod(0o644 if source.name == "notexec.sh" else 0o755)
    (cgi_bin / "sub").mkdir(mode=0o755)
    shutil.copy(cgi_bin / "query.sh", cgi_bin / "sub" / "nested.sh")
    (cgi_bin / "sub" / "nested.sh").chmod(0o755)
    (root / "hello.txt").write_text("hello, file\n", encoding="ascii")
    (root / "nocgi.sh").write_text((SCRIPTS / "query.sh").read_text(), encoding="ascii")
    (root / "nocgi.sh").chmod(0o755)
    (root / "scripts").symlink_to(cgi_bin)
    yield root
    shutil.rmtree(root)


def needs_python() -> None:
    if script_python() is None:
        pytest.skip("as root, Python CGI scripts need an interpreter nobody can run")


class Logged:
    """Collects a server's log lines."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def text(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
def cgi_server(
    serve: Callable[..., RunningServer], site: Path
) -> Callable[..., tuple[RunningServer, Logged]]:
    """``cgi_server(**attributes)``: a CGI server over the site, with its log."""

    def start(**attributes: Any) -> tuple[RunningServer, Logged]:
        logged = Logged()

        class Handler(CGIHTTPRequestHandler):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, directory=str(site), **kwargs)

            def log_message(self, format: str, *args: Any) -> None:
                logged.lines.append(format % args)

        for name, value in attributes.items():
            setattr(Handler, name, value)
        return serve(Handler), logged

    return start


def request(
    server: RunningServer,
    path: str,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[http.client.HTTPResponse, bytes]:
    connection = http.client.HTTPConnection(server.host, server.port, timeout=CLIENT_TIMEOUT)
    try:
        connection.request(method, path, body, headers or {})
        response = connection.getresponse()
        return response, response.read()
    finally:
        connection.close()


def exchange(server: RunningServer, data: bytes) -> bytes:
    with server.connect() as sock:
        sock.sendall(data)
        return read_all(sock)


def split_response(data: bytes, *, dechunked: bool = True) -> tuple[bytes, bytes]:
    """Split a response into its head and its body, de-chunked if it was chunked."""
    head, _, body = data.partition(b"\r\n\r\n")
    if dechunked and b"\r\nTransfer-Encoding: chunked" in head:
        body = dechunk(body)
    return head, body


# -- scripts in shell and in Python --------------------------------------------------


def test_get_with_query_runs_a_shell_script(cgi_server: Any) -> None:
    server, _ = cgi_server()
    response, body = request(server, "/cgi-bin/query.sh?a=1&b=two%20words")
    assert response.status == 200
    assert response.getheader("Content-Type") == "text/plain"
    assert body.splitlines() == [b"query=a=1&b=two%20words", b"argc=0 arg1="]


def test_query_without_equals_is_an_argument_never_an_option(cgi_server: Any) -> None:
    server, _ = cgi_server()
    _, body = request(server, "/cgi-bin/query.sh?find+this")
    assert body.splitlines()[1] == b"argc=1 arg1=find this"
    _, body = request(server, "/cgi-bin/query.sh?-x")
    assert body.splitlines()[1] == b"argc=0 arg1="


def test_environment_follows_rfc_3875(cgi_server: Any) -> None:
    needs_python()
    server, _ = cgi_server()
    credentials = "Basic " + "YWxpY2U6b3BlbjpzZXNhbWU="  # alice:open:sesame
    _, body = request(
        server,
        "/cgi-bin/env.py/extra/p%61th?x=1",
        headers={
            "X-Custom": "one",
            "Authorization": credentials,
            "Proxy": "http://evil.example/",
            "X_Custom": "spoofed",
            "Cookie": "a=1",
        },
    )
    env = json.loads(body)["environ"]
    assert env["GATEWAY_INTERFACE"] == "CGI/1.1"
    assert env["REQUEST_METHOD"] == "GET"
    assert env["SCRIPT_NAME"] == "/cgi-bin/env.py"
    assert env["PATH_INFO"] == "/extra/path"
    assert env["PATH_TRANSLATED"].endswith(os.sep + os.path.join("extra", "path"))
    assert env["QUERY_STRING"] == "x=1"
    assert env["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert env["SERVER_PORT"] == str(server.port)
    assert env["REMOTE_ADDR"] == "127.0.0.1"
    assert env["SERVER_SOFTWARE"].startswith("SimpleHTTP/")
    assert env["AUTH_TYPE"] == "Basic"
    assert env["REMOTE_USER"] == "alice"
    assert env["HTTP_X_CUSTOM"] == "one"  # not the underscore spelling
    assert env["HTTP_COOKIE"] == "a=1"
    assert env["CONTENT_TYPE"] == "text/plain"
    assert env["CONTENT_LENGTH"] == ""
    assert "HTTP_AUTHORIZATION" not in env
    assert "HTTP_PROXY" not in env  # httpoxy


def test_post_form_to_a_python_script(cgi_server: Any) -> None:
    needs_python()
    server, _ = cgi_server()
    response, body = request(
        server,
        "/cgi-bin/form.py",
        "POST",
        b"spam=1&eggs=python&bacon=123456",
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status == 200
    assert body == b"bacon=123456\neggs=python\nspam=1\n"


def test_chunked_post_reaches_the_script_with_its_length(cgi_server: Any) -> None:
    needs_python()
    server, _ = cgi_server(protocol_version="HTTP/1.1")
    data = exchange(
        server,
        b"POST /cgi-bin/echo.py HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
        b"Connection: close\r\n\r\n5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\n\r\n",
    )
    head, body = split_response(data)
    assert head.startswith(b"HTTP/1.1 200 ")
    assert b"X-Content-Length: 12" in head
    assert body == b"hello, world"


def test_expect_100_continue_post(cgi_server: Any) -> None:
    needs_python()
    server, _ = cgi_server(protocol_version="HTTP/1.1")
    with server.connect() as sock:
        sock.sendall(
            b"POST /cgi-bin/echo.py HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n"
            b"Expect: 100-continue\r\nConnection: close\r\n\r\n"
        )
        assert sock.recv(65536) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b"ping")
        head, body = split_response(read_all(sock))
    assert head.startswith(b"HTTP/1.1 200 ")
    assert body == b"ping"


def test_large_body_the_script_never_reads_does_not_deadlock(cgi_server: Any) -> None:
    needs_python()
    server, _ = cgi_server(protocol_version="HTTP/1.1")
    response, body = request(server, "/cgi-bin/big.py", "POST", b"x" * (3 << 20))
    assert response.status == 200
    assert len(body) == 1 << 20


def test_a_body_the_script_never_reads_is_read_away_not_reset(cgi_server: Any) -> None:
    # The client is still sending when the response ends, and reads it late: closing
    # with its body unread would reset the connection under the response.
    needs_python()
    server, _ = cgi_server(protocol_version="HTTP/1.1")
    body = b"x" * (3 << 20)
    head = b"POST /cgi-bin/big.py HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % len(body)
    with server.connect() as sock:
        sender = threading.Thread(target=sock.sendall, args=(head + body,), daemon=True)
        sender.start()
        time.sleep(0.5)  # the script has answered and exited by now
        response = http.client.HTTPResponse(sock)
        response.begin()
        assert response.status == 200
        assert len(response.read()) == 1 << 20
        sender.join(CLIENT_TIMEOUT)
        # Read away, the body left the connection usable.
        sock.sendall(b"GET /cgi-bin/big.py HTTP/1.1\r\nHost: a\r\n\r\n")
        again = http.client.HTTPResponse(sock)
        again.begin()
        assert again.status == 200
        assert len(again.read()) == 1 << 20


def test_malformed_chunked_body_is_400_and_the_script_never_runs(cgi_server: Any) -> None:
    server, _ = cgi_server(protocol_version="HTTP/1.1")
    data = exchange(
        server,
        b"POST /cgi-bin/query.sh HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"zz\r\nhello\r\n0\r\n\r\n",
    )
    assert data.startswith(b"HTTP/1.1 400 ")


# -- the script's headers are honoured ------------------------------------------------


def test_status_and_location_redirect_the_client(cgi_server: Any) -> None:
    server, _ = cgi_server()
    response, body = request(server, "/cgi-bin/redirect.sh")
    assert (response.status, response.reason) == (303, "See Other")
    assert response.getheader("Location") == "http://example.com/elsewhere"
    assert body == b""


def test_absolute_location_without_status_is_a_302(cgi_server: Any) -> None:
    server, _ = cgi_server()
    response, _ = request(server, "/cgi-bin/location.sh")
    assert response.status == 302
    assert response.getheader("Location") == "http://example.com/found"


def test_status_with_a_custom_reason(cgi_server: Any) -> None:
    needs_python()
    server, _ = cgi_server()
    response, body = request(server, "/cgi-bin/status.py?418+I%27m+a+teapot")
    assert (response.status, response.reason) == (418, "I'm a teapot")
    assert body == b"status was 418 I'm a teapot\n"


def test_local_redirect_serves_the_file_in_place(cgi_server: Any) -> None:
    needs_python()
    server, _ = cgi_server()
    response, body = request(server, "/cgi-bin/local_redirect.py?/hello.txt")
    assert response.status == 200
    assert body == b"hello, file\n"
    assert response.getheader("Location") is None


def test_local_redirect_to_a_script_is_a_get_without_the_body(cgi_server: Any) -> None:
    needs_python()
    server, _ = cgi_server()
    response, body = request(
        server, "/cgi-bin/local_redirect.py?/cgi-bin/env.py%3Fvia%3Dredirect", "POST", b"a=1"
    )
    env = json.loads(body)["environ"]
    assert response.status == 200
    assert (env["REQUEST_METHOD"], env["QUERY_STRING"]) == ("GET", "via=redirect")
    assert env["CONTENT_LENGTH"] == ""


def test_local_redirect_loop_is_a_500(cgi_server: Any) -> None:
    server, _ = cgi_server()
    response, _ = request(server, "/cgi-bin/loop.sh")
    assert response.status == 500


def test_headers_only_script_keeps_the_connection(cgi_server: Any) -> None:
    server, _ = cgi_server(protocol_version="HTTP/1.1")
    connection = http.client.HTTPConnection(server.host, server.port, timeout=CLIENT_TIMEOUT)
    try:
        for _ in range(2):
            connection.request("GET", "/cgi-bin/headers_only.sh")
            response = connection.getresponse()
            assert response.status == 204
            assert response.getheader("X-Script") == "headers-only"
            assert response.read() == b""
            assert not response.will_close
    finally:
        connection.close()


def test_head_request_runs_the_script_but_sends_no_body(cgi_server: Any) -> None:
    server, _ = cgi_server(protocol_version="HTTP/1.1")
    data = exchange(
        server,
        b"HEAD /cgi-bin/length.sh HTTP/1.1\r\nHost: a\r\n\r\n"
        b"GET /cgi-bin/length.sh HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    )
    first, rest = split_response(data)
    assert first.startswith(b"HTTP/1.1 200 ")
    assert b"Content-Length: 5" in first
    second, body = split_response(rest)
    assert second.startswith(b"HTTP/1.1 200 ")
    assert body == b"hello"  # the script's Content-Length frames its body


def test_script_that_sends_less_than_its_length_closes_the_connection(cgi_server: Any) -> None:
    server, logged = cgi_server(protocol_version="HTTP/1.1")
    data = exchange(server, b"GET /cgi-bin/short.sh HTTP/1.1\r\nHost: a\r\n\r\n")
    head, body = split_response(data)
    assert b"Content-Length: 100" in head
    assert body == b"short"  # and then the server closed: read_all returned
    assert "shorter than its Content-Length (95 bytes missing)" in logged.text()


# -- framing for keep-alive ----------------------------------------------------------


def test_output_is_streamed_in_chunks_to_http11_clients(cgi_server: Any) -> None:
    needs_python()
    server, _ = cgi_server(protocol_version="HTTP/1.1")
    with server.connect() as sock:
        started = time.monotonic()
        sock.sendall(b"GET /cgi-bin/stream.py HTTP/1.1\r\nHost: a\r\n\r\n")
        first = b""
        while b"first\n" not in first:
            first += sock.recv(65536)
        first_at = time.monotonic() - started
        rest = first
        while not rest.endswith(b"0\r\n\r\n"):
            rest += sock.recv(65536)
        finished_at = time.monotonic() - started
        head, body = split_response(rest, dechunked=False)
        assert b"Transfer-Encoding: chunked" in head
        assert body == b"6\r\nfirst\n\r\n7\r\nsecond\n\r\n0\r\n\r\n"
        assert finished_at - first_at > 0.3  # the first part did not wait for the second
        # The connection is still open for the next request.
        sock.sendall(b"GET /hello.txt HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        assert read_all(sock).endswith(b"hello, file\n")


def test_http10_client_gets_a_close_delimited_stream(cgi_server: Any) -> None:
    needs_python()
    server, _ = cgi_server(protocol_version="HTTP/1.1")
    data = exchange(server, b"GET /cgi-bin/stream.py HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    head, body = split_response(data)
    assert b"Transfer-Encoding" not in head
    assert b"Connection: close" in head  # no length, no chunks: the close ends the body
    assert body == b"first\nsecond\n"


def test_every_response_is_framed_for_keep_alive(cgi_server: Any) -> None:
    """A length when the whole output is in by the end of its head, chunks otherwise."""
    needs_python()
    server, _ = cgi_server(protocol_version="HTTP/1.1")
    connection = http.client.HTTPConnection(server.host, server.port, timeout=CLIENT_TIMEOUT)
    try:
        for path in ("/cgi-bin/big.py", "/cgi-bin/query.sh?a", "/cgi-bin/env.py"):
            connection.request("GET", path)
            response = connection.getresponse()
            body = response.read()
            length = response.getheader("Content-Length")
            chunked = response.getheader("Transfer-Encoding") == "chunked"
            assert (length is not None) != chunked
            assert length is None or int(length) == len(body)
            assert not response.will_close
        assert len(body) > 100
    finally:
        connection.close()


# -- failures ------------------------------------------------------------------------


def test_failing_python_script_is_a_clean_500_with_stderr_logged(cgi_server: Any) -> None:
    needs_python()
    server, logged = cgi_server()
    response, body = request(server, "/cgi-bin/fail.py")
    assert response.status == 500
    assert b"Traceback" not in body
    assert b"broken on purpose" not in body
    assert "RuntimeError: this script is broken on purpose" in logged.text()
    assert "exit code 1" in logged.text()


def test_failing_shell_script_is_a_500(cgi_server: Any) -> None:
    server, logged = cgi_server()
    response, _ = request(server, "/cgi-bin/fail.sh")
    assert response.status == 500
    assert "fail.sh: something went wrong" in logged.text()
    assert "exit code 3" in logged.text()


def test_output_without_a_header_block_is_a_500(cgi_server: Any) -> None:
    server, logged = cgi_server()
    response, body = request(server, "/cgi-bin/noheaders.sh")
    assert response.status == 500
    assert b"just some text" not in body
    assert "not a header line" in logged.text()


def test_hanging_script_is_killed_with_504(
    cgi_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid_file = Path(tempfile.mkdtemp(prefix="devserve-pid-")) / "pid"
    pid_file.parent.chmod(0o777)
    monkeypatch.setenv("PID_FILE", str(pid_file))
    server, logged = cgi_server(cgi_timeout=0.5)
    started = time.monotonic()
    response, _ = request(server, "/cgi-bin/hang.sh")
    assert response.status == 504
    assert time.monotonic() - started < 3
    pid = int(pid_file.read_text())
    shutil.rmtree(pid_file.parent)
    deadline = time.monotonic() + 3
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not _alive(pid), "the script (and its sleep) must be killed"
    assert "killed" in logged.text()


def test_client_that_leaves_mid_stream_gets_the_script_killed(
    cgi_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid_file = Path(tempfile.mkdtemp(prefix="devserve-pid-")) / "pid"
    pid_file.parent.chmod(0o777)
    monkeypatch.setenv("PID_FILE", str(pid_file))
    server, _ = cgi_server(protocol_version="HTTP/1.1")
    with server.connect() as sock:
        sock.sendall(b"GET /cgi-bin/spew.sh HTTP/1.1\r\nHost: a\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
    deadline = time.monotonic() + 5
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    pid = int(pid_file.read_text())
    shutil.rmtree(pid_file.parent)
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not _alive(pid), "the script must be killed when its client goes away"


def _alive(pid: int) -> bool:
    try:
        with open("/proc/%d/stat" % pid, encoding="ascii") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except FileNotFoundError:
        return False


def test_script_stalling_after_its_head_ends_the_response_unfinished(cgi_server: Any) -> None:
    server, _ = cgi_server(protocol_version="HTTP/1.1", cgi_timeout=0.5)
    data = exchange(server, b"GET /cgi-bin/stall.sh HTTP/1.1\r\nHost: a\r\n\r\n")
    head, body = split_response(data, dechunked=False)
    assert b"Transfer-Encoding: chunked" in head
    # No last chunk, and a reset: the client sees that the body was cut short.
    assert b"6\r\nbegin\n\r\n".startswith(body)


def test_script_that_is_not_executable_is_403(cgi_server: Any) -> None:
    server, _ = cgi_server()
    response, body = request(server, "/cgi-bin/notexec.sh")
    assert response.status == 403
    assert b"ran" not in body


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/cgi-bin/missing.sh", 404),
        ("/cgi-bin/sub", 403),
        ("/cgi-bin/", 403),
    ],
    ids=["missing", "directory", "cgi-directory"],
)
def test_missing_script_and_directories(cgi_server: Any, path: str, status: int) -> None:
    server, _ = cgi_server()
    response, _ = request(server, path)
    assert response.status == status


# -- paths ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/cgi-bin/../cgi-bin/query.sh",
        "/cgi-bin%2fquery.sh",
        "/cgi-bin%2Fquery.sh",
        "/./cgi-bin/./query.sh",
        "/x/..%2fcgi-bin/query.sh",
        "///hello.txt/../cgi-bin/query.sh",
        "/cgi-bin/sub/../query.sh",
    ],
    ids=["dotdot", "encoded-slash", "encoded-slash-upper", "dot", "encoded-dotdot",
         "bpo-19435", "sub-dotdot"],
)  # fmt: skip
def test_spellings_of_a_script_path_run_it(cgi_server: Any, path: str) -> None:
    server, _ = cgi_server()
    response, body = request(server, path)
    assert response.status == 200
    assert body.startswith(b"query=")


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/scripts/query.sh", 404),  # a symlink to cgi-bin
        ("/../cgi-bin/query.sh", 404),
        ("/cgi-bin/../../cgi-bin/query.sh", 404),
        ("///nocgi.sh/../cgi-bin/nothere.sh", 404),
    ],
    ids=["symlinked-directory", "above-root", "above-root-inside", "bpo-19435-missing"],
)
def test_traversal_never_serves_a_script_source(cgi_server: Any, path: str, status: int) -> None:
    server, _ = cgi_server()
    response, body = request(server, path)
    assert response.status == status
    assert not any(marker in body for marker in SOURCE_MARKERS)


def test_script_outside_cgi_directories_is_served_as_a_file(cgi_server: Any) -> None:
    server, _ = cgi_server()
    response, body = request(server, "/nocgi.sh")
    assert response.status == 200
    assert body.startswith(b"#!/bin/sh")  # as in http.server: only CGI directories run


def test_post_elsewhere_is_501(cgi_server: Any) -> None:
    server, _ = cgi_server()
    response, _ = request(server, "/hello.txt", "POST", b"x=1")
    assert (response.status, response.reason) == (501, "Can only POST to CGI scripts")


def test_nested_cgi_directories_and_subdirectories(cgi_server: Any) -> None:
    server, _ = cgi_server(cgi_directories=["/cgi-bin/sub"])
    response, body = request(server, "/cgi-bin/sub/nested.sh/more?q")
    assert response.status == 200
    assert body.startswith(b"query=q\n")
    server, _ = cgi_server()
    response, body = request(server, "/cgi-bin/sub/nested.sh?q")
    assert response.status == 200


def test_strict_paths_apply_to_scripts(cgi_server: Any) -> None:
    server, _ = cgi_server(strict_paths=True, serve_dotfiles=False)
    response, _ = request(server, "/cgi-bin/query.sh%5cx")
    assert response.status == 400
    # On POSIX a colon is an ordinary character in a name: no such script, not a trick.
    response, _ = request(server, "/cgi-bin/query.sh:x")
    assert response.status == 404
    response, _ = request(server, "/cgi-bin/.query.sh")
    assert response.status == 404


# -- the user scripts run as ---------------------------------------------------------


def test_scripts_run_as_nobody_when_the_server_is_root(cgi_server: Any) -> None:
    server, _ = cgi_server()
    _, body = request(server, "/cgi-bin/whoami.sh")
    fields = dict(item.split("=", 1) for item in body.decode().strip().split(" ", 2))
    if AS_ROOT:
        import pwd

        nobody = pwd.getpwuid(nobody_uid())
        assert fields["uid"] == str(nobody.pw_uid)
        assert fields["gid"] == str(nobody.pw_gid)
        assert fields["groups"].split() == [str(nobody.pw_gid)]  # root's groups dropped
    else:
        assert fields["uid"] == str(os.getuid())


def test_devserve_never_imports_the_stdlib_cgi_module(site: Path) -> None:
    program = """if True:
        import http.client, sys, threading, warnings
        warnings.simplefilter("error")
        from devserve import ThreadingHTTPServer
        from devserve.cgi.handler import CGIHTTPRequestHandler
        class Handler(CGIHTTPRequestHandler):
            def __init__(self, *a, **k):
                super().__init__(*a, directory=sys.argv[1], **k)
            def log_message(self, *args):
                pass
        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        connection = http.client.HTTPConnection(*server.server_address, timeout=5)
        connection.request("GET", "/cgi-bin/query.sh?a=1")
        response = connection.getresponse()
        assert response.status == 200 and response.read().startswith(b"query=a=1")
        server.shutdown()
        server.server_close()
        print(sorted(name for name in ("cgi", "cgitb") if name in sys.modules))
    """
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", program, str(site)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# -- socket-free: path collapsing, the script's head, the environment ----------------

COLLAPSE_VECTORS = [
    ("", "//"),
    ("/", "//"),
    ("//", "//"),
    ("/\\", "//\\"),
    ("/.//", "//"),
    ("cgi-bin/file1.py", "/cgi-bin/file1.py"),
    ("/cgi-bin/file1.py", "/cgi-bin/file1.py"),
    ("a", "//a"),
    ("./a", "//a"),
    ("./C:/", "/C:/"),
    ("/a/b/", "/a/b/"),
    ("/a/b/.", "/a/b/"),
    ("/a/b/c/..", "/a/b/"),
    ("/a/b/c/../d/e/.././././..//f", "/a/b/f"),
    ("/a/b/c/../d/e/../../../../f", "//f"),
    ("/a/b/c/../d/e/../../../../f/../.", "//"),
    ("/cgi-bin%2ffile1.py", "/cgi-bin/file1.py"),
    ("/x/..%2fcgi-bin/a.sh?q=/../", "/cgi-bin/a.sh?q=/../"),
    ("/a?", "//a"),
]


@pytest.mark.parametrize(
    ("path", "expected"), COLLAPSE_VECTORS, ids=[v[0] or "empty" for v in COLLAPSE_VECTORS]
)
def test_url_collapse_path(path: str, expected: str) -> None:
    assert _url_collapse_path(path) == expected


@pytest.mark.parametrize("path", ["..", "/.//..", "../a/b", "/a/../../f", "/%2e%2e/x"])
def test_url_collapse_path_above_the_root_raises(path: str) -> None:
    with pytest.raises(IndexError):
        _url_collapse_path(path)


def test_script_head_fields_status_and_framing() -> None:
    head = parse_script_head(
        b"Status: 201 Made It\r\nContent-Type: text/plain\nX-A: 1\nx-a: 2\n"
        b"Content-Length: 3\nConnection: close\nTransfer-Encoding: chunked\nDate: x\nServer: y"
    )
    assert (head.status, head.reason, head.content_length) == (201, "Made It", 3)
    assert head.fields == [("Content-Type", "text/plain"), ("X-A", "1"), ("x-a", "2")]
    assert not head.local_redirect


@pytest.mark.parametrize(
    ("block", "local"),
    [(b"Location: /x?y", True), (b"Location: //evil/x", False),
     (b"Location: http://e/x", False), (b"Status: 302\nLocation: /x", False)],
    ids=["path", "network-path", "absolute", "with-status"],
)  # fmt: skip
def test_local_redirect_is_a_location_path_without_status(block: bytes, local: bool) -> None:
    assert parse_script_head(block).local_redirect is local


@pytest.mark.parametrize(
    "block",
    [b"no colon", b"Bad Name: x", b"X: a\n folded", b"Status: 99", b"Status: 1000",
     b"Status: 101 Switching", b"Status: abc", b"Status: 200\nStatus: 200",
     b"Location: /a\nLocation: /b", b"Content-Length: +1", b"Content-Length: 1\nContent-Length: 2",
     b"X: a\x00b", b"X: a\rb", b": empty"],
    ids=["no-colon", "space-in-name", "obs-fold", "status-short", "status-long", "status-1xx",
         "status-text", "two-status", "two-locations", "length-sign", "two-lengths", "nul", "cr",
         "empty-name"],
)  # fmt: skip
def test_bad_script_heads_are_refused(block: bytes) -> None:
    with pytest.raises(BadScriptResponse):
        parse_script_head(block)


def test_environ_drops_inherited_request_variables() -> None:
    inherited = {"PATH": "/bin", "HTTP_USER_AGENT": "server's", "REMOTE_USER": "x", "HOME": "/h"}
    env = build_environ(ScriptRequest(method="GET", script_name="/cgi-bin/a"), inherited)
    assert (env["PATH"], env["HOME"]) == ("/bin", "/h")
    assert env["HTTP_USER_AGENT"] == ""
    assert "REMOTE_USER" not in env
    assert "PATH_TRANSLATED" not in env
    assert inherited["HTTP_USER_AGENT"] == "server's"


def test_environ_headers_joined_and_bytes_kept() -> None:
    request = ScriptRequest(
        method="POST",
        script_name="/cgi-bin/a",
        headers=[("Accept", "text/html"), ("ACCEPT", "text/plain"), ("Cookie", "a=1"),
                 ("Cookie", "b=2"), ("X-Name", "caf\xc3\xa9"), ("X-Dup", "1"), ("x-dup", "2"),
                 ("Content-Type", "text/csv"), ("Content-Length", "999"),
                 ("Transfer-Encoding", "chunked"), ("X.Dot", "no")],
        content_length=12,
    )  # fmt: skip
    env = build_environ(request, {})
    assert env["HTTP_ACCEPT"] == "text/html,text/plain"
    assert env["HTTP_COOKIE"] == "a=1; b=2"
    assert env["HTTP_X_DUP"] == "1, 2"
    assert os.fsencode(env["HTTP_X_NAME"]) == "café".encode()
    assert (env["CONTENT_TYPE"], env["CONTENT_LENGTH"]) == ("text/csv", "12")
    assert "HTTP_TRANSFER_ENCODING" not in env
    assert "HTTP_CONTENT_LENGTH" not in env
    assert not any(name.startswith("HTTP_X.") for name in env)


@pytest.mark.parametrize(
    ("authorization", "expected"),
    [("Basic dXNlcjpwYXNz", {"AUTH_TYPE": "Basic", "REMOTE_USER": "user"}),
     ("basic dTpwOnE=", {"AUTH_TYPE": "basic", "REMOTE_USER": "u"}),
     ("Basic !!!", {"AUTH_TYPE": "Basic"}),
     ("Basic bm9jb2xvbg==", {"AUTH_TYPE": "Basic"}),
     ("Bearer abc", {"AUTH_TYPE": "Bearer"}),
     ("Basic", {})],
    ids=["basic", "colon-in-password", "not-base64", "no-colon", "bearer", "no-credentials"],
)  # fmt: skip
def test_environ_auth_variables(authorization: str, expected: dict[str, str]) -> None:
    request = ScriptRequest(
        method="GET", script_name="/s", headers=[("Authorization", authorization)]
    )
    env = build_environ(request, {})
    got = {name: env[name] for name in ("AUTH_TYPE", "REMOTE_USER") if name in env}
    assert got == expected
    assert "HTTP_AUTHORIZATION" not in env


@pytest.mark.parametrize("escape", [False, True], ids=["contained", "follow-symlinks"])
def test_a_script_symlinked_from_outside_the_root_runs_only_when_allowed(
    cgi_server: Any, site: Path, escape: bool
) -> None:
    outside = Path(tempfile.mkdtemp(prefix="devserve-cgi-outside-"))
    outside.chmod(0o755)
    try:
        script = outside / "escape.sh"
        script.write_text("#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\nran outside\\n'\n")
        script.chmod(0o755)
        (site / "cgi-bin" / "escape.sh").symlink_to(script)
        server, _ = cgi_server(allow_symlink_escape=escape)
        response, body = request(server, "/cgi-bin/escape.sh")
        if escape:
            assert (response.status, body) == (200, b"ran outside\n")
        else:
            assert response.status == 404  # as a file outside the root would be
            assert b"ran outside" not in body
    finally:
        (site / "cgi-bin" / "escape.sh").unlink(missing_ok=True)
        shutil.rmtree(outside)


def test_the_response_ends_when_the_script_exits_not_when_its_children_do(
    cgi_server: Any,
) -> None:
    server, _ = cgi_server(protocol_version="HTTP/1.1")
    started = time.monotonic()
    with server.connect() as sock:
        sock.sendall(b"GET /cgi-bin/orphan.sh HTTP/1.1\r\nHost: a\r\n\r\n")
        data = b""
        while not data.endswith(b"0\r\n\r\n") and b"\r\n\r\ndone\n" not in data:
            chunk = sock.recv(65536)
            assert chunk, data
            data += chunk
    _head, body = split_response(data)
    assert body == b"done\n"
    assert time.monotonic() - started < 5  # the child sleeps 30 s with the pipe open
