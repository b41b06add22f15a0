"""A hello-world ``do_GET`` handler on devserve.

Run it with ``python examples/hello_handler.py [PORT]`` (default 8000) and open
http://127.0.0.1:8000/ ; Ctrl+C stops it.
"""

import contextlib
import sys

from devserve import BaseHTTPRequestHandler, ThreadingHTTPServer


class HelloHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        body = b"Hello, world!\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main(port=8000):
    # Ctrl+C ends the demo: KeyboardInterrupt is suppressed, the server closed.
    with (
        ThreadingHTTPServer(("127.0.0.1", port), HelloHandler) as httpd,
        contextlib.suppress(KeyboardInterrupt),
    ):
        print("Serving on http://127.0.0.1:%d/ (Ctrl+C to stop)" % httpd.server_port, flush=True)
        httpd.serve_forever()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 8000)
