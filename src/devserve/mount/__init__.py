"""Mounts: URL prefixes served by other handlers and WSGI applications, in one server."""
