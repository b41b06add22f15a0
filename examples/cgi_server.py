"""CGI scripts served from Python: CGIHTTPRequestHandler with its settings changed.

Run it with ``python examples/cgi_server.py [PORT] [DIRECTORY]`` (default 8000 and
the ``examples`` directory), then ``curl http://127.0.0.1:8000/cgi-bin/env.sh/a?b=1``.
Ctrl+C stops it.  ``devserve --cgi -d examples`` does the same from the command line.
"""

import contextlib
import functools
import os
import sys

from devserve import CGIHTTPRequestHandler, ThreadingHTTPServer


class Handler(CGIHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # scripts' responses framed for keep-alive
    # A list, as in http.server; nested directories such as /tools/cgi work too.
    cgi_directories = ["/cgi-bin", "/tools/cgi"]  # noqa: RUF012
    cgi_timeout = 10.0  # a script silent for 10 s is killed: 504


EXAMPLES = os.path.dirname(os.path.abspath(__file__))


def main(port=8000, directory=EXAMPLES):
    handler = functools.partial(Handler, directory=directory)
    with (
        ThreadingHTTPServer(("127.0.0.1", port), handler) as httpd,
        contextlib.suppress(KeyboardInterrupt),
    ):
        print("Serving CGI scripts on http://127.0.0.1:%d/cgi-bin/" % port, flush=True)
        httpd.serve_forever()


if __name__ == "__main__":
    main(
        int(sys.argv[1]) if len(sys.argv) > 1 else 8000,
        sys.argv[2] if len(sys.argv) > 2 else EXAMPLES,
    )
