"""The ``devserve`` command line."""
