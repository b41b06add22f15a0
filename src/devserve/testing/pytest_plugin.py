"""A pytest fixture that serves handlers and WSGI apps for the length of a test.

Enable it in a ``conftest.py`` with ``pytest_plugins = ["devserve.testing.pytest_plugin"]``;
it is not registered automatically, so installing devserve adds nothing to other
projects' test runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .server_thread import ServerThread, serve_in_thread

__all__ = ["devserve_server"]


@pytest.fixture
def devserve_server() -> Iterator[Callable[..., ServerThread]]:
    """Start servers for a test: ``devserve_server(app_or_handler)`` returns a running one.

    Each server started is stopped, and its threads joined, when the test ends.

    .. versionadded:: 0.1
    """
    started: list[ServerThread] = []

    def start(app_or_handler: Any, **kwargs: Any) -> ServerThread:
        server = serve_in_thread(app_or_handler, **kwargs).start()
        started.append(server)
        return server

    yield start
    for server in reversed(started):
        server.stop()
