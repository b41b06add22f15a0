"""devserve proxying every path to devserve's own WSGI hello server (issue 14's proxy figure).

The backend is ``wsgi_hello.py --impl devserve`` in a child process on a free port (it
inherits this process's CPU pinning, so both share the server's core); the front is the
command line's server, a :class:`~devserve.BoundedHTTPServer` whose table of mounts
forwards ``/`` to it through a :class:`~devserve.Proxy`.
"""

from __future__ import annotations

import argparse
import atexit
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_backend(port: int) -> subprocess.Popen[bytes]:
    script = Path(__file__).with_name("wsgi_hello.py")
    child = subprocess.Popen(
        [sys.executable, str(script), "--port", str(port), "--impl", "devserve", "--app", "plain"]
    )
    atexit.register(lambda: child.poll() is None and child.kill())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return child
        except OSError:
            time.sleep(0.05)
    child.kill()
    raise SystemExit("the backend did not start")


def _quiet(self: Any, format: str, *args: Any) -> None:
    pass


class _NoLog:
    """A response log that keeps nothing."""

    def write(self, record: Any) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    import devserve
    from devserve.handler.defaults import DEVSERVE

    backend_port = free_port()
    child = start_backend(backend_port)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    table = devserve.MountTable([("/", devserve.Proxy("http://127.0.0.1:%d" % backend_port))])
    # No per-request log, as the backend asked directly has none: the mounted proxy
    # handler logs through the front's response_log, which drops every record.
    attributes = DEVSERVE.attributes() | {
        "responders": (table,), "log_message": _quiet, "response_log": _NoLog()
    }  # fmt: skip
    front = type("Front", (devserve.BaseHTTPRequestHandler,), attributes)
    try:
        with devserve.BoundedHTTPServer(("127.0.0.1", args.port), front) as server:
            server.serve_forever()
    finally:
        if child.poll() is None:
            os.kill(child.pid, signal.SIGTERM)
            child.wait(5)


if __name__ == "__main__":
    main()
