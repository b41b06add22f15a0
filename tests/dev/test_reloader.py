"""The file watcher (both backends) and restart-on-change with the socket kept open."""

from __future__ import annotations

import socket
import sys
import threading
import time
from pathlib import Path

import pytest

from devserve.dev.reloader import RESTART_CODE, ChangeWatcher, serve_until_changed, watch
from support.processes import interrupt, start

TIMEOUT = 10


def next_change(changes: object, stop: threading.Event, action: object) -> set[str]:
    """Run *action* shortly after the watcher started; return the first change set."""
    result: list[set[str]] = []

    def consume() -> None:
        result.append(next(changes))  # type: ignore[call-overload]

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    time.sleep(0.3)
    action()  # type: ignore[operator]
    thread.join(TIMEOUT)
    stop.set()
    assert result, "no change seen"
    return result[0]


@pytest.mark.parametrize("backend", ["poll", "watchfiles"])
def test_modification_creation_and_deletion_are_seen(tmp_path: Path, backend: str) -> None:
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "gone.py").write_text("")
    for action, name in (
        (lambda: (tmp_path / "a.py").write_text("x = 22\n"), "a.py"),
        (lambda: (tmp_path / "new.py").write_text(""), "new.py"),
        (lambda: (tmp_path / "gone.py").unlink(), "gone.py"),
    ):
        stop = threading.Event()
        changes = watch([tmp_path], interval=0.05, backend=backend, stop=stop)
        assert str(tmp_path / name) in next_change(changes, stop, action)


@pytest.mark.parametrize("backend", ["poll", "watchfiles"])
def test_include_and_exclude_patterns(tmp_path: Path, backend: str) -> None:
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "templates").mkdir()
    stop = threading.Event()
    changes = watch(
        [tmp_path], include=["*.py", "*.html"], exclude=["__pycache__", "*.tmp.html"],
        interval=0.05, backend=backend, stop=stop,
    )  # fmt: skip

    def edit() -> None:
        (tmp_path / "__pycache__" / "x.py").write_text("")
        (tmp_path / "notes.txt").write_text("")
        (tmp_path / "templates" / "x.tmp.html").write_text("")
        time.sleep(0.3)
        (tmp_path / "templates" / "page.html").write_text("<p>")

    assert next_change(changes, stop, edit) == {str(tmp_path / "templates" / "page.html")}


def test_a_named_file_is_watched_whatever_its_name(tmp_path: Path) -> None:
    config = tmp_path / "settings.toml"
    config.write_text("a = 1")
    stop = threading.Event()
    changes = watch([config], interval=0.05, backend="poll", stop=stop)
    assert next_change(changes, stop, lambda: config.write_text("a = 22")) == {str(config)}


APP = """
import os
VERSION = {version!r}
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [("%s %s" % (VERSION, os.environ.get("WERKZEUG_RUN_MAIN"))).encode()]
"""


def fetch(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return data.partition(b"\r\n\r\n")[2]


def test_reload_restarts_on_change_and_keeps_the_socket(tmp_path: Path) -> None:
    (tmp_path / "reloadme.py").write_text(APP.format(version="v1"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = (
        "import sys; from devserve.cli.main import main;"
        "sys.exit(main(['--app', 'reloadme:app', '--reload', '-q', '%d']))" % port
    )
    proc = start([sys.executable, "-c", code], cwd=tmp_path)
    try:
        deadline = time.monotonic() + TIMEOUT
        while True:
            try:
                assert fetch(port) == b"v1 true"  # served by the child
                break
            except ConnectionRefusedError:
                assert time.monotonic() < deadline, proc.stderr.read()  # type: ignore[union-attr]
                time.sleep(0.05)
        time.sleep(0.2)
        (tmp_path / "reloadme.py").write_text(APP.format(version="v2"))
        answers = set()
        deadline = time.monotonic() + TIMEOUT
        while b"v2 true" not in answers and time.monotonic() < deadline:
            answers.add(fetch(port))  # never refused: the parent keeps listening
            time.sleep(0.02)
        assert b"v2 true" in answers
    finally:
        err = interrupt(proc)[1].decode()
    assert "Detected change in" in err
    assert proc.returncode == 0


def test_serve_until_changed_lets_on_change_keep_serving(tmp_path: Path) -> None:
    (tmp_path / "site.css").write_text("a {}")
    (tmp_path / "app.py").write_text("")
    handled: list[set[str]] = []
    stopped = threading.Event()

    def on_change(changed: set[str]) -> bool:
        handled.append(changed)
        return all(p.endswith(".css") for p in changed)

    def edit() -> None:
        time.sleep(0.3)
        (tmp_path / "site.css").write_text("a { color: red }")
        time.sleep(0.5)
        (tmp_path / "app.py").write_text("x = 1")

    editor = threading.Thread(target=edit)
    editor.start()
    watcher = ChangeWatcher([tmp_path], ["*.py", "*.css"], interval=0.05).start()
    code = serve_until_changed(None, stopped.set, watcher, on_change=on_change)
    editor.join()
    assert code == RESTART_CODE
    assert stopped.is_set()
    assert handled == [{str(tmp_path / "site.css")}, {str(tmp_path / "app.py")}]
