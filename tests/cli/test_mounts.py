"""``--mount PREFIX=TARGET`` (and ``--static``) on the command line, in a real process.

Each kind of target in each mode, and with the development loop: ``--reload``,
``--debug`` and ``--livereload`` across mounts, and a mounted app that breaks.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.cli import start_app, stop_app
from support.event_stream import Stream
from support.processes import TIMEOUT

MODS = """
import http.server

VERSION = "{version}"


def api(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [("api %s %s|%s|%s" % (VERSION, environ["SCRIPT_NAME"], environ["PATH_INFO"],
                                  environ["QUERY_STRING"])).encode()]


def page(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
    return [b"<!DOCTYPE html><html><head><title>p</title></head><body>page</body></html>"]


def broken(environ, start_response):
    raise RuntimeError("the mounted app failed")


class Stdlib(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        body = ("stdlib " + self.path).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
"""

SCRIPT = """#!/bin/sh
printf 'Content-Type: text/plain\\r\\n\\r\\ncgi %s %s' "$SCRIPT_NAME" "$PATH_INFO"
"""


def fetch(port: int, path: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path))
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return response.status, dict(response.headers.items()), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers.items()), error.read()


@pytest.fixture
def project() -> Iterator[Path]:
    """The project, under the system temporary directory with mode 755 all the way down:
    served as root, CGI scripts run as ``nobody``, who cannot enter pytest's tmp_path."""
    tmp_path = Path(tempfile.mkdtemp(prefix="devserve-mounts-"))
    tmp_path.chmod(0o755)
    (tmp_path / "mods.py").write_text(MODS.format(version="v1"))
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text("<html><body>root page</body></html>")
    (tmp_path / "assets" / "sub").mkdir(parents=True)
    (tmp_path / "assets" / "app.css").write_text("body{}")
    (tmp_path / "assets" / "page.html").write_text("<html><body>asset page</body></html>")
    scripts = tmp_path / "scripts"
    scripts.mkdir(mode=0o755)
    (scripts / "hi.sh").write_text(SCRIPT)
    (scripts / "hi.sh").chmod(0o755)
    yield tmp_path
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_files_mode_mounts_directories_and_cgi(project: Path) -> None:
    proc, port = start_app(
        "0", "-d", "site", "--mount", "/assets=assets", "--mount", "/cgi=cgi:scripts",
        "--static", "/s=assets", cwd=project,
    )  # fmt: skip
    assert proc.stdout is not None
    banner = [proc.stdout.readline() for _ in range(5)]  # the rest of it
    try:
        assert fetch(port, "/")[2] == b"<html><body>root page</body></html>"
        status, headers, body = fetch(port, "/assets/app.css")
        assert (status, body) == (200, b"body{}")
        assert "etag" in {name.lower() for name in headers}  # the files options apply
        assert fetch(port, "/s/app.css")[2] == b"body{}"
        assert fetch(port, "/cgi/hi.sh/more?x")[2] == b"cgi /cgi/hi.sh /more"
        # A script's source is never served from a CGI directory.
        assert fetch(port, "/cgi/")[0] in (403, 404)
    finally:
        code, err = stop_app(proc)
    assert code == 0, err
    assert "Mount: /assets -> assets\n" in banner
    assert "Mount: /cgi -> cgi:scripts\n" in banner


def test_python_mounts_beside_a_directory(project: Path) -> None:
    proc, port = start_app(
        "0", "-d", "site", "--mount", "/api=mods:api", "--mount", "/old=mods:Stdlib",
        "--mount", "/assets=assets", cwd=project,
    )  # fmt: skip
    try:
        assert fetch(port, "/")[2] == b"<html><body>root page</body></html>"
        assert fetch(port, "/api/v1?q=2")[2] == b"api v1 /api|/v1|q=2"
        assert fetch(port, "/old/x/y")[2] == b"stdlib /x/y"
        assert fetch(port, "/assets/app.css")[2] == b"body{}"
    finally:
        code, err = stop_app(proc)
    assert code == 0, err


def test_reload_and_a_broken_save_reach_every_mount(project: Path) -> None:
    env_before = os.environ.get("PYTHONDONTWRITEBYTECODE")
    proc, port = start_app(
        "0", "--app", "mods:page", "--mount", "/api=mods:api", "--mount", "/assets=assets",
        "--reload", cwd=project,
    )  # fmt: skip
    try:
        assert fetch(port, "/api/a")[2] == b"api v1 /api|/a|"
        (project / "mods.py").write_text(MODS.format(version="v2"))
        assert wait_for(port, "/api/a", b"api v2 /api|/a|")
        (project / "mods.py").write_text(MODS.format(version="v3") + "\ndef broken(:\n")
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            status, _, body = fetch(port, "/api/a")
            if status == 500:
                break
            time.sleep(0.05)
        assert status == 500
        assert b"mods.py" in body
        assert b"SyntaxError" in body
        # The root answers the error too; a mounted directory still serves its files.
        assert fetch(port, "/")[0] == 500
        assert fetch(port, "/assets/app.css")[2] == b"body{}"
        (project / "mods.py").write_text(MODS.format(version="v4"))
        assert wait_for(port, "/api/a", b"api v4 /api|/a|")
    finally:
        code, err = stop_app(proc)
    assert code == 0, err
    assert env_before == os.environ.get("PYTHONDONTWRITEBYTECODE")


def wait_for(port: int, path: str, body: bytes) -> bool:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if fetch(port, path)[2] == body:
            return True
        time.sleep(0.05)
    return False


def test_a_mount_that_cannot_be_loaded_stops_the_first_start(project: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "devserve", "0", "--mount", "/api=mods:missing"],
        cwd=project, capture_output=True, text=True, timeout=TIMEOUT * 2,
    )  # fmt: skip
    assert done.returncode == 1
    assert "has no attribute 'missing'" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_debugger_covers_a_mounted_app(project: Path) -> None:
    pytest.importorskip("werkzeug")
    proc, port = start_app("0", "--mount", "/bad=mods:broken", "--debug", cwd=project)
    try:
        status, _, body = fetch(port, "/bad/x")
    finally:
        code, err = stop_app(proc)
    assert status == 500
    assert b"the mounted app failed" in body
    assert b"Werkzeug" in body  # its interactive page, not devserve's bare 500
    assert code == 0, err


def test_live_reload_reaches_mounted_apps_and_directories(project: Path) -> None:
    proc, port = start_app(
        "0", "--app", "mods:api", "--mount", "/page=mods:page", "--mount", "/assets=assets",
        "--livereload", cwd=project,
    )  # fmt: skip
    stream = None
    try:
        assert b"/__devserve__/livereload" in fetch(port, "/page/")[2]
        assert b"/__devserve__/livereload" in fetch(port, "/assets/page.html")[2]
        stream = Stream(port)
        assert stream.event()["event"] == "hello"
        time.sleep(0.3)  # the watcher has taken its first look
        (project / "assets" / "app.css").write_text("body{color:red}")
        # A stylesheet of a mounted directory is swapped in place.
        assert stream.event() == {"id": "1", "event": "css", "data": {"names": ["app.css"]}}
    finally:
        if stream is not None:
            stream.close()
        code, err = stop_app(proc)
    assert code == 0, err
