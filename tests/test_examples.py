"""Every example in examples/ runs as its docstring says, against a real socket."""

from __future__ import annotations

import http.client
import json
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from support.examples import EXAMPLES, devserve_command, running_command
from support.processes import TIMEOUT, default_sigint, free_port


@contextmanager
def running(example: str, *args: str) -> Iterator[int]:
    """Start an example on a free port; yield the port once it answers; stop it by pid."""
    port = free_port()
    with running_command([sys.executable, str(EXAMPLES / example), str(port), *args], port):
        yield port


def fetch(port: int, path: str, data: bytes | None = None, **headers: str) -> tuple[int, bytes]:
    request = urllib.request.Request(
        "http://127.0.0.1:%d%s" % (port, path), data=data, headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read()


def test_hello_handler() -> None:
    with running("hello_handler.py") as port:
        assert fetch(port, "/") == (200, b"Hello, world!\n")


def check_one_port(port: int) -> None:
    status, body = fetch(port, "/api/time")
    assert status == 200
    assert body.strip().isdigit()
    assert fetch(port, "/api/other") == (404, b"try /api/time\n")
    assert fetch(port, "/hello/") == (200, b"Hello, world!\n")
    css = (EXAMPLES / "one_port_static" / "site.css").read_bytes()
    assert fetch(port, "/static/site.css") == (200, css)
    assert fetch(port, "/static/site.css", Range="bytes=0-3") == (206, css[:4])


def test_one_port_example_mounts_an_app_a_handler_and_a_directory() -> None:
    with running("one_port.py") as port:
        check_one_port(port)


def test_one_port_example_as_its_docstring_runs_it_from_the_command_line() -> None:
    port = free_port()
    argv = [
        *devserve_command(), str(port),
        "--mount", "/api=examples/one_port.py:api",
        "--mount", "/hello=examples/hello_handler.py:HelloHandler",
        "--mount", "/static=examples/one_port_static",
    ]  # fmt: skip
    with running_command(argv, port, cwd=EXAMPLES.parent):
        check_one_port(port)


def test_stdlib_run_example_answers_501_like_the_docs_say() -> None:
    with running("stdlib_run.py") as port:
        status, _ = fetch(port, "/")
    assert status == 501


def test_stdlib_run_while_true_loop_handles_each_request_then_stops() -> None:
    with running("stdlib_run_while_true.py") as port:
        assert fetch(port, "/a") == (200, b"handled /a\n")
        assert fetch(port, "/stop") == (200, b"handled /stop\n")


def test_json_api_round_trip() -> None:
    with running("json_api.py") as port:
        status, body = fetch(
            port,
            "/items",
            json.dumps({"name": "pen"}).encode(),
            **{"Content-Type": "application/json"},
        )
        assert (status, json.loads(body)) == (201, {"name": "pen"})
        assert json.loads(fetch(port, "/items")[1]) == {"items": [{"name": "pen"}]}
        assert fetch(port, "/items", b"nope", **{"Content-Type": "application/json"})[0] == 400
        assert fetch(port, "/other")[0] == 404


def test_every_example_has_a_docstring_saying_how_to_run_it() -> None:
    runnable = [*EXAMPLES.glob("*.py"), *EXAMPLES.glob("*/serve.py")]
    assert len(runnable) >= 8
    for path in runnable:
        name = path.relative_to(EXAMPLES).as_posix()
        text = path.read_text(encoding="utf-8")
        assert text.startswith('"""'), name
        assert "``python examples/%s" % name in text.split('"""')[1], name


@pytest.mark.parametrize("example", ["hello_handler.py", "json_api.py"])
def test_ctrl_c_exits_cleanly(example: str) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(EXAMPLES / example), str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=default_sigint,
    )
    assert proc.stdout is not None
    assert b"Serving on" in proc.stdout.readline()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0
    assert b"Traceback" not in err


def test_static_headers_adds_headers_to_files_and_errors(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<h1>home</h1>\n", encoding="utf-8")
    (tmp_path / ".env").write_text("SECRET=1\n", encoding="utf-8")
    with running("static_headers.py", str(tmp_path)) as port:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
        try:
            connection.request("GET", "/")
            first = connection.getresponse()
            assert (first.status, first.read()) == (200, b"<h1>home</h1>\n")
            assert first.getheader("Cross-Origin-Opener-Policy") == "same-origin"
            assert first.getheader("Cross-Origin-Embedder-Policy") == "require-corp"
            assert first.getheader("X-Content-Type-Options") == "nosniff"
            assert first.getheader("Cache-Control") == "no-cache"
            etag = first.getheader("ETag")
            assert etag
            # The same connection: the example speaks HTTP/1.1 with keep-alive.
            connection.request("GET", "/index.html", headers={"If-None-Match": etag})
            second = connection.getresponse()
            assert (second.status, second.read()) == (304, b"")
            assert second.getheader("X-Content-Type-Options") == "nosniff"
            connection.request("GET", "/.env")
            hidden = connection.getresponse()
            hidden.read()
            assert hidden.status == 404
            assert hidden.getheader("Cross-Origin-Opener-Policy") == "same-origin"
        finally:
            connection.close()


def test_sse_app_sends_each_event_as_it_is_yielded() -> None:
    with running("sse_app.py") as port:
        assert b"EventSource" in fetch(port, "/")[1]
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
            sock.sendall(
                b"GET /events?count=3&interval=0.5 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            )
            started = time.monotonic()
            received = b""
            while b"data: tick 1 " not in received:
                chunk = sock.recv(65536)
                assert chunk, received
                received += chunk
            # The first event arrives before the generator sleeps: nothing is buffered.
            assert time.monotonic() - started < 0.45
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                received += chunk
        head, _, body = received.partition(b"\r\n\r\n")
        assert b"Content-Type: text/event-stream" in head
        assert b"Transfer-Encoding: chunked" in head
        chunks = decode_chunks(body)
        # One chunk per item the generator yielded, ended by the last chunk.
        assert chunks[0] == b": stream opened\n\n"
        assert [chunk.split(b"\n")[:2] for chunk in chunks[1:]] == [
            [b"id: %d" % n, b"event: tick"] for n in (1, 2, 3)
        ]


def decode_chunks(body: bytes) -> list[bytes]:
    """Split a chunked body into its chunks' data, checking the framing as it goes."""
    chunks = []
    while True:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            assert body == b"\r\n"
            return chunks
        chunks.append(body[:size])
        assert body[size : size + 2] == b"\r\n"
        body = body[size + 2 :]


def test_sse_app_stream_read_by_a_client_library() -> None:
    with running("sse_app.py") as port:
        url = "http://127.0.0.1:%d/events?count=2&interval=0.05" % port
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
            assert response.headers["Cache-Control"] == "no-cache"
            text = response.read().decode()
    blocks = [block for block in text.split("\n\n") if block]
    assert blocks[0] == ": stream opened"
    assert [block.splitlines()[:2] for block in blocks[1:]] == [
        ["id: 1", "event: tick"],
        ["id: 2", "event: tick"],
    ]


@pytest.mark.parametrize(
    ("spec", "path", "expected"),
    [
        ("examples/sse_app.py:app", "/events?count=1", b"event: tick"),
        ("examples/flask_app.py:app", "/visits", b"visit 1"),
    ],
    ids=["sse", "flask"],
)
def test_devserve_app_command_from_the_docstrings(spec: str, path: str, expected: bytes) -> None:
    port = free_port()
    argv = [*devserve_command(), "--app", spec, str(port)]
    with running_command(argv, port, cwd=EXAMPLES.parent):
        status, body = fetch(port, path)
    assert status == 200
    assert expected in body


def test_cgi_server_runs_scripts_from_the_directory_given() -> None:
    # As root the scripts run as nobody, who must be able to reach them: a private
    # pytest tmp_path is not world-traversable, so make a directory that is.
    site = Path(tempfile.mkdtemp(prefix="devserve-example-cgi-server-"))
    try:
        site.chmod(0o755)
        shutil.copytree(EXAMPLES / "cgi-bin", site / "tools" / "cgi")
        for path in [site / "tools", site / "tools" / "cgi", *(site / "tools" / "cgi").iterdir()]:
            path.chmod(0o755)
        (site / "index.html").write_text("<h1>not a script</h1>\n", encoding="utf-8")
        with running("cgi_server.py", str(site)) as port:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
            try:
                connection.request("GET", "/tools/cgi/env.sh/a?b=1")
                response = connection.getresponse()
                lines = response.read().decode().splitlines()
                assert response.status == 200
                assert "PATH_INFO=/a" in lines
                assert "QUERY_STRING=b=1" in lines
                # Framed for keep-alive: the same connection serves a file next.
                connection.request("GET", "/index.html")
                response = connection.getresponse()
                assert (response.status, response.read()) == (200, b"<h1>not a script</h1>\n")
            finally:
                connection.close()
            assert fetch(port, "/index.html", b"x=1")[0] == 501
    finally:
        shutil.rmtree(site)
