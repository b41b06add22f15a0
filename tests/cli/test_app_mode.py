"""``devserve --app``: the WSGI mode of the command line, in a subprocess, and its parts.

The parts run in this process: static mounts beside an app, and a load failure.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from apps import plain
from devserve.cli.app_mode import AppOptions, serve_app
from devserve.cli.main import build_parser
from devserve.cli.profile import Profile, configured
from devserve.files.handler import SimpleHTTPRequestHandler
from devserve.mount.table import MountTable
from support.cli import ROOT, flask_project, start_app, stop_app
from support.event_stream import Stream
from support.processes import TIMEOUT, free_port, interrupt, start, wait_for_port
from support.sockets import read_all
from support.wsgi import QuietWSGIHandler, split


def fetch(port: int, path: str) -> tuple[int, dict[str, str], bytes]:
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=TIMEOUT) as r:
        return r.status, dict(r.headers.items()), r.read()


def test_app_with_static_mount_and_extra_header(tmp_path: Path) -> None:
    (tmp_path / "hello.txt").write_text("static hello")
    proc, port = start_app(
        "--app", "examples/flask_app.py:app", "0",
        "-H", "X-Dev", "yes", "--static", "/assets=%s" % tmp_path,
    )  # fmt: skip
    try:
        status, headers, body = fetch(port, "/")
        assert status == 200
        assert headers["X-Dev"] == "yes"
        assert b"Notes" in body
        status, headers, body = fetch(port, "/assets/hello.txt")
        assert (status, body) == (200, b"static hello")
        assert headers["X-Dev"] == "yes"
    finally:
        code, err = stop_app(proc)
    assert code == 0
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--app", "no_such_module_xyz:app", "0"], 1, "no_such_module_xyz"),
        (["--debug"], 2, "--debug needs Python code"),
        (["--app", "examples/flask_app.py:app", "--static", "assets"], 2, "PREFIX=DIR"),
        (["--app", "examples/flask_app.py:app", "--cgi"], 2, "--cgi serves a directory"),
    ],
    ids=["import-error", "debug-without-code", "bad-static", "cgi-with-app"],
)
def test_app_usage_errors_are_one_line(args: list[str], code: int, message: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "devserve", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=TIMEOUT,
    )
    assert proc.returncode == code
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_app_livereload_injects_into_pages_only(tmp_path: Path) -> None:
    flask_project(tmp_path)
    proc, port = start_app("--app", "app.py:app", "0", "--livereload", cwd=tmp_path)
    try:
        status, headers, body = fetch(port, "/")
        assert status == 200
        assert b'<h1>first</h1><script data-devserve="livereload">' in body
        assert headers["Content-Length"] == str(len(body))
        _status, _headers, css = fetch(port, "/static/site.css")
        assert css == b"h1 { color: red }"
    finally:
        code, err = stop_app(proc)
    assert code == 0, err


def test_app_reload_livereload_swaps_css_in_place_and_reloads_after_a_template_change(
    tmp_path: Path,
) -> None:
    flask_project(tmp_path)
    proc, port = start_app("--app", "app.py:app", "0", "--reload", "--livereload", cwd=tmp_path)
    stream = None
    try:
        stream = Stream(port)
        first_boot = stream.event()["data"]["boot"]
        time.sleep(0.3)  # the child's watcher has taken its first look
        (tmp_path / "static" / "site.css").write_text("h1 { color: blue }")
        assert stream.event() == {"id": "1", "event": "css", "data": {"names": ["site.css"]}}
        (tmp_path / "templates" / "page.html").write_text("<body><h1>second</h1></body>")
        with pytest.raises(EOFError):
            stream.event()  # the child restarted: its streams ended
        stream.close()
        stream = Stream(port)  # what the browser's EventSource does by itself
        assert stream.event()["data"]["boot"] != first_boot
        assert b"<h1>second</h1>" in fetch(port, "/")[2]
    finally:
        if stream is not None:
            stream.close()
        code, err = stop_app(proc)
    assert code == 0, err
    assert "Detected change in" in err
    assert "page.html" in err


PLAIN_APP = """
VERSION = %r

def app(environ, start_response):
    if environ["PATH_INFO"] == "/boom":
        raise RuntimeError("boom")
    start_response("200 OK", [("Content-Type", "text/html")])
    return [b"<body><h1>%%s</h1></body>" %% VERSION.encode()]
"""


def hello_from_a_new_child(port: int, old_boot: str) -> tuple[Stream, dict[str, Any]]:
    """Connect as EventSource does after a restart, until a new child says hello."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        stream = None
        try:
            stream = Stream(port)
            hello = stream.event()
        except (EOFError, ConnectionError):
            hello = {}  # the child that was stopping
        if stream is not None and hello.get("data", {}).get("boot", old_boot) != old_boot:
            return stream, hello["data"]
        if stream is not None:
            stream.close()
        assert time.monotonic() < deadline, "no new child"
        time.sleep(0.05)


def test_app_reload_livereload_tells_pages_the_app_cannot_load_until_fixed(
    tmp_path: Path,
) -> None:
    source = tmp_path / "app.py"
    source.write_text(PLAIN_APP % "first")
    proc, port = start_app("--app", "app.py:app", "0", "--reload", "--livereload", cwd=tmp_path)
    stream = Stream(port)
    try:
        hello = stream.event()["data"]
        assert hello["failures"] == []
        time.sleep(0.3)  # the child's watcher has taken its first look
        broken = PLAIN_APP % "second" + "def broken(:\n"
        source.write_text(broken)
        stream.close()
        stream, failing = hello_from_a_new_child(port, hello["boot"])
        # The failure is state: said in hello (the page then keeps its content),
        # then sent whole.
        assert failing["failures"] == ["load"]
        event = stream.event()
        assert event["event"] == "failure"
        data = event["data"]
        assert (data["kind"], data["file"], data["line"]) == (
            "load", str(source.resolve()), broken.count("\n"),
        )  # fmt: skip
        assert data["message"].startswith("SyntaxError: ")
        assert 'app.py", line %d\n    def broken(:' % broken.count("\n") in data["detail"]
        source.write_text(PLAIN_APP % "third")
        stream.close()
        stream, fixed = hello_from_a_new_child(port, failing["boot"])
        assert fixed["failures"] == []
        assert b"<h1>third</h1>" in fetch(port, "/")[2]
    finally:
        stream.close()
        code, err = stop_app(proc)
    assert code == 0, err


@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
def test_app_livereload_reports_a_500_to_open_pages_unless_debug(
    tmp_path: Path, debug: bool
) -> None:
    if debug:
        pytest.importorskip("werkzeug.debug")
    (tmp_path / "app.py").write_text(PLAIN_APP % "first")
    flags = ["--debug"] if debug else []
    proc, port = start_app("--app", "app.py:app", "0", "--livereload", *flags, cwd=tmp_path)
    stream = Stream(port)
    try:
        assert stream.event()["data"]["failures"] == []
        with pytest.raises(urllib.error.HTTPError) as answered:
            fetch(port, "/boom?session=s3cret")
        assert answered.value.code == 500
        answered.value.close()
        later = Stream(port)
        hello = later.event()["data"]
        later.close()
        if debug:
            assert hello["failures"] == []  # the debugger's page shows it
        else:
            assert hello["failures"] == ["path /boom"]
            event = stream.event()
            assert event["event"] == "failure"
            data = event["data"]
            assert (data["method"], data["path"], data["message"]) == (
                "GET", "/boom", "RuntimeError: boom",
            )  # fmt: skip
            assert (data["file"], data["line"]) == (str(tmp_path / "app.py"), 6)
            assert "s3cret" not in json.dumps(data)
    finally:
        stream.close()
        code, err = stop_app(proc)
    assert code == 0, err


class QuietFiles(QuietWSGIHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_static_mount_serves_files_and_the_app_the_rest(wsgi: Any, tmp_path: Path) -> None:
    (tmp_path / "app.css").write_text("body{}")
    (tmp_path / "sub").mkdir()
    profile = Profile.from_args(build_parser().parse_args(["--app", "x:app"]))
    files = configured(SimpleHTTPRequestHandler, profile.files_attributes(str(tmp_path)))
    table = MountTable([("/static", files)])
    server = wsgi(plain.hello, configured(QuietFiles, {"responders": (table,)}))
    with server.connect() as sock:
        # One keep-alive connection, alternating between the files and the app.
        sock.sendall(b"GET /static/app.css HTTP/1.1\r\nHost: a\r\n\r\n")
        status, headers, body = split(sock.recv(65536))
        assert status == b"HTTP/1.1 200 OK"
        assert headers["content-type"].startswith("text/css")
        assert "etag" in headers
        assert body == b"body{}"
        sock.sendall(b"GET /static/sub HTTP/1.1\r\nHost: a\r\n\r\n")
        status, headers, _ = split(sock.recv(65536))
        assert status.startswith(b"HTTP/1.1 301")
        assert headers["location"] == "/static/sub/"
        sock.sendall(b"GET /staticky HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        assert split(read_all(sock))[2] == b"Hello, world!"
    missing = server.exchange(b"GET /static/nope HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    assert missing.startswith(b"HTTP/1.1 404")
    escape = server.exchange(
        b"GET /static/../../etc/passwd HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
    )
    assert not escape.startswith(b"HTTP/1.1 200")


def test_serve_app_reports_a_bad_app_and_returns_1(capsys: Any) -> None:
    spec = "no_such_module_for_devserve_xyz:app"
    profile = Profile.from_args(build_parser().parse_args(["--app", spec, "0"]))
    assert serve_app(profile, AppOptions(spec, port=0)) == 1
    assert "no module named" in capsys.readouterr().err


def test_reload_without_watchfiles_says_once_how_to_get_events(tmp_path: Path) -> None:
    (tmp_path / "quiet_app.py").write_text(
        "def app(environ, start_response):\n    start_response('200 OK', [])\n    return [b'']\n"
    )
    port = free_port()
    code = (
        "import sys; sys.modules['watchfiles'] = None\n"
        "from devserve.cli.main import main\n"
        "sys.exit(main(['--app', 'quiet_app:app', '--reload', '-q', '%d']))\n" % port
    )
    proc = start([sys.executable, "-c", code], cwd=tmp_path, stdout=subprocess.PIPE)
    try:
        wait_for_port(port, proc)
    finally:
        out, _ = interrupt(proc)
    banner = out.decode()
    assert banner.count("pip install watchfiles for file-system events") == 1
