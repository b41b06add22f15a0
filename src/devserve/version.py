"""devserve's version, as its distribution and its ``Server`` header give it."""

__all__ = ["__version__"]

__version__ = "0.1.0"
