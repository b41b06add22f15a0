"""The hello-world ``do_GET`` handler, served by devserve or by :mod:`http.server`.

The handler code is the same for every ``--impl``; only its base class and server
class change, as issue 2's baselines ask:

* ``devserve``: :class:`devserve.ThreadingHTTPServer`, HTTP/1.1;
* ``stdlib``: :class:`http.server.ThreadingHTTPServer` as shipped, HTTP/1.1
  (head and body leave in two sends);
* ``stdlib-onesend``: the same with ``wbufsize = -1``, so one send per response;
* ``devserve-bounded``: :class:`devserve.net.bounded.BoundedHTTPServer` (issue 7), with
  the command line's timeouts (idle 75 s, head 10 s) and strict parsing.
"""

from __future__ import annotations

import argparse
from typing import Any

BODY = b"Hello, world!"


def make_handler(base: type[Any]) -> type[Any]:
    """Return the hello handler class on *base* (a ``BaseHTTPRequestHandler``)."""

    class HelloHandler(base):  # type: ignore[misc,valid-type]
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            self.wfile.write(BODY)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return HelloHandler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    impls = ("devserve", "devserve-bounded", "stdlib", "stdlib-onesend")
    parser.add_argument("--impl", choices=impls, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    if args.impl.startswith("devserve"):
        import devserve as module
    else:
        import http.server as module  # type: ignore[no-redef]
    handler = make_handler(module.BaseHTTPRequestHandler)
    if args.impl == "stdlib-onesend":
        handler.wbufsize = -1
    server_class: Any = module.ThreadingHTTPServer
    if args.impl == "devserve-bounded":
        from devserve.net.bounded import BoundedHTTPServer

        server_class = BoundedHTTPServer
        handler.idle_timeout, handler.head_timeout, handler.strict_parsing = 75.0, 10.0, True
    with server_class((args.host, args.port), handler) as server:
        server.serve_forever()


if __name__ == "__main__":
    main()
