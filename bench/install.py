"""The outside tools the benchmark needs, installed from Debian's packages if missing.

Rule 1: only packages the benchmark names (``wrk``, ``nginx-light``), only with
``apt-get``, and only when the tool is not there already.
Rule 2: the package's own service is never started (a ``policy-rc.d`` that says no is
in place during the install): the harness runs nginx itself, on a temporary
configuration, on 127.0.0.1.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

__all__ = ["ToolMissing", "ensure_tool", "find_tool"]

# Tools outside PATH for a non-login shell: Debian puts nginx in /usr/sbin.
_EXTRA_DIRS = ("/usr/sbin", "/usr/local/sbin", "/sbin")
_PACKAGES = {"wrk": "wrk", "nginx": "nginx-light", "taskset": "util-linux"}
_apt_updated = False


class ToolMissing(RuntimeError):
    """A tool is missing and could not be installed."""


def find_tool(name: str) -> str | None:
    """Return the path of executable *name*, or ``None``."""
    found = shutil.which(name)
    if found:
        return found
    for directory in _EXTRA_DIRS:
        candidate = Path(directory) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def ensure_tool(name: str) -> str:
    """Return the path of *name*, installing its Debian package first if needed."""
    found = find_tool(name)
    if found:
        return found
    package = _PACKAGES.get(name, name)
    if os.geteuid() != 0:
        raise ToolMissing(
            "%s is not installed and this is not root: run `apt-get install %s`" % (name, package)
        )
    global _apt_updated
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    print("%s not found: installing Debian package %s" % (name, package), flush=True)
    # invoke-rc.d asks policy-rc.d before starting a service; exit status 101 means
    # "not now".  Put one in place for the install if the machine has none.
    policy = Path("/usr/sbin/policy-rc.d")
    made_policy = not policy.exists()
    try:
        if made_policy:
            policy.write_text(
                "#!/bin/sh\n# devserve bench: no service starts during install\nexit 101\n"
            )
            policy.chmod(0o755)
        if not _apt_updated:
            subprocess.run(["apt-get", "update", "-q"], check=True, env=env)
            _apt_updated = True
        subprocess.run(
            ["apt-get", "install", "-y", "-q", "--no-install-recommends", package],
            check=True,
            env=env,
        )
    except (OSError, subprocess.CalledProcessError) as error:
        raise ToolMissing("could not install %s: %s" % (package, error)) from error
    finally:
        if made_policy:
            policy.unlink(missing_ok=True)
    found = find_tool(name)
    if not found:
        raise ToolMissing("%s installed but %s is still not found" % (package, name))
    return found
