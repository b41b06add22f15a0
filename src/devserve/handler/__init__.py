"""The request handler: :class:`~devserve.BaseHTTPRequestHandler` on the HTTP/1.1 core."""
