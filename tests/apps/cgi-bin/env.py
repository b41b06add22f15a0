#!/usr/bin/env python3
"""Print the CGI environment, the arguments and the user as JSON."""

import json
import os
import sys

print("Content-Type: application/json")
print()
print(json.dumps({"environ": dict(os.environ), "argv": sys.argv[1:], "uid": os.getuid()}))
