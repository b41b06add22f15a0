"""devserve: a strict, fast drop-in for :mod:`http.server`, with a WSGI bridge.

The public names of :mod:`http.server` are here under the same names, so code written
for it runs after changing the import.
"""

from .handler import DEFAULT_ERROR_CONTENT_TYPE, DEFAULT_ERROR_MESSAGE, BaseHTTPRequestHandler
from .server import (
    HTTPServer,
    HTTPSServer,
    ThreadingHTTPServer,
    ThreadingHTTPSServer,
    test,
)

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_ERROR_CONTENT_TYPE",
    "DEFAULT_ERROR_MESSAGE",
    "BaseHTTPRequestHandler",
    "HTTPSServer",
    "HTTPServer",
    "ThreadingHTTPSServer",
    "ThreadingHTTPServer",
    "test",
]
