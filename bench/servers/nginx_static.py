"""Run nginx in the foreground on a generated configuration serving one directory.

The configuration is written to ``--workdir``; nginx then replaces this process
(``exec``), so the pid the harness holds is nginx's master.  One worker, ``sendfile
on``, no access log, keep-alive without a request cap, 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path

CONFIG = """\
worker_processes 1;
pid {workdir}/nginx-{port}.pid;
error_log {workdir}/nginx-{port}-error.log warn;
events {{
    worker_connections 4096;
}}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000000;
    keepalive_timeout 65s;
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location / {{
        }}
    }}
}}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--root", required=True)
    parser.add_argument("--workdir", required=True)
    args = parser.parse_args()
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    workdir = Path(args.workdir).resolve()
    config = workdir / ("nginx-%d.conf" % args.port)
    config.write_text(
        CONFIG.format(port=args.port, root=Path(args.root).resolve(), workdir=workdir)
    )
    os.execv(nginx, [nginx, "-p", str(workdir), "-c", str(config), "-g", "daemon off;"])


if __name__ == "__main__":
    main()
