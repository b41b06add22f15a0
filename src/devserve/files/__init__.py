"""Serving files: :class:`~devserve.SimpleHTTPRequestHandler`, listings, path safety and
the small-file cache."""
