"""Write python.inv: an intersphinx inventory of the stdlib names devserve's docs link.

The docs build with warnings as errors on machines with no internet access, so the
inventory is kept in the repository instead of fetched.  Add a line to NAMES when a
page or docstring links a new stdlib name, then run ``python make_python_inv.py``.
"""

from __future__ import annotations

import zlib
from pathlib import Path

# role, name, page (relative to https://docs.python.org/3/) and, when it is not the
# name, the anchor.
NAMES = """
mod http.server library/http.server.html
class http.server.BaseHTTPRequestHandler library/http.server.html
class http.server.SimpleHTTPRequestHandler library/http.server.html
class http.server.CGIHTTPRequestHandler library/http.server.html
class http.server.HTTPServer library/http.server.html
class http.server.ThreadingHTTPServer library/http.server.html
class http.server.HTTPSServer library/http.server.html
function http.server.test library/http.server.html
mod http.client library/http.client.html
class http.client.HTTPMessage library/http.client.html
function http.client.parse_headers library/http.client.html
mod socketserver library/socketserver.html
class socketserver.ThreadingMixIn library/socketserver.html
class socketserver.TCPServer library/socketserver.html
class socketserver.StreamRequestHandler library/socketserver.html
mod wsgiref library/wsgiref.html
function wsgiref.simple_server.make_server library/wsgiref.html
class wsgiref.simple_server.WSGIServer library/wsgiref.html
function wsgiref.validate.validator library/wsgiref.html
class io.BufferedReader library/io.html
class io.BufferedIOBase library/io.html
method io.BufferedIOBase.readline library/io.html
class os.PathLike library/os.html
data os.environ library/os.html
function os.fork library/os.html
function os.sendfile library/os.html
data sys.executable library/sys.html
data sys.path library/sys.html
data sys.stderr library/sys.html
function email.utils.formatdate library/email.utils.html
class email.message.Message library/email.compat32-message.html
function socket.gethostname library/socket.html
function socket.getfqdn library/socket.html
method socket.socket.sendfile library/socket.html
method ssl.SSLContext.load_cert_chain library/ssl.html
mod ssl library/ssl.html
mod pwd library/pwd.html
mod subprocess library/subprocess.html
mod mimetypes library/mimetypes.html
class collections.abc.Callable library/collections.abc.html
class collections.abc.Iterable library/collections.abc.html
class collections.abc.Iterator library/collections.abc.html
class collections.abc.Mapping library/collections.abc.html
class collections.abc.Sequence library/collections.abc.html
function time.monotonic library/time.html
exception ValueError library/exceptions.html
exception TimeoutError library/exceptions.html
exception RuntimeError library/exceptions.html
class http.HTTPStatus library/http.html
mod logging library/logging.html
mod wsgiref.simple_server library/wsgiref.html
class argparse.ArgumentParser library/argparse.html
class argparse.Namespace library/argparse.html
data sys.argv library/sys.html
function ast.literal_eval library/ast.html
class socket.socket library/socket.html
class threading.Event library/threading.html
function html.escape library/html.html
function urllib.parse.quote library/urllib.parse.html
class os.DirEntry library/os.html
class os.stat_result library/os.html
class posix.DirEntry library/os.html os.DirEntry
function dataclasses.replace library/dataclasses.html
function os.fsencode library/os.html
class int library/functions.html
function int library/functions.html
class ssl.SSLContext library/ssl.html
data socket.AF_INET library/socket.html
data socket.AF_INET6 library/socket.html
class threading.Thread library/threading.html
class contextlib.ExitStack library/contextlib.html
function functools.partial library/functools.html
mod selectors library/selectors.html
mod dataclasses library/dataclasses.html
class typing.Protocol library/typing.html
mod os.path library/os.path.html
"""


def main() -> None:
    lines = []
    for row in NAMES.strip().splitlines():
        role, name, page, *anchor = row.split()
        if role == "mod":
            lines.append("%s py:module 0 %s#module-$ -\n" % (name, page))
        elif anchor:
            lines.append("%s py:%s 1 %s#%s -\n" % (name, role, page, anchor[0]))
        else:
            lines.append("%s py:%s 1 %s#$ -\n" % (name, role, page))
    header = (
        "# Sphinx inventory version 2\n# Project: Python\n# Version: 3\n"
        "# The remainder of this file is compressed using zlib.\n"
    )
    data = header.encode() + zlib.compress("".join(lines).encode())
    (Path(__file__).parent / "python.inv").write_bytes(data)


if __name__ == "__main__":
    main()
