"""The WSGI bridge: the environ, :class:`~devserve.WSGIHandler`, :class:`~devserve.WSGIServer`."""
