"""A reverse proxy to development backends on this machine: ``--proxy PREFIX=URL``."""
