"""The file watcher (both backends) and restart-on-change with the socket kept open."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from devserve.dev.reloader import RESTART_CODE, ChangeWatcher, serve_until_changed, watch
from support.processes import alive, child_of, children_of, free_port, interrupt, port_free

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
    proc = subprocess.Popen(
        [sys.executable, "-c", code], cwd=tmp_path, env=bytecode_on(),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
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


# -- the reload loop as a process ------------------------------------------------------


def bytecode_on() -> dict[str, str]:
    """This environment with bytecode caches written, as most machines have it."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def ignore_sigint() -> None:
    # What a shell's background job gets (`devserve --app app:app --reload &`).
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def reloading(
    project: Path, port: int, *extra: str, background: bool = False
) -> subprocess.Popen[Any]:
    """Start ``devserve --app reloadme:app --reload`` on *port* in *project*."""
    argv = [sys.executable, "-m", "devserve", "--app", "reloadme:app", "--reload", "-q", *extra]
    argv.append(str(port))
    return subprocess.Popen(
        argv, cwd=project, env=bytecode_on(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        preexec_fn=ignore_sigint if background else None,
    )  # fmt: skip


def answer(port: int, accept: str = "*/*", path: str = "/") -> tuple[int, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        sock.sendall(
            b"GET %s HTTP/1.1\r\nHost: localhost\r\nAccept: %s\r\nConnection: close\r\n\r\n"
            % (path.encode(), accept.encode())
        )
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body


def wait_for(port: int, wanted: bytes, deadline: float = TIMEOUT) -> float:
    """Ask until the body is *wanted*; return how long that took."""
    started = time.monotonic()
    while True:
        try:
            if answer(port)[1] == wanted:
                return time.monotonic() - started
        except OSError:
            pass
        assert time.monotonic() - started < deadline, "never answered %r" % wanted
        time.sleep(0.02)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "reloadme.py").write_text(APP.format(version="v1"))
    return tmp_path


def test_sigterm_stops_a_background_reloader_and_its_child(project: Path) -> None:
    port = free_port()
    proc = reloading(project, port, background=True)
    child = 0
    try:
        wait_for(port, b"v1 true")
        child = child_of(proc.pid)
        started = time.monotonic()
        proc.terminate()
        out, err = proc.communicate(timeout=TIMEOUT)
        took = time.monotonic() - started
    finally:
        for pid in (proc.pid, child):
            if pid and alive(pid):
                os.kill(pid, signal.SIGKILL)
    assert took < 1.5 + 1.0, took  # the grace (1 s) + 0.5 s, with room for a slow machine
    assert proc.returncode == 0
    assert not alive(child)
    assert port_free(port)
    assert b"Terminated (SIGTERM), exiting." in out
    assert b"Keyboard interrupt" not in out + err


def children_of_at_least(parent: int, count: int) -> list[int]:
    """Wait until *parent* has *count* living children; return them all."""
    deadline = time.monotonic() + TIMEOUT
    while len(found := children_of(parent)) < count:
        assert time.monotonic() < deadline, "%d children, not %d" % (len(found), count)
        time.sleep(0.05)
    return found


def test_no_child_nor_spare_outlives_its_killed_parent(project: Path) -> None:
    port = free_port()
    proc = reloading(project, port)
    children: list[int] = []
    try:
        wait_for(port, b"v1 true")
        children = children_of_at_least(proc.pid, 2)  # the serving child and the spare
        proc.kill()
        proc.wait(TIMEOUT)
        deadline = time.monotonic() + 3.0
        while any(map(alive, children)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(map(alive, children))
        assert port_free(port)
    finally:
        for pid in (proc.pid, *children):
            if pid and alive(pid):
                os.kill(pid, signal.SIGKILL)  # the children hold the pipes: end them too
        proc.communicate(timeout=TIMEOUT)


SLOW_APP = """
import time
VERSION = {version!r}
def app(environ, start_response):
    if environ["PATH_INFO"] == "/slow":
        time.sleep(float(environ["QUERY_STRING"] or 1.5))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [VERSION.encode()]
"""


def in_flight(port: int, path: str) -> tuple[threading.Thread, list[tuple[int, bytes]]]:
    """Ask *path* in a thread; the answer lands in the list."""
    answers: list[tuple[int, bytes]] = []
    thread = threading.Thread(target=lambda: answers.append(answer(port, path=path)))
    thread.start()
    return thread, answers


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_again_keeps_the_grace_but_a_second_ctrl_c_kills_at_once(
    tmp_path: Path, signum: int
) -> None:
    # One SIGTERM is enough: more (a process manager and a shell both sending it) ask
    # nothing new, and the request in flight keeps its grace; a second Ctrl+C is a
    # developer forcing the stop: the children are killed at once.
    (tmp_path / "reloadme.py").write_text(SLOW_APP.format(version="v1"))
    port = free_port()
    proc = reloading(tmp_path, port, background=signum == signal.SIGTERM)
    child = 0
    try:
        wait_for(port, b"v1")
        child = child_of(proc.pid)
        slow: list[object] = []

        def ask() -> None:
            try:
                slow.append(answer(port, path="/slow?0.8"))
            except (OSError, IndexError):  # closed without an answer
                slow.append("cut")

        asking = threading.Thread(target=ask)
        asking.start()
        time.sleep(0.3)  # the request is in the child's hands
        started = time.monotonic()
        # A burst of SIGTERMs; Ctrl+C pressed twice.
        for _ in range(50 if signum == signal.SIGTERM else 2):
            if proc.poll() is not None:
                break
            proc.send_signal(signum)
            time.sleep(0.002 if signum == signal.SIGTERM else 0.1)
        _out, err = proc.communicate(timeout=TIMEOUT)
        took = time.monotonic() - started
        asking.join(TIMEOUT)
    finally:
        for pid in (proc.pid, child):
            if pid and alive(pid):
                os.kill(pid, signal.SIGKILL)
    # 0, or a SIGTERM that came once the parent was done and its process ending.
    assert proc.returncode in (0, -signal.SIGTERM), err
    assert b"Traceback" not in err
    assert not alive(child)
    if signum == signal.SIGTERM:
        assert slow == [(200, b"v1")]
        assert took > 0.4
    else:
        assert slow == ["cut"]
        assert took < 0.4, took


def test_a_save_serves_new_code_while_a_request_in_flight_ends_with_the_old(
    tmp_path: Path,
) -> None:
    (tmp_path / "reloadme.py").write_text(SLOW_APP.format(version="v1"))
    port = free_port()
    proc = reloading(tmp_path, port, "--grace", "3")
    try:
        wait_for(port, b"v1")
        slow, answers = in_flight(port, "/slow?1.5")
        time.sleep(0.3)  # the request is in flight
        saved = time.monotonic()
        (tmp_path / "reloadme.py").write_text(SLOW_APP.format(version="v2"))
        wait_for(port, b"v2")
        took = time.monotonic() - saved
        assert slow.is_alive(), "the new code waited for the old request (%.2f s)" % took
        slow.join(TIMEOUT)
    finally:
        interrupt(proc)
    assert answers == [(200, b"v1")]  # finished by the old child, with the old code
    assert took < 1.0, took


def test_a_reload_burst_refuses_and_cuts_nothing(tmp_path: Path) -> None:
    (tmp_path / "reloadme.py").write_text(SLOW_APP.format(version="v0"))
    port = free_port()
    proc = reloading(tmp_path, port, "--grace", "3")
    answers: list[tuple[int, bytes]] = []
    failures: list[BaseException] = []
    done = threading.Event()

    def client(path: str) -> None:
        while not done.is_set():
            try:
                answers.append(answer(port, path=path))
            except (OSError, IndexError, ValueError) as error:
                failures.append(error)

    try:
        wait_for(port, b"v0")
        clients = [threading.Thread(target=client, args=(path,)) for path in
                   ("/", "/", "/slow?0.4", "/slow?2")]  # fmt: skip
        for thread in clients:
            thread.start()
        waits = []
        for version in ("v1", "v2", "v3", "v4", "v5"):
            time.sleep(0.3)
            (tmp_path / "reloadme.py").write_text(SLOW_APP.format(version=version))
            waits.append(wait_for(port, version.encode()))
        done.set()
        for thread in clients:
            thread.join(TIMEOUT)
    finally:
        done.set()
        interrupt(proc)
    assert not failures
    assert {status for status, _ in answers} == {200}
    assert {body for _, body in answers} <= {b"v0", b"v1", b"v2", b"v3", b"v4", b"v5"}
    # Requests of two seconds in flight all along never hold the next code back.
    assert max(waits) < 1.2, waits


def test_sigterm_during_the_overlap_stops_both_children(tmp_path: Path) -> None:
    (tmp_path / "reloadme.py").write_text(SLOW_APP.format(version="v1"))
    port = free_port()
    proc = reloading(tmp_path, port, "--grace", "3", background=True)
    tree: list[int] = []
    try:
        wait_for(port, b"v1")
        slow, answers = in_flight(port, "/slow?1.5")
        time.sleep(0.3)
        (tmp_path / "reloadme.py").write_text(SLOW_APP.format(version="v2"))
        wait_for(port, b"v2")
        tree = children_of_at_least(proc.pid, 2)  # the old one finishing, the new one
        tree += [pid for child in tree for pid in children_of(child)]
        proc.terminate()
        proc.communicate(timeout=TIMEOUT)
        slow.join(TIMEOUT)
    finally:
        for pid in (proc.pid, *tree):
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
    assert proc.returncode == 0
    assert not [pid for pid in tree if alive(pid)]
    assert port_free(port)
    assert answers == [(200, b"v1")]  # the retiring child finished it within the grace


def test_a_spare_imports_libraries_only_and_waits_for_go(tmp_path: Path) -> None:
    (tmp_path / "mine.py").write_text("import sys\nsys.stderr.write('imported mine')\n")
    code = (
        "import sys; from devserve.dev.spare import await_turn; await_turn();"
        "print('colorsys' in sys.modules, 'mine' in sys.modules)"
    )
    go_end, go = os.pipe()
    env = {**os.environ, "WERKZEUG_RUN_MAIN": "true", "DEVSERVE_SPARE": str(go_end),
           "DEVSERVE_PRELOAD": "mine,colorsys,no_such_module"}  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, pass_fds=[go_end],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    os.close(go_end)
    try:
        time.sleep(0.5)
        assert proc.poll() is None  # waiting
        os.write(go, b"g")
        out, err = proc.communicate(timeout=TIMEOUT)
    finally:
        os.close(go)
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert out == b"True False\n", err
    assert b"imported mine" not in err


def test_same_size_edits_within_a_second_are_served(project: Path) -> None:
    # Python reuses a __pycache__ entry whose source kept its size and mtime second.
    port = free_port()
    proc = reloading(project, port)
    try:
        wait_for(port, b"v1 true")
        for version in ("v2", "v3", "v4"):
            (project / "reloadme.py").write_text(APP.format(version=version))
            wait_for(port, b"%s true" % version.encode())
    finally:
        interrupt(proc)
    assert (project / "__pycache__").is_dir()  # bytecode was written all along


def test_a_broken_save_is_an_error_page_until_fixed(project: Path) -> None:
    port = free_port()
    proc = reloading(project, port)
    try:
        wait_for(port, b"v1 true")
        source = APP.format(version="v2") + "def broken(:\n"
        (project / "reloadme.py").write_text(source)
        deadline = time.monotonic() + TIMEOUT
        while (status := answer(port))[0] != 500:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        line = source.count("\n")
        assert b"SyntaxError" in status[1]
        assert b"reloadme.py, line %d" % line in status[1]
        page = answer(port, "text/html")
        assert page[0] == 500
        assert page[1].startswith(b"<!DOCTYPE html>")
        (project / "reloadme.py").write_text(APP.format(version="v3"))
        wait_for(port, b"v3 true")
    finally:
        err = interrupt(proc)[1].decode()
    assert "Answering every request with this error" in err


def test_a_broken_first_start_exits_with_the_error(project: Path) -> None:
    (project / "reloadme.py").write_text("import os\nraise RuntimeError('no config')\n")
    proc = reloading(project, free_port())
    _, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 1
    message = err.decode()
    assert "reloadme.py, line 2: RuntimeError: no config" in message
    assert "importlib" not in message  # the user's frames only
