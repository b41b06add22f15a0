"""``devserve --app``: the WSGI mode of the command line, in a subprocess."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 10


def _default_sigint() -> None:
    # A shell's background job ignores SIGINT and its children inherit that.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start(*args: str) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "devserve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        preexec_fn=_default_sigint,
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
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=TIMEOUT)
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
