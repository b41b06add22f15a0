"""The ``run()`` example from the http.server documentation, with the import changed.

Run it with ``python examples/stdlib_run.py [PORT]`` (default 8000).  As in the
documentation, it serves BaseHTTPRequestHandler, which answers every GET with 501.
"""

import sys

from devserve import BaseHTTPRequestHandler, HTTPServer


def run(server_class=HTTPServer, handler_class=BaseHTTPRequestHandler, port=8000):
    server_address = ("127.0.0.1", port)
    httpd = server_class(server_address, handler_class)
    print("Serving on port %d" % httpd.server_port, flush=True)
    httpd.serve_forever()


if __name__ == "__main__":
    run(port=int(sys.argv[1]) if len(sys.argv) > 1 else 8000)
