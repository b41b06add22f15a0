"""The ``devserve`` command line: a superset of ``python -m http.server``.

Rule 1: every ``python -m http.server`` invocation (3.15: ``[PORT] -b -d -p --cgi
--tls-cert --tls-key --tls-password-file -H``) is accepted with the same meaning; what
devserve does differently by default (HTTP/1.1, loopback only, the safer file
options) is listed in ``--help`` and in docs/differences.
Rule 2: options are read once, into one :class:`~devserve.cli.profile.Profile` that
both modes (a directory, ``--app``) serve with; a combination that cannot be served is
refused here with a usage error (``_check()``).
Rule 3: a user error is one line on stderr and an exit status (2 for a bad argument,
1 for a failure to start), never a traceback; Ctrl+C and SIGTERM exit with 0.
Rule 4: a mode's modules are imported only when it runs, so ``devserve --help`` and a
plain file server start without the WSGI, CGI and development wings.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType
from typing import Any

from ..net.signals import ignore_sigterm
from ..version import __version__
from . import devloop
from .listen import StartupError
from .mounts import MountSpec
from .profile import Profile, UsageError

__all__ = ["build_parser", "main"]


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
        help="address to bind (default: 127.0.0.1 and ::1), or unix:PATH for a Unix socket",
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
        "--content-type", metavar="TYPE", default=None,
        help="Content-Type of files whose type cannot be guessed (default: "
        "application/octet-stream), as Python 3.15's http.server",
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
        "--mount", metavar="PREFIX=TARGET", action="append", default=[],
        help="serve TARGET under the URL PREFIX (repeatable; the longest prefix wins): a "
        "directory, cgi:DIR (every file a CGI script), a WSGI app or a handler class "
        "(MODULE:NAME or path/to/file.py:NAME)",
    )  # fmt: skip
    app.add_argument(
        "--proxy", metavar="PREFIX=URL", action="append", default=[],
        help="forward requests under the URL PREFIX to a backend on this machine, "
        "WebSockets included (repeatable): /api=http://127.0.0.1:5000 keeps /api/x, "
        "/api=http://127.0.0.1:5000/v1 asks for /v1/x",
    )  # fmt: skip
    app.add_argument(
        "--proxy-change-origin", action="store_true",
        help="send the backend its own Host, not the client's (Vite's changeOrigin)",
    )  # fmt: skip
    app.add_argument(
        "--proxy-allow-remote", action="store_true",
        help="allow --proxy backends that are not on this machine",
    )  # fmt: skip
    app.add_argument(
        "--static", metavar="PREFIX=DIR", action="append", default=[],
        help="serve files from DIR under the URL PREFIX (repeatable; --mount for a directory)",
    )  # fmt: skip
    app.add_argument(
        "--script-name", metavar="PREFIX", default="",
        help="URL prefix the application is mounted under (SCRIPT_NAME)",
    )  # fmt: skip
    app.add_argument(
        "--env-file", metavar="FILE",
        help="load environment variables from FILE before .env and .flaskenv "
        "(needs python-dotenv)",
    )  # fmt: skip
    app.add_argument(
        "--no-dotenv", action="store_true",
        help="do not load .env and .flaskenv (loaded, as flask does, when python-dotenv "
        "is installed)",
    )  # fmt: skip
    devloop.add_options(parser, tls)
    parser.add_argument(
        "--grace", metavar="SECONDS", type=_seconds, default=1.0,
        help="seconds requests in flight get to finish when devserve stops or reloads "
        "(default: 1); the port is free at once",
    )  # fmt: skip
    output = parser.add_argument_group("output")
    output.add_argument("-q", "--quiet", action="store_true", help="no access log")
    return parser


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= 3600:
        raise argparse.ArgumentTypeError("%r is not a number of seconds (0 to 3600)" % value)
    return seconds


def _read_password(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().strip()
    except OSError as error:
        raise UsageError("Failed to read TLS password file: %s" % error) from None


def _tls_context(args: argparse.Namespace) -> Any:
    if not args.tls_cert:
        return None
    for path in (args.tls_cert, args.tls_key):
        if path is not None and not os.access(path, os.R_OK):
            raise UsageError("cannot read TLS file %r" % path)
    password = _read_password(args.tls_password_file) if args.tls_password_file else None
    from ..net.servers import tls_context

    try:
        return tls_context(args.tls_cert, args.tls_key, password)
    except OSError as error:  # ssl.SSLError is an OSError
        raise StartupError("cannot load the TLS certificate or key: %s" % error) from None


def _mounts(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[MountSpec]:
    """``--static`` then ``--mount``, read; a bad one is a usage error."""
    from .mounts import parse_mount, parse_proxy

    try:
        return (
            [parse_mount(spec, "--static") for spec in args.static]
            + [parse_mount(spec) for spec in args.mount]
            + [parse_proxy(spec, change_origin=args.proxy_change_origin,
                           allow_remote=args.proxy_allow_remote) for spec in args.proxy]
        )  # fmt: skip
    except ValueError as error:
        parser.error(str(error))


def _check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse, with a usage error, every combination of options that cannot be served."""
    if args.tls_key and not args.tls_cert:
        parser.error("--tls-key requires --tls-cert to be set")
    if args.tls_password_file and not args.tls_cert:
        parser.error("--tls-password-file requires --tls-cert to be set")
    if args.protocol.isdigit():
        parser.error(
            "-p sets the HTTP version (HTTP/1.0 or HTTP/1.1), not the port: to serve on "
            "port %s, run devserve %s" % (args.protocol, args.protocol)
        )
    if args.debug and not devloop.installed("werkzeug"):
        parser.error("--debug needs Werkzeug: pip install 'devserve[debug]'")
    if args.tls and args.tls_cert:
        parser.error("--tls adhoc makes its own certificate: it cannot be combined with --tls-cert")
    if args.app:
        for flag, value in (("--cgi", args.cgi), ("--compat", args.compat),
                            ("-d/--directory", args.directory is not None)):  # fmt: skip
            if value:
                parser.error(
                    "%s serves a directory; with --app, serve files with --mount PREFIX=DIR" % flag
                )
        return
    app_only = [
        flag for flag, value in (("--script-name", args.script_name),
                                 ("--env-file", args.env_file), ("--no-dotenv", args.no_dotenv))
        if value
    ]  # fmt: skip
    if app_only:
        parser.error("%s needs --app MODULE:NAME" % app_only[0])
    python = [spec for spec in args.mounts if spec.kind == "python"]
    if python and args.compat:
        parser.error(
            "--compat serves files as http.server does: it cannot --mount %s" % (python[0],)
        )
    code_only = [flag for flag, value in (("--reload", args.reload), ("--debug", args.debug))
                 if value]  # fmt: skip
    if code_only and not python:
        parser.error(
            "%s needs Python code: --app MODULE:NAME or --mount PREFIX=MODULE:NAME" % code_only[0]
        )


def _serve(args: argparse.Namespace) -> int:
    profile = Profile.from_args(args)
    ssl_context = _tls_context(args)
    if args.app or any(spec.kind == "python" for spec in args.mounts):
        from .app_mode import AppOptions, serve_app

        env_files: list[str] = []
        env_tip = None
        if args.app:  # nothing loaded here may reach a CGI script
            from .envfiles import load_env_files

            env_files, env_tip = load_env_files(args.env_file, args.no_dotenv)
        include, exclude = devloop.watch_patterns(args, app=True)
        return serve_app(
            profile,
            AppOptions(
                spec=args.app, port=args.port, reload=args.reload, debug=args.debug,
                mounts=args.mounts, script_name=args.script_name, ssl_context=ssl_context,
                include=include, exclude=exclude, livereload=args.livereload,
                open_page=args.open, env_files=tuple(env_files), env_tip=env_tip,
                directory=args.directory, cgi=args.cgi,
            ),
        )  # fmt: skip
    from .files_mode import serve_files

    return serve_files(
        profile,
        directory=args.directory,
        port=args.port,
        cgi=args.cgi,
        ssl_context=ssl_context,
        livereload_patterns=devloop.watch_patterns(args, app=False) if args.livereload else None,
        open_page=args.open,
        mounts=args.mounts,
    )


def _terminate(signum: int, frame: FrameType | None) -> None:
    # One SIGTERM is enough (devserve.net.signals, Rule 3): the next ones must not
    # break into the clean-up this one starts.
    ignore_sigterm()
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with *argv* (default: :data:`sys.argv`); return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.mounts = _mounts(parser, args)
    _check(parser, args)
    main_thread = threading.current_thread() is threading.main_thread()
    previous: Any = None
    if main_thread:
        # A service manager's SIGTERM is a request to stop, like Ctrl+C (servers that
        # can be asked to stop install their own handler while they serve).
        previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        with contextlib.ExitStack() as cleanup:
            devloop.prepare_tls(args, cleanup)
            return _serve(args)
    except UsageError as error:
        print("devserve: error: %s" % error, file=sys.stderr)
        return 2
    except StartupError as error:
        print("devserve: error: %s" % error, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        if main_thread:
            # Done: a late SIGTERM (a reloader stopping a child already on its way
            # out, or ended before: devserve.net.signals, Rule 3) gets what came
            # before (the default: end quietly), not a KeyboardInterrupt raised into
            # the interpreter's shutdown.
            signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)
