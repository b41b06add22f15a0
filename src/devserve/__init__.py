"""devserve: a strict, fast drop-in for :mod:`http.server`, with a WSGI bridge.

The public names of :mod:`http.server` are here under the same names, so code written
for it runs after changing the import.  Each name is imported from its layer when it
is first used, so ``import devserve`` costs almost nothing and a file server never
loads the WSGI, CGI or development wings.
"""

from __future__ import annotations

import importlib

# CPython's test_windows_colon swaps ``server.os.path`` for ntpath; the module it swaps
# must be the os that devserve's path code looks up at call time, as in http.server.
import os  # noqa: F401
from typing import TYPE_CHECKING, Any

from .version import __version__ as __version__

if TYPE_CHECKING:
    from .cgi.handler import CGIHTTPRequestHandler
    from .cgi.handler import _url_collapse_path as _url_collapse_path
    from .cgi.handler import executable as executable
    from .cgi.handler import nobody_uid as nobody_uid
    from .cli.runner import test
    from .dev.hostcheck import HostCheckMiddleware
    from .dev.injection import LiveReloadMiddleware
    from .dev.livereload import LiveReload
    from .files.handler import SimpleHTTPRequestHandler
    from .handler.base import BaseHTTPRequestHandler
    from .handler.messages import DEFAULT_ERROR_CONTENT_TYPE, DEFAULT_ERROR_MESSAGE
    from .mount.table import MountTable
    from .net.bounded import BoundedHTTPServer, BoundedHTTPSServer
    from .net.servers import HTTPServer, HTTPSServer, ThreadingHTTPServer, ThreadingHTTPSServer
    from .proxy.handler import Proxy
    from .testing.server_thread import ServerThread, serve_in_thread
    from .wsgi.handler import WSGIHandler
    from .wsgi.handler_app import HandlerApp
    from .wsgi.server import WSGIServer, make_server

__all__ = [
    "DEFAULT_ERROR_CONTENT_TYPE",
    "DEFAULT_ERROR_MESSAGE",
    "BaseHTTPRequestHandler",
    "BoundedHTTPSServer",
    "BoundedHTTPServer",
    "CGIHTTPRequestHandler",
    "HTTPSServer",
    "HTTPServer",
    "HandlerApp",
    "HostCheckMiddleware",
    "LiveReload",
    "LiveReloadMiddleware",
    "MountTable",
    "Proxy",
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

# Where each public name lives.  The last three are public in http.server but outside
# its __all__, as here; CPython's tests use them.
_HOMES = {
    "DEFAULT_ERROR_CONTENT_TYPE": "handler.messages",
    "DEFAULT_ERROR_MESSAGE": "handler.messages",
    "BaseHTTPRequestHandler": "handler.base",
    "BoundedHTTPSServer": "net.bounded",
    "BoundedHTTPServer": "net.bounded",
    "CGIHTTPRequestHandler": "cgi.handler",
    "HTTPSServer": "net.servers",
    "HTTPServer": "net.servers",
    "HandlerApp": "wsgi.handler_app",
    "HostCheckMiddleware": "dev.hostcheck",
    "LiveReload": "dev.livereload",
    "LiveReloadMiddleware": "dev.injection",
    "MountTable": "mount.table",
    "Proxy": "proxy.handler",
    "ServerThread": "testing.server_thread",
    "SimpleHTTPRequestHandler": "files.handler",
    "ThreadingHTTPSServer": "net.servers",
    "ThreadingHTTPServer": "net.servers",
    "WSGIHandler": "wsgi.handler",
    "WSGIServer": "wsgi.server",
    "make_server": "wsgi.server",
    "serve_in_thread": "testing.server_thread",
    "test": "cli.runner",
    "_url_collapse_path": "cgi.handler",
    "executable": "cgi.handler",
    "nobody_uid": "cgi.handler",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError("module 'devserve' has no attribute %r" % name)
    value = getattr(importlib.import_module("." + home, __name__), name)
    globals()[name] = value  # the next lookup is a plain one
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
