"""The WSGI applications of the wsgi-hello, flask-hello and concurrency scenarios.

``hello`` is a plain PEP 3333 application; :func:`make_flask_app` builds a one-route
Flask application.  Both answer ``Hello, world!`` with a Content-Length.  gunicorn
loads them as ``wsgi_apps:hello`` and ``wsgi_apps:make_flask_app()``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

BODY = b"Hello, world!"
_HEADERS = [("Content-Type", "text/plain"), ("Content-Length", str(len(BODY)))]


def hello(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("200 OK", list(_HEADERS))
    return [BODY]


def make_flask_app() -> Any:
    from flask import Flask

    app = Flask("flask_hello")

    @app.route("/")
    def index() -> str:
        return "Hello, world!"

    return app


def load(name: str) -> Any:
    """Return the application named *name* (``plain`` or ``flask``)."""
    return hello if name == "plain" else make_flask_app()
