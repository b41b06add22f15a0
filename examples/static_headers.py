"""A file server that adds headers to every response, like ``devserve -H``.

Run it with ``python examples/static_headers.py [PORT] [DIRECTORY]`` (default 8000
and the current directory), then ``curl -I http://127.0.0.1:8000/``.  Ctrl+C stops it.

The headers here are the two a page needs for ``SharedArrayBuffer`` (threads in
WebAssembly) plus ``X-Content-Type-Options``; the command line does the same with
``devserve -H Cross-Origin-Opener-Policy same-origin -H ...``.  *response_headers* is
the keyword Python 3.15 gives :class:`http.server.SimpleHTTPRequestHandler`; the
class attributes below are devserve's, and the command line turns them on too.
"""

import contextlib
import functools
import os
import sys

from devserve import SimpleHTTPRequestHandler, ThreadingHTTPServer

HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "X-Content-Type-Options": "nosniff",
}


class FileHandler(SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # persistent connections
    etags = True  # ETag and If-None-Match: 304s for unchanged files
    cache_control = "no-cache"  # browsers revalidate every time: never a stale file
    serve_dotfiles = False  # .git and .env stay private (404)
    allow_symlink_escape = False  # no symlink out of the directory


def main(port=8000, directory="."):
    handler = functools.partial(
        FileHandler, directory=os.path.abspath(directory), response_headers=HEADERS
    )
    with (
        ThreadingHTTPServer(("127.0.0.1", port), handler) as httpd,
        contextlib.suppress(KeyboardInterrupt),
    ):
        print(
            "Serving %s on http://127.0.0.1:%d/ (Ctrl+C to stop)"
            % (os.path.abspath(directory), httpd.server_port),
            flush=True,
        )
        httpd.serve_forever()


if __name__ == "__main__":
    main(
        int(sys.argv[1]) if len(sys.argv) > 1 else 8000,
        sys.argv[2] if len(sys.argv) > 2 else ".",
    )
