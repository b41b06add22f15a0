"""Every example in examples/ runs as its docstring says, against a real socket."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
TIMEOUT = 10


def _default_sigint() -> None:
    # A shell's background job ignores SIGINT and its children inherit that.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running(example: str, *args: str) -> Iterator[int]:
    """Start an example on a free port; yield the port once it answers; stop it by pid."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(EXAMPLES / example), str(port), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        preexec_fn=_default_sigint,
    )
    try:
        deadline = time.monotonic() + TIMEOUT
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(proc.communicate()[1].decode()) from None
                time.sleep(0.05)
        yield port
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        assert proc.stdout is not None
        assert proc.stderr is not None
        proc.stdout.close()
        proc.stderr.close()


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
    for path in EXAMPLES.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert text.startswith('"""'), path.name
        assert "python examples/%s" % path.name in text or "devserve" in text.split('"""')[1], (
            path.name
        )


@pytest.mark.parametrize("example", ["hello_handler.py", "json_api.py"])
def test_ctrl_c_exits_cleanly(example: str) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(EXAMPLES / example), str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=_default_sigint,
    )
    assert proc.stdout is not None
    assert b"Serving on" in proc.stdout.readline()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0
    assert b"Traceback" not in err
