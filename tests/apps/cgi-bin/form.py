#!/usr/bin/env python3
"""Read an urlencoded form from stdin (CONTENT_LENGTH bytes) and echo its fields."""

import os
import sys
import urllib.parse

body = sys.stdin.buffer.read(int(os.environ["CONTENT_LENGTH"]))
fields = urllib.parse.parse_qs(body.decode("ascii"))
sys.stdout.write("Content-Type: text/plain\r\n\r\n")
for name in sorted(fields):
    sys.stdout.write("%s=%s\n" % (name, ",".join(fields[name])))
