"""The development-loop options of the command line, for files and for ``--app``.

Rule 1: this module adds ``--livereload``, ``--tls adhoc``, ``--allowed-host`` and
``--open`` to the parser and turns the first two into what both modes use (what to
watch, certificate files); the ``Host`` allowlist is the profile's
(:mod:`devserve.cli.profile`).
Rule 2: what is watched is one set of patterns, ``--reload-include`` and
``--reload-exclude``, whichever of code reload and live reload uses it.  Files mode
watches every file under the directory by default; ``--app`` watches Python sources
and, with ``--livereload``, templates, stylesheets and scripts.
Rule 3: the ``Host`` check is on whenever the server listens on loopback only, and
wherever ``--allowed-host`` is given; ``--allowed-host '*'`` turns it off.
Rule 4: the optional packages are imported only when their option is given, so the
command line starts as fast as the options allow.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import threading
from typing import Any

from ..net.servers import HTTPServer
from .listen import browser_url, unix_path

__all__ = [
    "APP_LIVE_INCLUDE",
    "add_options",
    "installed",
    "open_browser",
    "open_page",
    "prepare_tls",
    "watch_patterns",
]

#: What ``--app --livereload`` watches besides Python sources, unless told otherwise.
APP_LIVE_INCLUDE: tuple[str, ...] = (
    "*.html", "*.htm", "*.jinja", "*.jinja2", "*.j2", "*.css", "*.js", "*.mjs",
)  # fmt: skip


def add_options(parser: argparse.ArgumentParser, tls: Any) -> None:
    """Add the development-loop options to *parser* (``--tls`` to the group *tls*)."""
    tls.add_argument(
        "--tls", metavar="adhoc", choices=["adhoc"],
        help="'adhoc': serve HTTPS with a new self-signed certificate for localhost "
        "(needs the cryptography package); its fingerprint is printed",
    )  # fmt: skip
    loop = parser.add_argument_group("development loop")
    loop.add_argument(
        "--livereload", action="store_true",
        help="reload pages in the browser when files change (stylesheets are swapped "
        "in place); with --app, after each restart too",
    )  # fmt: skip
    loop.add_argument(
        "--allowed-host", metavar="NAME", action="append", default=[],
        help="answer requests for this host name too (repeatable; '.example.test' "
        "includes subdomains, '*' any name).  Bound to loopback, only localhost, "
        "*.localhost and IP addresses are answered (DNS-rebinding protection)",
    )  # fmt: skip
    loop.add_argument("--open", action="store_true", help="open the page in a web browser")


def installed(module: str) -> bool:
    """Whether the optional package *module* can be imported (without importing it)."""
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # ValueError: blocked in sys.modules
        return False


def watch_patterns(
    args: argparse.Namespace, *, app: bool
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Return ``(include, exclude)`` for watching, from the command line's patterns."""
    from ..dev.reloader import DEFAULT_EXCLUDE, DEFAULT_INCLUDE

    include: tuple[str, ...] = tuple(args.reload_include)
    if not include:
        if not app:
            include = ("*",)
        elif args.livereload:
            include = (*DEFAULT_INCLUDE, *APP_LIVE_INCLUDE)
        else:
            include = DEFAULT_INCLUDE
    return include, (*DEFAULT_EXCLUDE, *args.reload_exclude)


def prepare_tls(args: argparse.Namespace, cleanup: contextlib.ExitStack) -> None:
    """For ``--tls adhoc``: make a certificate and point ``--tls-cert``/``--tls-key`` at it.

    The files are removed when *cleanup* closes; a reloader's child reuses its
    parent's.  Without :mod:`cryptography`, raises
    :exc:`~devserve.cli.profile.UsageError`.
    """
    if args.tls != "adhoc":
        return
    import json
    import shutil
    import tempfile

    from ..dev.adhoc_tls import (
        ADHOC_VARIABLE,
        AdhocCertificate,
        MissingCryptography,
        announce,
        load_adhoc,
        make_adhoc,
    )
    from ..dev.reloader import is_running_from_reloader
    from .profile import UsageError

    inherited = os.environ.get(ADHOC_VARIABLE, "") if is_running_from_reloader() else ""
    certificate: AdhocCertificate
    if inherited:
        certfile, keyfile, names = json.loads(inherited)
        certificate = load_adhoc(certfile, keyfile, tuple(names))
    else:
        directory = tempfile.mkdtemp(prefix="devserve-tls-")
        cleanup.callback(shutil.rmtree, directory, ignore_errors=True)
        try:
            # A Unix socket's clients name the server localhost, which it covers.
            host = None if unix_path(args.bind) else args.bind
            certificate = make_adhoc(directory, host)
        except MissingCryptography as error:
            raise UsageError(str(error)) from None
        os.environ[ADHOC_VARIABLE] = json.dumps(
            [certificate.certfile, certificate.keyfile, certificate.names]
        )
        print(announce(certificate), flush=True)
    args.tls_cert, args.tls_key = certificate.certfile, certificate.keyfile


def open_page(server: HTTPServer) -> None:
    """Open the page *server* serves in the user's web browser (``--open``)."""
    if not isinstance(server.server_address, tuple):
        sys.stderr.write("devserve: note: a web browser cannot open a Unix socket\n")
        return
    host, port = server.socket.getsockname()[:2]
    open_browser(browser_url(host, port, "http" if server.ssl_context is None else "https"))


def open_browser(url: str) -> None:
    """Open *url* in the user's web browser, without waiting for it (``--open``)."""

    import webbrowser

    def run() -> None:
        # A console browser would hold the terminal: that is why this is a thread.
        if not webbrowser.open(url):
            sys.stderr.write("devserve: note: no web browser found to open %s\n" % url)

    threading.Thread(target=run, name="devserve-open", daemon=True).start()
