"""``.env``, ``.flaskenv`` and ``--env-file`` for ``--app``, over real processes and sockets."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from support.processes import free_port, interrupt, start, wait_for_port

TIMEOUT = 10

APP = """
import os
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    names = ("FROM_ENV", "FROM_FLASKENV", "SHARED", "FROM_FILE", "FROM_SHELL")
    return [" ".join("%s=%s" % (n, os.environ.get(n, "-")) for n in names).encode()]
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "envapp.py").write_text(APP)
    (tmp_path / ".env").write_text("FROM_ENV=env\nSHARED=from-env\nFROM_SHELL=env\n")
    (tmp_path / ".flaskenv").write_text("FROM_FLASKENV=flaskenv\nSHARED=from-flaskenv\n")
    (tmp_path / "custom.env").write_text("FROM_FILE=custom\nSHARED=from-file\n")
    return tmp_path


def serve(project: Path, *args: str, block_dotenv: bool = False) -> tuple[str, str, bytes]:
    """Run ``devserve --app envapp:app *args``; return its banner, its stderr and one answer."""
    port = free_port()
    argv = ["--app", "envapp:app", "-q", *args, str(port)]
    code = "import sys\n"
    if block_dotenv:
        code += "sys.modules['dotenv'] = None\n"  # as if python-dotenv were not installed
    code += "from devserve.cli.main import main\nsys.exit(main(%r))\n" % argv
    env = {"FROM_SHELL": "shell", "FLASK_SKIP_DOTENV": ""}  # empty: not skipped
    proc = start([sys.executable, "-c", code], cwd=project, env=env, stdout=subprocess.PIPE)
    try:
        wait_for_port(port, proc)
        import urllib.request

        with urllib.request.urlopen("http://127.0.0.1:%d/" % port, timeout=TIMEOUT) as response:
            body = response.read()
    finally:
        out, err = interrupt(proc)
    return out.decode(), err.decode(), body


def test_env_and_flaskenv_are_loaded_as_flask_loads_them(project: Path) -> None:
    banner, _, body = serve(project)
    # .env before .flaskenv (it wins), and the shell before both.
    assert body == (
        b"FROM_ENV=env FROM_FLASKENV=flaskenv SHARED=from-env FROM_FILE=- FROM_SHELL=shell"
    )
    assert "Environment: loaded %s, %s" % (project / ".env", project / ".flaskenv") in banner


def test_an_env_file_comes_first(project: Path) -> None:
    banner, _, body = serve(project, "--env-file", "custom.env")
    assert b"SHARED=from-file FROM_FILE=custom" in body
    assert "Environment: loaded %s, %s" % (project / "custom.env", project / ".env") in banner


def test_no_dotenv_skips_the_files_found(project: Path) -> None:
    banner, _, body = serve(project, "--no-dotenv")
    assert body == b"FROM_ENV=- FROM_FLASKENV=- SHARED=- FROM_FILE=- FROM_SHELL=shell"
    assert "Environment" not in banner


def test_without_python_dotenv_a_tip_names_the_files(project: Path) -> None:
    banner, _, body = serve(project, block_dotenv=True)
    assert body.startswith(b"FROM_ENV=- ")
    assert "Tip: .env, .flaskenv not loaded: pip install python-dotenv to use them" in banner


def read_until(proc: subprocess.Popen[bytes], marker: bytes) -> str:
    """What *proc* wrote to stdout up to and including *marker* (or for TIMEOUT seconds)."""
    assert proc.stdout is not None
    fd, received = proc.stdout.fileno(), b""
    deadline = time.monotonic() + TIMEOUT
    while marker not in received and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], deadline - time.monotonic())
        chunk = os.read(fd, 4096) if ready else b""
        if not chunk:
            break
        received += chunk
    return received.decode()


def test_files_mode_loads_nothing_and_names_flask_app(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("X=1\n")
    port = free_port()
    argv = [sys.executable, "-m", "devserve", "-q", str(port)]
    proc = start(argv, cwd=tmp_path, env={"FLASK_APP": "hello:app"}, stdout=subprocess.PIPE)
    try:
        wait_for_port(port, proc)
        # The port is open before the banner is printed: wait for its last line, or a
        # Ctrl+C sent in between ends devserve before it says anything.
        banner = read_until(proc, b"--app hello:app\n")
    finally:
        out, _ = interrupt(proc)
    banner += out.decode()
    assert "FLASK_APP is set: to serve that application, run devserve --app hello:app" in banner
    assert "Environment" not in banner
