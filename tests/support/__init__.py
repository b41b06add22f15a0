"""Helpers for the tests: imported by test modules and conftest.py, never collected.

One module per job: ``sockets`` (servers in a thread, raw-socket clients, the test
certificate), ``processes`` (servers in subprocesses), ``cli`` (the devserve command),
``wsgi`` (WSGI servers and reading their answers), ``event_stream`` (the live-reload
stream), ``vectors`` (the request corpus in tests/vectors/), ``examples`` (examples/),
``stdlib_suite`` (CPython's own tests, with their data in ``cpython/``) and ``cdp``
(a headless browser).  Fixtures live in tests/conftest.py; apps, handlers and CGI
scripts served by the tests in tests/apps/.
"""
