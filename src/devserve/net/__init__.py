"""The transport: servers, threads, the worker pool, polling and the socket streams."""
