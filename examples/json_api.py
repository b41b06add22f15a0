"""A small JSON API with ``do_GET`` and ``do_POST``, reading bodies with ``read_body()``.

Run it with ``python examples/json_api.py [PORT]`` (default 8000), then:

    curl http://127.0.0.1:8000/items
    curl -X POST -H 'Content-Type: application/json' -d '{"name": "pen"}' \\
        http://127.0.0.1:8000/items

``read_body()`` reads Content-Length and chunked bodies alike (``curl -H
'Transfer-Encoding: chunked'`` works too).
"""

import contextlib
import json
import sys
import threading

from devserve import BaseHTTPRequestHandler, ThreadingHTTPServer

items = []
items_lock = threading.Lock()


class JSONHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def send_json(self, status, document):
        body = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path != "/items":
            self.send_error(404, "No such resource")
            return
        with items_lock:
            self.send_json(200, {"items": list(items)})

    def do_POST(self):
        if self.path != "/items":
            self.send_error(404, "No such resource")
            return
        if self.headers.get_content_type() != "application/json":
            self.send_error(415, "Send JSON")
            return
        try:
            item = json.loads(self.read_body())
        except ValueError:
            self.send_error(400, "Body is not JSON")
            return
        with items_lock:
            items.append(item)
        self.send_json(201, item)


def main(port=8000):
    # Ctrl+C ends the demo: KeyboardInterrupt is suppressed, the server closed.
    with (
        ThreadingHTTPServer(("127.0.0.1", port), JSONHandler) as httpd,
        contextlib.suppress(KeyboardInterrupt),
    ):
        print("Serving on http://127.0.0.1:%d/items" % httpd.server_port, flush=True)
        httpd.serve_forever()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 8000)
