"""Shared fixtures: real servers on 127.0.0.1 in a thread, and a TLS certificate.

The helpers behind them are in tests/support/ (``pythonpath = ["tests"]`` in
pyproject.toml makes ``support`` and ``apps`` importable); no test module imports
another.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# The helpers' own asserts get pytest's detailed messages, as in a test module.
pytest.register_assert_rewrite("support")

import devserve  # noqa: E402
from devserve.wsgi.handler import WSGIHandler  # noqa: E402
from devserve.wsgi.server import WSGIServer  # noqa: E402
from support.sockets import RunningServer, make_certificate  # noqa: E402
from support.wsgi import QuietWSGIHandler  # noqa: E402


@pytest.fixture
def serve() -> Iterator[Callable[..., RunningServer]]:
    """Start servers for a test: ``serve(HandlerClass, server_class=...)``.

    Every server started is shut down and closed when the test ends.
    """
    running: list[RunningServer] = []

    def start(
        handler: Any,
        server_class: Any = devserve.ThreadingHTTPServer,
        address: tuple[str, int] = ("127.0.0.1", 0),
        **kwargs: Any,
    ) -> RunningServer:
        server = RunningServer(server_class(address, handler, **kwargs))
        running.append(server)
        return server

    yield start
    for server in running:
        server.stop()


@pytest.fixture
def wsgi() -> Iterator[Callable[..., RunningServer]]:
    """``wsgi(app, handler=..., script_name=...)`` serves *app* until the test ends."""
    running: list[RunningServer] = []

    def start(
        app: Any, handler: type[WSGIHandler] = QuietWSGIHandler, **kwargs: Any
    ) -> RunningServer:
        server = WSGIServer(("127.0.0.1", 0), handler, **kwargs)
        server.set_app(app)
        running.append(RunningServer(server))
        return running[-1]

    yield start
    for server in running:
        server.stop()


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for localhost and its key (PEM files), made for the run.

    ``key.encrypted.pem`` beside them is the key under ``support.sockets.CERTIFICATE_PASSWORD``.
    """
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def socket_path() -> Iterator[Path]:
    """A path for a Unix socket, in a new directory short enough for ``sun_path``.

    pytest's ``tmp_path`` can pass the 107 bytes a Unix socket's path may have.
    """
    import shutil
    import tempfile

    directory = Path(tempfile.mkdtemp(prefix="devserve-"))
    try:
        yield directory / "dev.sock"
    finally:
        shutil.rmtree(directory, ignore_errors=True)
