"""CGI scripts: :class:`~devserve.CGIHTTPRequestHandler`, the script's environment and process."""
