#!/usr/bin/env python3
"""Echo the request body back, with the length the server announced."""

import os
import sys

length = int(os.environ.get("CONTENT_LENGTH") or 0)
body = sys.stdin.buffer.read(length)
out = sys.stdout.buffer
out.write(b"Content-Type: application/octet-stream\n")
out.write(b"X-Content-Length: %s\n" % os.environ.get("CONTENT_LENGTH", "").encode())
out.write(b"\n")
out.write(body)
