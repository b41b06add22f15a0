"""A Django project's ``wsgi.py`` served by devserve (``pip install django`` first).

Run it with ``python examples/django_project/serve.py [PORT]`` (default 8000) and open
http://127.0.0.1:8000/hello/ada ; Ctrl+C stops it.  The command line does the same
from this directory: ``cd examples/django_project && devserve --app
mysite.wsgi:application`` (add ``--reload`` to restart on every saved change).
"""

import contextlib
import os
import sys

# The project's directory first on sys.path, as manage.py has it.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from mysite.wsgi import application

from devserve import make_server


def main(port=8000):
    with (
        make_server("127.0.0.1", port, application) as httpd,
        contextlib.suppress(KeyboardInterrupt),
    ):
        print("Serving Django on http://127.0.0.1:%d/ ..." % httpd.server_port, flush=True)
        httpd.serve_forever()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 8000)
