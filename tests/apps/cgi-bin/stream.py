#!/usr/bin/env python3
"""Write the body in two parts, half a second apart (no Content-Length)."""

import sys
import time

out = sys.stdout.buffer
out.write(b"Content-Type: text/plain\n\nfirst\n")
out.flush()
time.sleep(0.5)
out.write(b"second\n")
