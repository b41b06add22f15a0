"""CPython's own CGIHTTPServerTestCase, run against devserve's CGIHTTPRequestHandler.

The class skips itself as root (bpo-13308), so as root it runs in a user namespace
where this process is uid 1000 (``unshare --user --map-user=1000 --map-group=1000``):
not root there, so nothing is skipped and no script drops to ``nobody``, while files
owned by root outside (the pyenv interpreters under /root) stay reachable as the
namespace's owner.  Without user namespaces the test skips and says why.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support.stdlib_suite import HERE, stdlib_test_available

# http.server's names, with the CGI ones from devserve.cgi.handler (whatever devserve exports).
SHIM = """\
from devserve import *  # noqa: F403
from devserve import __all__ as _exported
from devserve.cgi.handler import CGIHTTPRequestHandler, _url_collapse_path, executable, nobody_uid

__all__ = [*_exported, "CGIHTTPRequestHandler"]
"""
NAMESPACE = ["--user", "--map-user=1000", "--map-group=1000"]


def unprivileged_prefix() -> list[str]:
    """The command prefix that runs a program as a user other than root."""
    if not (hasattr(os, "geteuid") and os.geteuid() == 0):
        return []
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("running as root and unshare(1) is missing: the CGI suite skips as root")
    probe = subprocess.run(
        [unshare, *NAMESPACE, "id", "-u"], capture_output=True, text=True, timeout=30, check=False
    )
    if probe.returncode != 0 or probe.stdout.strip() != "1000":
        pytest.skip("user namespaces are unavailable (%s)" % probe.stderr.strip())
    return [unshare, *NAMESPACE]


def test_cpython_cgi_suite_passes_against_devserve(tmp_path: Path) -> None:
    if not stdlib_test_available("test.test_httpservers"):
        pytest.skip("this interpreter ships no test.test_httpservers")
    (tmp_path / "_devserve_cgi_server.py").write_text(SHIM, encoding="utf-8")
    env = dict(os.environ)
    env.pop("PYTHONWARNINGS", None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tmp_path), env.get("PYTHONPATH")]))
    command = [
        *unprivileged_prefix(),
        sys.executable,
        str(HERE / "run_suite.py"),
        "test.test_httpservers",
        "http.server=_devserve_cgi_server",
        "-k",
        "CGIHTTPServerTestCase",
    ]
    proc = subprocess.run(
        command, capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env, check=False
    )
    assert proc.returncode == 0, proc.stderr[-5000:]
    outcomes: dict[str, str] = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(outcomes) >= 14, outcomes
    problems = {test: outcome for test, outcome in outcomes.items() if outcome != "pass"}
    assert not problems, "not passed (a skip counts): %s\n%s" % (problems, proc.stderr[-5000:])
