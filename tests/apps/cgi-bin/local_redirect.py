#!/usr/bin/env python3
"""Redirect locally (RFC 3875 6.2.2) to the path in the query string."""

import os
import urllib.parse

print("Location: %s" % urllib.parse.unquote(os.environ["QUERY_STRING"]))
print()
