"""The README's two opening commands: the first serves the example app, the second tests.

The install half of the first command is what ``.ci/run`` does on a fresh machine; here
its serving half runs as written (on a free port, as port 8000 may be taken), and the
test command is checked to be the one ``.ci/run`` calls.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from support.processes import free_port, wait_for_port

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 10


def opening_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```console\n(.*?)```", text, re.S)
    assert block, "the README opens with no console block"
    return block[1].strip().splitlines()


def test_the_readme_opens_with_install_and_serve_then_test() -> None:
    install_and_serve, test = opening_commands()
    install, _, serve = install_and_serve.partition(" && ")
    assert install == "pip install -e '.[test]'"  # quoted for zsh
    assert serve.startswith("devserve ")
    assert test == "python -m pytest"
    assert "\n" + test + "\n" in (ROOT / ".ci" / "run").read_text()


def test_the_readme_serve_command_serves_the_example_app() -> None:
    serve = opening_commands()[0].partition(" && ")[2]
    argv = shlex.split(serve)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "devserve", *argv[1:], str(port)], cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        wait_for_port(port, proc)
        url = "http://127.0.0.1:%d/" % port
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
            assert response.status == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0
    assert b"Reload: restarting on changes" in out
