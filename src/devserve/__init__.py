"""devserve: a strict, fast drop-in for :mod:`http.server`, with a WSGI bridge.

The public names of :mod:`http.server` are here under the same names, so code written
for it runs after changing the import.
"""

# CPython's test_windows_colon swaps ``server.os.path`` for ntpath; the module it swaps
# must be the os that devserve's path code looks up at call time, as in http.server.
import os  # noqa: F401

from .cgi.handler import CGIHTTPRequestHandler

# Public in http.server but outside its __all__, as here; CPython's tests use them.
from .cgi.handler import _url_collapse_path as _url_collapse_path
from .cgi.handler import executable as executable
from .cgi.handler import nobody_uid as nobody_uid
from .dev.hostcheck import HostCheckMiddleware
from .dev.injection import LiveReloadMiddleware
from .dev.livereload import LiveReload
from .files.handler import SimpleHTTPRequestHandler
from .handler.base import DEFAULT_ERROR_CONTENT_TYPE, DEFAULT_ERROR_MESSAGE, BaseHTTPRequestHandler
from .net.bounded import BoundedHTTPServer, BoundedHTTPSServer
from .net.servers import (
    HTTPServer,
    HTTPSServer,
    ThreadingHTTPServer,
    ThreadingHTTPSServer,
    test,
)
from .testing.server_thread import ServerThread, serve_in_thread
from .wsgi.handler import WSGIHandler, WSGIServer, make_server

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_ERROR_CONTENT_TYPE",
    "DEFAULT_ERROR_MESSAGE",
    "BaseHTTPRequestHandler",
    "BoundedHTTPSServer",
    "BoundedHTTPServer",
    "CGIHTTPRequestHandler",
    "HTTPSServer",
    "HTTPServer",
    "HostCheckMiddleware",
    "LiveReload",
    "LiveReloadMiddleware",
    "ServerThread",
    "SimpleHTTPRequestHandler",
    "ThreadingHTTPSServer",
    "ThreadingHTTPServer",
    "WSGIHandler",
    "WSGIServer",
    "make_server",
    "serve_in_thread",
    "test",
]
