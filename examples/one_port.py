"""One port for a WSGI app, a ``do_GET`` handler and a directory, with a MountTable.

Run it with ``python examples/one_port.py [PORT]`` (default 8000), then:

    curl http://127.0.0.1:8000/api/time       # a WSGI application, SCRIPT_NAME=/api
    curl http://127.0.0.1:8000/hello/          # HelloHandler, its path below /hello
    curl http://127.0.0.1:8000/static/site.css # files, with ranges and validators

The same from the command line (the root is the current directory there)::

    devserve --mount /api=examples/one_port.py:api \\
             --mount /hello=examples/hello_handler.py:HelloHandler \\
             --mount /static=examples/one_port_static
"""

import contextlib
import os
import sys
import time

from devserve import MountTable, SimpleHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hello_handler import HelloHandler


def api(environ, start_response):
    """A WSGI application: it sees its mount as SCRIPT_NAME and the rest as PATH_INFO."""
    if environ["PATH_INFO"] != "/time":
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"try %s/time\n" % environ["SCRIPT_NAME"].encode()]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"%d\n" % int(time.time())]


table = MountTable()
table.mount("/api", api)
table.mount("/hello", HelloHandler)
table.mount("/static", os.path.join(os.path.dirname(os.path.abspath(__file__)), "one_port_static"))


class RootHandler(SimpleHTTPRequestHandler):
    """Everything under no mount: the files of the current directory."""

    protocol_version = "HTTP/1.1"
    responders = (table,)


def main(port=8000):
    with (
        ThreadingHTTPServer(("127.0.0.1", port), RootHandler) as httpd,
        contextlib.suppress(KeyboardInterrupt),
    ):
        print("Serving on http://127.0.0.1:%d/ (Ctrl+C to stop)" % httpd.server_port, flush=True)
        httpd.serve_forever()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 8000)
