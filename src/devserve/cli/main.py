"""The ``devserve`` command line: a superset of ``python -m http.server``.

Rule 1: every ``python -m http.server`` invocation (3.15: ``[PORT] -b -d -p --cgi
--tls-cert --tls-key --tls-password-file -H``) is accepted with the same meaning; what
devserve does differently by default (HTTP/1.1, loopback only, the safer file
options) is listed in ``--help`` and in docs/differences.
Rule 2: the library classes are never mutated: :func:`handler_class` builds a
subclass with the command line's settings, and :func:`serve` builds servers for it.
Rule 3: a user error is one line on stderr and an exit status (2 for a bad argument,
1 for a failure to start), never a traceback; Ctrl+C exits with 0.

To add a mode (``--app``, ``--reload``...), add its options in :func:`build_parser` and
choose its handler in :func:`handler_class`; :func:`serve` stays as it is.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib
import importlib.util
import os
import signal
import socket
import sys
import threading
from collections.abc import Sequence
from types import FrameType
from typing import Any

from .. import __version__
from ..dev.accesslog import AccessLogMixin, color_enabled, paint
from ..dev.adhoc_tls import MissingCryptography
from ..dev.hostcheck import HostCheckMixin
from ..dev.injection import LiveReloadMixin
from ..dev.livereload import LiveReload
from ..files.cache import FileCache
from ..files.handler import SimpleHTTPRequestHandler
from ..net.bounded import BoundedHTTPServer, BoundedHTTPSServer, stop_on_signals
from ..net.servers import ThreadingHTTPServer, ThreadingHTTPSServer
from . import devloop

__all__ = ["build_parser", "handler_class", "main", "serve", "serve_wsgi"]

#: Types a development server should get right whatever the system's mime.types
#: says (gh-88141: ``.js`` as ``text/plain`` breaks module scripts).
DEV_TYPES = {
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".cjs": "text/javascript",
    ".css": "text/css",
    ".json": "application/json",
    ".map": "application/json",
    ".wasm": "application/wasm",
    ".svg": "image/svg+xml",
    ".webmanifest": "application/manifest+json",
    ".webp": "image/webp",
    ".avif": "image/avif",
}

_BOLD = "\x1b[1m"
_CYAN = "\x1b[36m"


class UsageError(Exception):
    """A bad argument found after parsing: reported in one line, exit status 2."""


class StartupError(Exception):
    """The server could not start: reported in one line, exit status 1."""


def _port(text: str) -> int:
    if not text.isdecimal() or not text.isascii() or int(text) > 65535:
        raise argparse.ArgumentTypeError("invalid port %r: use a number from 0 to 65535" % text)
    return int(text)


def build_parser(prog: str = "devserve") -> argparse.ArgumentParser:
    """Return the argument parser; modes add their options to it here."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Serve a directory over HTTP for development.  "
        "Binds 127.0.0.1 and ::1 only unless -b is given (-b 0.0.0.0 shares on the network).",
    )
    parser.add_argument("--version", action="version", version="devserve " + __version__)
    parser.add_argument(
        "port", nargs="?", type=_port, default=8000,
        help="port to listen on (default: 8000; 0 picks a free one)",
    )  # fmt: skip
    parser.add_argument(
        "-b", "--bind", metavar="ADDRESS",
        help="address to bind (default: 127.0.0.1 and ::1)",
    )  # fmt: skip
    parser.add_argument(
        "-d", "--directory", default=None,
        help="directory to serve (default: the current directory)",
    )  # fmt: skip
    parser.add_argument(
        "-p", "--protocol", metavar="VERSION", default="HTTP/1.1",
        help="HTTP version to answer with (default: HTTP/1.1; http.server's is HTTP/1.0)",
    )  # fmt: skip
    parser.add_argument("--cgi", action="store_true", help="run CGI scripts in cgi-bin/")
    parser.add_argument(
        "-H", "--header", nargs=2, action="append", metavar=("NAME", "VALUE"), default=[],
        help="add a header to every response (repeatable)",
    )  # fmt: skip
    tls = parser.add_argument_group("TLS")
    tls.add_argument("--tls-cert", metavar="PATH", help="certificate chain (PEM): serve HTTPS")
    tls.add_argument("--tls-key", metavar="PATH", help="private key (PEM), if not in the cert")
    tls.add_argument("--tls-password-file", metavar="PATH", help="file holding the key's password")
    files = parser.add_argument_group("files")
    files.add_argument(
        "--spa", action="store_true",
        help="serve /index.html for a missing page (single-page apps); real files still win",
    )  # fmt: skip
    files.add_argument(
        "--cors", action="store_true",
        help="send Access-Control-Allow-Origin: * and answer CORS preflights",
    )  # fmt: skip
    files.add_argument(
        "--cache-control", metavar="VALUE", default="no-cache",
        help="Cache-Control for files and listings (default: no-cache, i.e. always "
        "revalidate; '' for none)",
    )  # fmt: skip
    files.add_argument(
        "--dotfiles", action="store_true",
        help="serve and list names starting with a dot (hidden by default)",
    )  # fmt: skip
    files.add_argument(
        "--follow-symlinks", action="store_true",
        help="serve symlinks that point outside the directory (refused by default)",
    )  # fmt: skip
    files.add_argument(
        "--no-precompressed", dest="precompressed", action="store_false",
        help="never serve NAME.br / NAME.gz in place of NAME",
    )  # fmt: skip
    files.add_argument(
        "--no-etag", dest="etags", action="store_false", help="send no ETag, ignore If-None-Match"
    )
    files.add_argument(
        "--no-range", dest="range_requests", action="store_false",
        help="ignore Range requests (always 200)",
    )  # fmt: skip
    files.add_argument(
        "--compat", action="store_true",
        help="behave as python -m http.server: lenient parsing, no path checks, "
        "dotfiles and symlinks served, no cache headers",
    )  # fmt: skip
    app = parser.add_argument_group("WSGI applications")
    app.add_argument(
        "--app", metavar="MODULE:NAME",
        help="serve a WSGI application: MODULE:NAME, path/to/file.py:NAME or "
        "MODULE:create_app() (instead of a directory)",
    )  # fmt: skip
    app.add_argument(
        "--reload", action="store_true", help="restart the application when its files change"
    )
    app.add_argument(
        "--reload-include", metavar="PATTERN", action="append", default=[],
        help="file pattern that triggers a reload or live reload (repeatable; default: "
        "*.py for --app, plus templates, CSS and JS with --livereload; every file "
        "for a directory)",
    )  # fmt: skip
    app.add_argument(
        "--reload-exclude", metavar="PATTERN", action="append", default=[],
        help="file pattern that never triggers a reload or live reload (repeatable; "
        "caches, version control and editors' temporary files never do)",
    )  # fmt: skip
    app.add_argument(
        "--debug", action="store_true",
        help="Werkzeug's interactive debugger on errors (never on a shared network)",
    )  # fmt: skip
    app.add_argument(
        "--static", metavar="PREFIX=DIR", action="append", default=[],
        help="serve files from DIR under the URL PREFIX beside the app (repeatable)",
    )  # fmt: skip
    app.add_argument(
        "--script-name", metavar="PREFIX", default="",
        help="URL prefix the application is mounted under (SCRIPT_NAME)",
    )  # fmt: skip
    devloop.add_options(parser, tls)
    output = parser.add_argument_group("output")
    output.add_argument("-q", "--quiet", action="store_true", help="no access log")
    return parser


def _base_handler(args: argparse.Namespace) -> type[SimpleHTTPRequestHandler]:
    if args.cgi:
        if importlib.util.find_spec("devserve.cgi.handler") is None:
            raise UsageError("CGI support is not available yet")
        module = importlib.import_module("devserve.cgi.handler")
        cgi_handler: type[SimpleHTTPRequestHandler] = module.CGIHTTPRequestHandler
        return cgi_handler
    return SimpleHTTPRequestHandler


def handler_class(
    args: argparse.Namespace, livereload: LiveReload | None = None
) -> type[SimpleHTTPRequestHandler]:
    """Return a new handler class configured by *args*; library classes stay untouched.

    With *livereload*, pages get its script and its event stream is answered.
    """
    base = _base_handler(args)
    directory = os.path.abspath(args.directory or os.getcwd())
    if not os.path.isdir(directory):
        raise UsageError("cannot serve %r: not a directory" % (args.directory or directory))
    headers = [(name, value) for name, value in args.header]
    compat = args.compat
    attributes: dict[str, Any] = {
        "protocol_version": args.protocol,
        "directory": directory,
        "log_color": color_enabled(sys.stderr),
        # The base handler's leniencies and endless waits are for drop-in use only.
        "strict_parsing": not compat,
        "idle_timeout": None if compat else 75.0,
        "head_timeout": None if compat else 10.0,
        "etags": args.etags and not compat,
        "range_requests": args.range_requests,
        "cache_control": (args.cache_control or None) if not compat else None,
        "precompressed": args.precompressed and not compat,
        "serve_dotfiles": args.dotfiles or compat,
        "allow_symlink_escape": args.follow_symlinks or compat,
        "strict_paths": not compat,
        "announce_close": not compat,
        "file_cache": None if compat else FileCache(),
        "spa_fallback": "index.html" if args.spa else None,
        "cors_origin": "*" if args.cors else None,
        "not_found_page": "404.html",
        "extensions_map": {**base.extensions_map, **DEV_TYPES},
        "allowed_hosts": devloop.allowed_hosts(args),
        "livereload": livereload,
    }

    def __init__(self: Any, *init_args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("directory", directory)
        kwargs.setdefault("response_headers", headers)
        base.__init__(self, *init_args, **kwargs)

    attributes["__init__"] = __init__
    if args.quiet:
        attributes["log_message"] = lambda self, format, *log_args: None
    mixins: tuple[type, ...] = () if args.quiet else (AccessLogMixin,)
    mixins += (HostCheckMixin, LiveReloadMixin)
    return type("DevServeHandler", (*mixins, base), attributes)


class _DualStack:
    """Bind IPv6 wildcard sockets for IPv4 too, as http.server's command line does."""

    def server_bind(self) -> None:
        sock: socket.socket = self.socket  # type: ignore[attr-defined]
        if sock.family == socket.AF_INET6:
            # Not every platform lets a v6 socket take v4 too; v6 alone is fine then.
            with contextlib.suppress(AttributeError, OSError):
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()  # type: ignore[misc]


def _addresses(bind: str | None, port: int) -> list[tuple[socket.AddressFamily, Any, bool]]:
    """Return ``(family, address, required)`` for each socket to listen on."""
    if bind is None:
        loopback: list[tuple[socket.AddressFamily, Any, bool]] = [
            (socket.AF_INET, ("127.0.0.1", port), True)
        ]
        if socket.has_ipv6:
            loopback.append((socket.AF_INET6, ("::1", port, 0, 0), False))
        return loopback
    try:
        infos = socket.getaddrinfo(bind, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        raise UsageError("cannot bind %r: %s" % (bind, error.strerror)) from None
    family, _type, _proto, _name, address = infos[0]
    return [(family, address, True)]


def _read_password(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().strip()
    except OSError as error:
        raise UsageError("Failed to read TLS password file: %s" % error) from None


def _make_servers(args: argparse.Namespace, handler: type) -> list[Any]:
    # devserve's own server parks idle connections on a bounded pool; --compat keeps
    # http.server's thread per connection.
    if args.compat:
        base: type = ThreadingHTTPSServer if args.tls_cert else ThreadingHTTPServer
    else:
        base = BoundedHTTPSServer if args.tls_cert else BoundedHTTPServer
    tls: dict[str, Any] = {}
    if args.tls_cert:
        for path in (args.tls_cert, args.tls_key):
            if path is not None and not os.access(path, os.R_OK):
                raise UsageError("cannot read TLS file %r" % path)
        password = _read_password(args.tls_password_file) if args.tls_password_file else None
        tls = {"certfile": args.tls_cert, "keyfile": args.tls_key, "password": password}
    servers: list[Any] = []
    port = args.port
    for family, address, required in _addresses(args.bind, port):
        if servers and port == 0:
            # The second loopback socket takes the port the first one was given.
            port = servers[0].server_address[1]
            address = (address[0], port, *address[2:])
        server_class = type(base.__name__, (_DualStack, base), {"address_family": family})
        try:
            servers.append(server_class(address, handler, **tls))
        except OSError as error:
            if not required and error.errno in (
                errno.EADDRINUSE,
                errno.EADDRNOTAVAIL,
                errno.EAFNOSUPPORT,
            ):
                print(
                    "devserve: note: not listening on [%s]:%d (%s)"
                    % (address[0], port, error.strerror),
                    file=sys.stderr,
                )
                continue
            for server in servers:
                server.server_close()
            raise StartupError(_start_error(address, error, bool(args.tls_cert))) from None
    return servers


def _start_error(address: Any, error: OSError, tls: bool) -> str:
    host, port = address[0], address[1]
    where = "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)
    if error.errno == errno.EADDRINUSE:
        return "cannot listen on %s: address already in use (try another port, or 0)" % where
    if error.errno == errno.EACCES:
        return "cannot listen on %s: permission denied" % where
    if tls and type(error).__module__ == "ssl":
        return "cannot load the TLS certificate or key: %s" % error
    return "cannot listen on %s: %s" % (where, error.strerror or error)


def _banner(servers: list[Any], args: argparse.Namespace, directory: str, color: bool) -> None:
    scheme = "HTTPS" if args.tls_cert else "HTTP"
    for server in servers:
        host, port = server.socket.getsockname()[:2]
        url_host = "[%s]" % host if ":" in host else host
        url = "%s://%s:%d/" % (scheme.lower(), url_host, port)
        print("Serving %s on %s port %d (%s) ..." % (scheme, host, port, paint(url, _CYAN, color)))
    print("Directory %s%s" % (paint(directory, _BOLD, color), " - press Ctrl+C to stop"))
    sys.stdout.flush()


def serve(args: argparse.Namespace) -> int:
    """Serve as *args* say until interrupted; return the exit status."""
    directory = os.path.abspath(args.directory or os.getcwd())
    livereload = devloop.files_livereload(args, directory)
    handler = handler_class(args, livereload)
    servers = _make_servers(args, handler)
    if livereload is not None:
        # Started before the banner: whoever waits for it may edit a file at once.
        livereload.start()
    _banner(servers, args, directory, color_enabled(sys.stdout))
    if livereload is not None:
        print("Live reload: watching %s" % directory, flush=True)
    if args.open:
        host, port = servers[0].socket.getsockname()[:2]
        devloop.open_browser(devloop.browser_url(host, port, "https" if args.tls_cert else "http"))
    threads = [
        threading.Thread(target=server.serve_forever, daemon=True, name="devserve-listener")
        for server in servers[1:]
    ]
    for thread in threads:
        thread.start()
    with stop_on_signals(servers) as stopped:
        try:
            servers[0].serve_forever()
        except KeyboardInterrupt:
            stopped.append(signal.SIGINT)
        finally:
            for server in servers[1:]:
                server.shutdown()
            if livereload is not None:
                livereload.close()
            for server in servers:
                server.server_close()
    if stopped:
        print("\nKeyboard interrupt received, exiting.", flush=True)
    return 0


def _static_mounts(specs: list[str]) -> list[tuple[str, str]]:
    mounts = []
    for spec in specs:
        prefix, equals, directory = spec.partition("=")
        if not equals or not prefix.startswith("/") or not directory:
            raise UsageError("--static wants PREFIX=DIR, e.g. /static=assets, not %r" % spec)
        if not os.path.isdir(directory):
            raise UsageError("cannot serve %r: not a directory" % directory)
        mounts.append((prefix, directory))
    return mounts


class _ExtraHeaders:
    """Add the command line's ``-H`` headers to every final response."""

    extra_headers: tuple[tuple[str, str], ...] = ()

    def end_headers(self) -> None:
        code = getattr(self, "_status_code", None)
        if code is not None and code >= 200:
            for name, value in self.extra_headers:
                self.send_header(name, value)  # type: ignore[attr-defined]
        super().end_headers()  # type: ignore[misc]


def serve_wsgi(args: argparse.Namespace) -> int:
    """Serve the WSGI application ``--app`` names, as *args* say; return the exit status."""
    from ..wsgi.handler import WSGIHandler
    from .app_mode import serve_app

    if args.cgi:
        raise UsageError("--cgi serves a directory; it cannot be combined with --app")
    mounts = _static_mounts(args.static)
    handler: type[WSGIHandler] = WSGIHandler
    if args.header or args.protocol != WSGIHandler.protocol_version:
        handler = type(
            "DevServeWSGIHandler",
            (_ExtraHeaders, WSGIHandler),
            {
                "extra_headers": tuple((name, value) for name, value in args.header),
                "protocol_version": args.protocol,
            },
        )
    password = _read_password(args.tls_password_file) if args.tls_password_file else None
    include, exclude = devloop.watch_patterns(args, app=True)
    return serve_app(
        args.app,
        host="127.0.0.1" if args.bind is None else args.bind,
        port=args.port,
        reload=args.reload,
        debug=args.debug,
        static=mounts,
        script_name=args.script_name,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        tls_password=password,
        reload_include=include,
        reload_exclude=exclude,
        handler_class=handler,
        livereload=args.livereload,
        allowed_hosts=devloop.allowed_hosts(args),
        open_browser=args.open,
    )


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with *argv* (default: :data:`sys.argv`); return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.tls_key and not args.tls_cert:
        parser.error("--tls-key requires --tls-cert to be set")
    if args.tls_password_file and not args.tls_cert:
        parser.error("--tls-password-file requires --tls-cert to be set")
    if args.tls and args.tls_cert:
        parser.error("--tls adhoc makes its own certificate: it cannot be combined with --tls-cert")
    if threading.current_thread() is threading.main_thread():
        # A service manager's SIGTERM is a request to stop, like Ctrl+C.
        signal.signal(signal.SIGTERM, _terminate)
    app_only = [
        flag for flag, value in (("--reload", args.reload), ("--debug", args.debug),
                                 ("--static", args.static), ("--script-name", args.script_name))
        if value and not args.app
    ]  # fmt: skip
    if app_only:
        parser.error("%s needs --app MODULE:NAME" % app_only[0])
    try:
        with contextlib.ExitStack() as cleanup:
            devloop.prepare_tls(args, cleanup)
            return serve_wsgi(args) if args.app else serve(args)
    except MissingCryptography as error:
        print("devserve: error: %s" % error, file=sys.stderr)
        return 2
    except UsageError as error:
        print("devserve: error: %s" % error, file=sys.stderr)
        return 2
    except StartupError as error:
        print("devserve: error: %s" % error, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
