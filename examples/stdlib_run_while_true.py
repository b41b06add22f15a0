"""The documentation's ``handle_request()`` loop, with the import changed.

Run it with ``python examples/stdlib_run_while_true.py [PORT]`` (default 8000).  The
server answers one request per loop turn; a request for ``/stop`` ends the loop.
"""

import sys

from devserve import BaseHTTPRequestHandler, HTTPServer

keep_running = True


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        global keep_running
        if self.path == "/stop":
            keep_running = False
        body = ("handled %s\n" % self.path).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def run_while_true(server_class=HTTPServer, handler_class=Handler, port=8000):
    server_address = ("127.0.0.1", port)
    httpd = server_class(server_address, handler_class)
    print("Serving on port %d" % httpd.server_port, flush=True)
    while keep_running:
        httpd.handle_request()
    httpd.server_close()


if __name__ == "__main__":
    run_while_true(port=int(sys.argv[1]) if len(sys.argv) > 1 else 8000)
