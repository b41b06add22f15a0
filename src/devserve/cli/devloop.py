"""The development-loop options of the command line, for files and for ``--app``.

Rule 1: this module turns ``--livereload``, ``--tls adhoc``, ``--allowed-host`` and
``--open`` into objects (a :class:`~devserve.dev.livereload.LiveReload`, certificate
files, an allowlist) and mix-ins; :mod:`devserve.cli.main` and :mod:`devserve.cli.app_mode`
only call it, so each stays one screen of wiring.
Rule 2: what is watched is one set of patterns, ``--reload-include`` and
``--reload-exclude``, whichever of code reload and live reload uses it.  Files mode
watches every file under the directory by default; ``--app`` watches Python sources
and, with ``--livereload``, templates, stylesheets and scripts.
Rule 3: the ``Host`` check is on whenever the server listens on loopback only, and
wherever ``--allowed-host`` is given; ``--allowed-host '*'`` turns it off.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
import tempfile
import threading
import webbrowser
from typing import Any

from ..dev.adhoc_tls import ADHOC_VARIABLE, AdhocCertificate, announce, load_adhoc, make_adhoc
from ..dev.hostcheck import is_loopback
from ..dev.livereload import LiveReload
from ..dev.reloader import DEFAULT_EXCLUDE, DEFAULT_INCLUDE, is_running_from_reloader

__all__ = [
    "APP_LIVE_INCLUDE",
    "add_options",
    "allowed_hosts",
    "files_livereload",
    "open_browser",
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


def allowed_hosts(args: argparse.Namespace) -> tuple[str, ...] | None:
    """The extra host names the ``Host`` check allows, or ``None`` for no check."""
    names = tuple(args.allowed_host)
    if names or is_loopback(args.bind):
        return names
    return None


def watch_patterns(args: argparse.Namespace, *, app: bool) -> tuple[tuple[str, ...], ...]:
    """Return ``(include, exclude)`` for watching, from the command line's patterns."""
    include: tuple[str, ...] = tuple(args.reload_include)
    if not include:
        if not app:
            include = ("*",)
        elif args.livereload:
            include = (*DEFAULT_INCLUDE, *APP_LIVE_INCLUDE)
        else:
            include = DEFAULT_INCLUDE
    return include, (*DEFAULT_EXCLUDE, *args.reload_exclude)


def files_livereload(args: argparse.Namespace, directory: str) -> LiveReload | None:
    """Return the (not yet started) live reload for serving *directory*, if asked for."""
    if not args.livereload:
        return None
    include, exclude = watch_patterns(args, app=False)
    return LiveReload([directory], include, exclude)


def prepare_tls(args: argparse.Namespace, cleanup: contextlib.ExitStack) -> None:
    """For ``--tls adhoc``: make a certificate and point ``--tls-cert``/``--tls-key`` at it.

    The files are removed when *cleanup* closes; a reloader's child reuses its
    parent's.  Raises :exc:`~devserve.dev.adhoc_tls.MissingCryptography`.
    """
    if args.tls != "adhoc":
        return
    inherited = os.environ.get(ADHOC_VARIABLE, "") if is_running_from_reloader() else ""
    certificate: AdhocCertificate
    if inherited:
        certfile, keyfile, names = json.loads(inherited)
        certificate = load_adhoc(certfile, keyfile, tuple(names))
    else:
        directory = tempfile.mkdtemp(prefix="devserve-tls-")
        cleanup.callback(shutil.rmtree, directory, ignore_errors=True)
        certificate = make_adhoc(directory, args.bind)
        os.environ[ADHOC_VARIABLE] = json.dumps(
            [certificate.certfile, certificate.keyfile, certificate.names]
        )
        print(announce(certificate), flush=True)
    args.tls_cert, args.tls_key = certificate.certfile, certificate.keyfile


def browser_url(host: str, port: int, scheme: str) -> str:
    """The URL to open for a server bound to *host*: a wildcard means this machine."""
    host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    return "%s://%s:%d/" % (scheme, "[%s]" % host if ":" in host else host, port)


def open_browser(url: str) -> None:
    """Open *url* in the user's web browser, without waiting for it (``--open``)."""

    def run() -> None:
        # A console browser would hold the terminal: that is why this is a thread.
        if not webbrowser.open(url):
            sys.stderr.write("devserve: note: no web browser found to open %s\n" % url)

    threading.Thread(target=run, name="devserve-open", daemon=True).start()
