"""``devserve --app``: the WSGI mode of the command line, in a subprocess."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from processes import interrupt
from processes import start as start_process

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 10


def start(*args: str, cwd: Path = ROOT) -> tuple[subprocess.Popen[str], int]:
    proc = start_process(
        [sys.executable, "-m", "devserve", *args], cwd=cwd, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    for _ in range(5):
        line = proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        if match:
            return proc, int(match[1])
    proc.kill()
    raise AssertionError("no banner: %s" % proc.communicate(timeout=TIMEOUT)[1])


def stop(proc: subprocess.Popen[str]) -> tuple[int, str]:
    _out, err = interrupt(proc)
    return proc.returncode, err


def fetch(port: int, path: str) -> tuple[int, dict[str, str], bytes]:
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=TIMEOUT) as r:
        return r.status, dict(r.headers.items()), r.read()


def test_app_with_static_mount_and_extra_header(tmp_path: Path) -> None:
    (tmp_path / "hello.txt").write_text("static hello")
    proc, port = start(
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
        code, err = stop(proc)
    assert code == 0
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--app", "no_such_module_xyz:app", "0"], 1, "no_such_module_xyz"),
        (["--debug"], 2, "--debug needs --app"),
        (["--app", "examples/flask_app.py:app", "--static", "assets"], 2, "PREFIX=DIR"),
        (["--app", "examples/flask_app.py:app", "--cgi"], 2, "cannot be combined"),
    ],
    ids=["import-error", "debug-without-app", "bad-static", "cgi-with-app"],
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


FLASK_APP = """
from flask import Flask, render_template
app = Flask(__name__)

@app.get("/")
def page():
    return render_template("page.html")
"""


def flask_project(root: Path) -> Path:
    (root / "templates").mkdir()
    (root / "static").mkdir()
    (root / "app.py").write_text(FLASK_APP)
    (root / "templates" / "page.html").write_text(
        '<html><head><link rel="stylesheet" href="/static/site.css"></head>'
        "<body><h1>first</h1></body></html>"
    )
    (root / "static" / "site.css").write_text("h1 { color: red }")
    return root


def test_app_livereload_injects_into_pages_only(tmp_path: Path) -> None:
    flask_project(tmp_path)
    proc, port = start("--app", "app.py:app", "0", "--livereload", cwd=tmp_path)
    try:
        status, headers, body = fetch(port, "/")
        assert status == 200
        assert b'<h1>first</h1><script data-devserve="livereload">' in body
        assert headers["Content-Length"] == str(len(body))
        _status, _headers, css = fetch(port, "/static/site.css")
        assert css == b"h1 { color: red }"
    finally:
        code, err = stop(proc)
    assert code == 0, err


def test_app_reload_livereload_swaps_css_in_place_and_reloads_after_a_template_change(
    tmp_path: Path,
) -> None:
    from test_livereload import Stream

    flask_project(tmp_path)
    proc, port = start("--app", "app.py:app", "0", "--reload", "--livereload", cwd=tmp_path)
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
        code, err = stop(proc)
    assert code == 0, err
    assert "Detected change in" in err
    assert "page.html" in err
