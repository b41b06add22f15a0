#!/usr/bin/env python3
"""Write a 1 MiB body without reading the request body, if any."""

import sys

out = sys.stdout.buffer
out.write(b"Content-Type: application/octet-stream\n\n")
for i in range(256):
    out.write(bytes([i]) * 4096)
