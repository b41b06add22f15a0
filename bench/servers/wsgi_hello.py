"""A WSGI hello application served by devserve, wsgiref, Werkzeug or waitress.

gunicorn is started by its own command line (see ``scenarios.py``).  Every server
runs with its per-request log off, so the figures are the server's, not the
terminal's.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

from wsgi_apps import load


def _quiet(handler_class: type[Any]) -> type[Any]:
    def log_message(self: Any, format: str, *args: Any) -> None:
        pass

    return type("Quiet" + handler_class.__name__, (handler_class,), {"log_message": log_message})


def serve_devserve(app: Any, host: str, port: int) -> None:
    from devserve import WSGIHandler, make_server

    with make_server(host, port, app, handler_class=_quiet(WSGIHandler)) as server:
        server.serve_forever()


def serve_wsgiref(app: Any, host: str, port: int) -> None:
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    with make_server(host, port, app, handler_class=_quiet(WSGIRequestHandler)) as server:
        server.serve_forever()


def serve_werkzeug(app: Any, host: str, port: int) -> None:
    from werkzeug.serving import run_simple

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    run_simple(host, port, app, threaded=True)


def serve_waitress(app: Any, host: str, port: int) -> None:
    import waitress

    waitress.serve(app, host=host, port=port, threads=4, _quiet=True)


SERVERS = {
    "devserve": serve_devserve,
    "wsgiref": serve_wsgiref,
    "werkzeug": serve_werkzeug,
    "waitress": serve_waitress,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--impl", choices=sorted(SERVERS), required=True)
    parser.add_argument("--app", choices=("plain", "flask"), default="plain")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    SERVERS[args.impl](load(args.app), args.host, args.port)


if __name__ == "__main__":
    main()
