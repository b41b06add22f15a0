#!/usr/bin/env python3
"""Answer with the status and reason given in the query: ?418+I'm+a+teapot."""

import os
import urllib.parse

status = urllib.parse.unquote_plus(os.environ["QUERY_STRING"])
print("Status: %s" % status)
print("Content-Type: text/plain")
print()
print("status was %s" % status)
