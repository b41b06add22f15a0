"""The hello-world ``do_GET`` handler of ``handler_hello.py`` as a WSGI application.

gunicorn loads ``handler_app:app`` (the handler on devserve's
``BaseHTTPRequestHandler``) or ``handler_app:stdlib_app`` (on :mod:`http.server`'s),
each wrapped in :class:`devserve.HandlerApp`, in the configuration that serves
``wsgi_apps:hello``: the difference in CPU per request is what running a handler
class under a WSGI server costs (issue 14).
"""

from __future__ import annotations

import http.server

from handler_hello import make_handler

import devserve

app = devserve.HandlerApp(make_handler(devserve.BaseHTTPRequestHandler))
stdlib_app = devserve.HandlerApp(make_handler(http.server.BaseHTTPRequestHandler))
