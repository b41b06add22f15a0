"""Plain PEP 3333 applications: hello, environ echo, body echo, streaming, errors."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

Environ = dict[str, Any]
StartResponse = Callable[..., Any]


def hello(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    """Say hello in one item, so the server can set Content-Length."""
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"Hello, world!"]


def environ_echo(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    """Answer with every str-valued environ key as JSON, plus the keys of the rest."""
    data = {k: v for k, v in environ.items() if isinstance(v, str)}
    data["_keys"] = sorted(environ)
    data["_url_scheme"] = environ["wsgi.url_scheme"]
    data["_multithread"] = environ["wsgi.multithread"]
    data["_has_socket"] = environ.get("devserve.socket") is not None
    body = json.dumps(data).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


def body_echo(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    """Read the body the way ``?how=`` says and answer with it."""
    stream = environ["wsgi.input"]
    how = environ["QUERY_STRING"] or "read"
    if how == "read":
        body = stream.read()
    elif how == "chunks":
        parts = []
        while part := stream.read(3):
            parts.append(part)
        body = b"".join(parts)
    elif how == "readline":
        body = b"|".join(iter(stream.readline, b""))
    elif how == "readlines":
        body = b"|".join(stream.readlines())
    else:
        body = b"|".join(stream)
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    return [body]


def streaming(environ: Environ, start_response: StartResponse) -> Iterator[bytes]:
    """Yield three parts, an empty one among them; no length is known."""
    start_response("200 OK", [("Content-Type", "text/plain")])
    yield b"one,"
    yield b""
    yield b"two,"
    yield b"three"


def writer(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    """Use the legacy write() callable, then return one more item."""
    write = start_response("200 OK", [("Content-Type", "text/plain")])
    write(b"written,")
    write(b"twice,")
    return [b"returned"]


def status(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    """Answer with the status in the query string and a body the server may strip."""
    code = environ["QUERY_STRING"] or "200"
    start_response("%s Whatever" % code, [("Content-Type", "text/plain")])
    return [b"a body"]


def fail_before(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    """Raise before start_response."""
    raise RuntimeError("boom before the head")


def fail_after(environ: Environ, start_response: StartResponse) -> Iterator[bytes]:
    """Raise after the head and some body went out."""
    start_response("200 OK", [("Content-Type", "text/plain")])
    yield b"partial"
    raise RuntimeError("boom after the head")


def exc_info_app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    """Start a 200, fail, and replace it with a 503 through exc_info."""
    start_response("200 OK", [("Content-Type", "text/plain")])
    try:
        raise ValueError("changed my mind")
    except ValueError as error:
        start_response(
            "503 Service Unavailable",
            [("Content-Type", "text/plain")],
            (type(error), error, error.__traceback__),
        )
    return [b"sorry"]


def bad_header(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    """Set the header in ``?name``: a split value or a hop-by-hop field."""
    query = environ["QUERY_STRING"]
    headers = {
        "crlf": [("X-Evil", "a\r\nSet-Cookie: b=c")],
        "connection": [("Connection", "keep-alive")],
        "te": [("Transfer-Encoding", "chunked")],
        "tuple": (("Content-Type", "text/plain"),),
    }[query]
    start_response("200 OK", headers)
    return [b"never sent"]


def refuse_upload(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    """Refuse a body without reading it."""
    start_response("417 Expectation Failed", [("Content-Type", "text/plain")])
    return [b"no thanks"]


class ClosingApp:
    """Stream slowly forever and record that close() was called."""

    def __init__(self) -> None:
        self.closed = threading.Event()
        self.started = threading.Event()

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return self._Body(self)

    class _Body:
        def __init__(self, app: ClosingApp) -> None:
            self._app = app

        def __iter__(self) -> Iterator[bytes]:
            self._app.started.set()
            while True:
                yield b"x" * 65536

        def close(self) -> None:
            self._app.closed.set()
