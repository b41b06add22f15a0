"""examples/cgi-bin/ served by ``python -m devserve --cgi``, as the example says.

The directory is copied somewhere world-traversable first: as root the scripts run as
``nobody``, who cannot enter a checkout under a private home.
"""

from __future__ import annotations

import http.client
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.examples import EXAMPLES
from support.processes import free_port, serving

TIMEOUT = 10


def _python3_for_scripts() -> bool:
    """Whether ``#!/usr/bin/env python3`` works for the user scripts run as."""
    extra: dict[str, object] = {}
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        import pwd

        nobody = pwd.getpwnam("nobody")
        extra = {"user": nobody.pw_uid, "group": nobody.pw_gid, "extra_groups": []}
    try:
        probe = subprocess.run(
            ["/usr/bin/env", "python3", "-c", "pass"],
            capture_output=True,
            timeout=30,
            check=False,
            cwd="/",
            **extra,  # type: ignore[call-overload]
        )
    except OSError:
        return False
    return probe.returncode == 0


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    site = Path(tempfile.mkdtemp(prefix="devserve-example-cgi-"))
    site.chmod(0o755)
    shutil.copytree(EXAMPLES / "cgi-bin", site / "cgi-bin")
    for path in [site / "cgi-bin", *(site / "cgi-bin").iterdir()]:
        path.chmod(0o755)
    number = free_port()
    try:
        with serving(
            [sys.executable, "-m", "devserve", "--cgi", "-q", "-d", str(site), str(number)], number
        ):
            yield number
    finally:
        shutil.rmtree(site)


def _get(
    port: int, method: str, path: str, body: str | None = None
) -> tuple[int, dict[str, str], str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    try:
        headers = {"Content-Type": "application/x-www-form-urlencoded"} if body else {}
        connection.request(method, path, body, headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode()
    finally:
        connection.close()


def test_shell_example_shows_the_request(port: int) -> None:
    status, headers, body = _get(port, "GET", "/cgi-bin/env.sh/extra/path?a=1")
    assert status == 200
    assert headers["Content-Type"] == "text/plain; charset=utf-8"
    lines = body.splitlines()
    assert "SCRIPT_NAME=/cgi-bin/env.sh" in lines
    assert "PATH_INFO=/extra/path" in lines
    assert "QUERY_STRING=a=1" in lines
    if os.geteuid() == 0:
        import pwd

        assert lines[-1] == "running as uid %d" % pwd.getpwnam("nobody").pw_uid


def test_python_example_posts_redirects_and_greets(port: int) -> None:
    if not _python3_for_scripts():
        pytest.skip("no python3 on PATH that the scripts' user can run")
    status, headers, body = _get(port, "POST", "/cgi-bin/hello.py", "name=Ada+%3Cb%3E")
    assert status == 303
    assert headers["Location"] == "/cgi-bin/hello.py?name=Ada+%3Cb%3E"
    status, headers, body = _get(port, "GET", headers["Location"])
    assert status == 200
    assert "<h1>Hello, Ada &lt;b&gt;!</h1>" in body
    assert headers["Content-Length"] == str(len(body.encode()))
