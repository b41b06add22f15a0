"""Tiny WSGI applications used by the tests, one job each."""
