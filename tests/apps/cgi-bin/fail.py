#!/usr/bin/env python3
"""Fail before writing anything: a traceback on stderr, exit status 1."""

raise RuntimeError("this script is broken on purpose")
