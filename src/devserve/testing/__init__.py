"""Serving in tests: :class:`~devserve.ServerThread`, :func:`~devserve.serve_in_thread`
and a pytest fixture (:mod:`devserve.testing.pytest_plugin`)."""

from .server_thread import ServerThread, serve_in_thread

__all__ = ["ServerThread", "serve_in_thread"]
