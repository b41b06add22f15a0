"""The benchmark's scenarios, as data.

A scenario is a list of servers (a name and a command line), a list of variants (a
path, wrk headers, a connection count) and the targets the issues set.  Adding one is
adding an entry here: the harness in ``run.py`` knows nothing about any of them.

Placeholders in a server's argv: ``{python}`` (the interpreter running the harness),
``{servers}`` (bench/servers), ``{port}`` (a free port on 127.0.0.1), ``{workdir}``
(a temporary directory for the scenario) and ``{docroot}`` (files made by the
scenario's ``prepare``).  A server whose ``requires`` modules are not importable, or
whose ``tools`` cannot be found or installed, is skipped with a message.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["SCENARIOS", "Scenario", "Server", "Target", "Variant"]

CLOSE = "Connection: close"


@dataclass(frozen=True)
class Server:
    """A server under test: a name and the command line that starts it."""

    name: str
    argv: tuple[str, ...]
    requires: tuple[str, ...] = ()  # modules that must be importable
    tools: tuple[str, ...] = ()  # executables that must exist (installed if missing)
    note: str = ""


@dataclass(frozen=True)
class Variant:
    """One way of driving the servers: a path, extra wrk headers, a connection count."""

    name: str
    path: str = "/"
    headers: tuple[str, ...] = ()
    connections: int | None = None  # None: the run's default (8, or --connections)


@dataclass(frozen=True)
class Target:
    """A figure an issue asks for.

    With a *baseline*, the checked value is the ratio ``subject / baseline`` of
    *metric*, taken within each round and then the median; without one, it is the
    subject's median *metric*.
    """

    variant: str
    subject: str
    metric: str  # "rps", "errors", "cpu_us", "rss_mib", "p99_ms"
    baseline: str | None = None
    at_least: float | None = None
    at_most: float | None = None
    source: str = ""

    def describe(self) -> str:
        what = self.metric if self.baseline is None else "%s / %s" % (self.metric, self.baseline)
        bound = (
            "≥ %g" % self.at_least
            if self.at_least is not None
            else "≤ %g" % (self.at_most if self.at_most is not None else 0)
        )
        suffix = " (%s)" % self.source if self.source else ""
        return "%s %s: %s %s%s" % (self.subject, self.variant, what, bound, suffix)


@dataclass(frozen=True)
class Scenario:
    """Servers, variants and targets that are measured together, round-robin."""

    name: str
    title: str
    servers: tuple[Server, ...]
    variants: tuple[Variant, ...]
    ratio_against: tuple[str, ...] = ()  # baselines every row is compared with
    targets: tuple[Target, ...] = ()
    ready_path: str = "/"
    restart_each_run: bool = False  # a fresh server for each measurement
    resources: bool = False  # report peak threads, RSS and open sockets
    throughput: bool = False  # report bytes/s
    prepare: Callable[[Path], None] | None = field(default=None, compare=False)


def _script(name: str, *args: str) -> tuple[str, ...]:
    return ("{python}", "{servers}/" + name, "--port", "{port}", *args)


# -- handler-hello (issue 2) ------------------------------------------------------

HANDLER_DEVSERVE = Server("devserve", _script("handler_hello.py", "--impl", "devserve"))
HANDLER_STDLIB = Server(
    "stdlib",
    _script("handler_hello.py", "--impl", "stdlib"),
    note="http.server.ThreadingHTTPServer as shipped, HTTP/1.1",
)
HANDLER_STDLIB_ONESEND = Server(
    "stdlib-onesend",
    _script("handler_hello.py", "--impl", "stdlib-onesend"),
    note="the same with wbufsize = -1: one send per response",
)

RAW_FLOOR = Server(
    "raw-floor",
    _script("raw_floor.py"),
    note="no HTTP at all: recv + sendall of a canned answer, a thread per connection",
)

HANDLER_HELLO = Scenario(
    name="handler-hello",
    title="hello-world do_GET handler on ThreadingHTTPServer, HTTP/1.1",
    servers=(HANDLER_DEVSERVE, HANDLER_STDLIB, HANDLER_STDLIB_ONESEND, RAW_FLOOR),
    variants=(Variant("keep-alive"), Variant("close", headers=(CLOSE,))),
    ratio_against=("stdlib", "stdlib-onesend"),
    targets=(
        Target("keep-alive", "devserve", "rps", "stdlib-onesend", at_least=1.5, source="issue 2"),
        Target("close", "devserve", "rps", "stdlib", at_least=2.0, source="issue 2"),
    ),
)

# -- static (issue 3) -------------------------------------------------------------

STATIC_FILES = {"1k.bin": 1024, "100k.bin": 100 * 1024, "10m.bin": 10 * 1024 * 1024}


def _make_static_files(workdir: Path) -> None:
    docroot = workdir / "docroot"
    docroot.mkdir()
    for name, size in STATIC_FILES.items():
        (docroot / name).write_bytes(os.urandom(size))
        (docroot / name).chmod(0o644)
    # nginx's worker runs as an unprivileged user: it must be able to reach the files.
    workdir.chmod(0o755)
    docroot.chmod(0o755)


STATIC = Scenario(
    name="static",
    title="static files, keep-alive (1 KiB, 100 KiB, 10 MiB)",
    servers=(
        Server(
            "devserve",
            (
                "{python}",
                "-m",
                "devserve",
                "--bind",
                "127.0.0.1",
                "--directory",
                "{docroot}",
                "{port}",
            ),
            requires=("devserve.files.handler", "devserve.__main__"),
            note="devserve's command line (HTTP/1.1, access log to a file)",
        ),
        Server(
            "http.server",
            (
                "{python}",
                "-m",
                "http.server",
                "--bind",
                "127.0.0.1",
                "--directory",
                "{docroot}",
                "{port}",
            ),
            note="python -m http.server as its command line runs it (HTTP/1.0, access log)",
        ),
        Server(
            "nginx",
            _script("nginx_static.py", "--root", "{docroot}", "--workdir", "{workdir}"),
            tools=("nginx",),
            note="nginx-light, sendfile on, 1 worker",
        ),
    ),
    variants=(
        Variant("1 KiB", path="/1k.bin"),
        Variant("100 KiB", path="/100k.bin"),
        Variant("10 MiB", path="/10m.bin"),
    ),
    ratio_against=("http.server", "nginx"),
    targets=(
        Target("1 KiB", "devserve", "rps", "http.server", at_least=5.0, source="issue 3"),
        Target("10 MiB", "devserve", "rps", "nginx", at_least=0.95, source="issue 3"),
    ),
    ready_path="/1k.bin",
    resources=True,
    throughput=True,
    prepare=_make_static_files,
)

# -- wsgi-hello and flask-hello (issue 4) -----------------------------------------


def _wsgi_servers(app: str) -> tuple[Server, ...]:
    def wsgi(impl: str, **extra: str) -> Server:
        requires = ("devserve.wsgi.handler",) if impl == "devserve" else ()
        if app == "flask":
            requires += ("flask",)
        return Server(
            impl,
            _script("wsgi_hello.py", "--impl", impl, "--app", app),
            requires=requires,
            **extra,
        )

    gunicorn_app = "wsgi_apps:hello" if app == "plain" else "wsgi_apps:make_flask_app()"
    return (
        wsgi("devserve", note="devserve.make_server"),
        wsgi("wsgiref", note="wsgiref.simple_server, HTTP/1.0, one thread"),
        wsgi("werkzeug", note="run_simple(threaded=True)"),
        wsgi("waitress", note="4 threads"),
        Server(
            "gunicorn",
            ("{python}", "-m", "gunicorn", "--worker-class", "gthread", "--workers", "1",
             "--threads", "4", "--bind", "127.0.0.1:{port}", "--chdir", "{servers}",
             "--log-level", "warning", gunicorn_app),
            requires=("gunicorn",) + (("flask",) if app == "flask" else ()),
            note="gthread, 1 worker, 4 threads",
        ),
    )  # fmt: skip


WSGI_VARIANTS = (Variant("keep-alive"), Variant("close", headers=(CLOSE,)))

WSGI_HELLO = Scenario(
    name="wsgi-hello",
    title="plain PEP 3333 hello application",
    servers=_wsgi_servers("plain"),
    variants=WSGI_VARIANTS,
    ratio_against=("werkzeug", "waitress"),
    targets=(
        Target("keep-alive", "devserve", "rps", "waitress", at_least=1.3, source="issue 4"),
        Target("keep-alive", "devserve", "rps", "werkzeug", at_least=5.0, source="issue 4"),
    ),
)

FLASK_HELLO = Scenario(
    name="flask-hello",
    title="one-route Flask hello application",
    servers=_wsgi_servers("flask"),
    variants=WSGI_VARIANTS,
    ratio_against=("werkzeug", "waitress"),
    targets=(Target("keep-alive", "devserve", "rps", "waitress", at_least=1.15, source="issue 4"),),
)

# -- handler-app (issue 14) -------------------------------------------------------


def _gunicorn(name: str, app: str, note: str, *requires: str) -> Server:
    # wsgi-hello's gunicorn configuration, for each application.
    return Server(
        name,
        ("{python}", "-m", "gunicorn", "--worker-class", "gthread", "--workers", "1",
         "--threads", "4", "--bind", "127.0.0.1:{port}", "--chdir", "{servers}",
         "--log-level", "warning", app),
        requires=("gunicorn", *requires),
        note=note,
    )  # fmt: skip


HANDLER_APP = Scenario(
    name="handler-app",
    title="hello do_GET handler under HandlerApp in gunicorn, against a plain WSGI hello",
    servers=(
        _gunicorn("wsgi", "wsgi_apps:hello", "plain PEP 3333 hello, gthread, 1 worker, 4 threads"),
        _gunicorn(
            "handler-app",
            "handler_app:app",
            "HandlerApp(hello handler on devserve's base class), same gunicorn",
            "devserve.wsgi.handler_app",
        ),
        _gunicorn(
            "handler-app-stdlib",
            "handler_app:stdlib_app",
            "HandlerApp(hello handler on http.server's base class), same gunicorn",
            "devserve.wsgi.handler_app",
        ),
        # A reference, not a target: what a one-route application in a framework
        # costs in the same gunicorn, against the same plain app.
        _gunicorn(
            "flask",
            "wsgi_apps:make_flask_app()",
            "one-route Flask hello, same gunicorn (reference)",
            "flask",
        ),
    ),
    variants=(Variant("keep-alive"),),
    ratio_against=("wsgi",),
    targets=(
        Target("keep-alive", "handler-app", "cpu_us", "wsgi", at_most=1.2, source="issue 14"),
    ),
)

# -- concurrency (issues 4 and 7) -------------------------------------------------

CONCURRENCY = Scenario(
    name="concurrency",
    title="many keep-alive connections (hello handler / plain WSGI hello)",
    servers=(
        Server(
            "devserve-wsgi",
            _script("wsgi_hello.py", "--impl", "devserve", "--app", "plain"),
            requires=("devserve.wsgi.handler",),
            note="devserve.make_server (the bounded server of issue 7)",
        ),
        Server(
            "devserve-bounded",
            _script("handler_hello.py", "--impl", "devserve-bounded"),
            requires=("devserve.net.bounded",),
            note="hello handler on devserve.net.bounded.BoundedHTTPServer (the command line's)",
        ),
        Server(
            "devserve",
            HANDLER_DEVSERVE.argv,
            note="hello handler on devserve.ThreadingHTTPServer (a thread per connection)",
        ),
        Server("stdlib", HANDLER_STDLIB.argv, note=HANDLER_STDLIB.note),
        Server("werkzeug", _script("wsgi_hello.py", "--impl", "werkzeug", "--app", "plain")),
        Server("waitress", _script("wsgi_hello.py", "--impl", "waitress", "--app", "plain")),
    ),
    variants=(Variant("c256", connections=256), Variant("c1024", connections=1024)),
    ratio_against=("stdlib", "waitress"),
    targets=(
        Target("c256", "devserve-wsgi", "errors", at_most=0, source="issue 4"),
        Target("c1024", "devserve-wsgi", "rps", "waitress", at_least=1.0, source="issue 7"),
        Target("c1024", "devserve-wsgi", "errors", at_most=0, source="issue 7"),
        Target("c1024", "devserve-wsgi", "rss_mib", at_most=150, source="issue 7"),
        Target("c1024", "devserve-bounded", "rps", "waitress", at_least=1.0, source="issue 7"),
        Target("c1024", "devserve-bounded", "errors", at_most=0, source="issue 7"),
        Target("c1024", "devserve-bounded", "rss_mib", at_most=150, source="issue 7"),
    ),
    restart_each_run=True,
    resources=True,
)

# -- proxy-hello (issue 14) --------------------------------------------------------

PROXY_HELLO = Scenario(
    name="proxy-hello",
    title="plain WSGI hello on devserve, asked directly and through devserve's --proxy",
    servers=(
        Server("devserve", _script("wsgi_hello.py", "--impl", "devserve", "--app", "plain"),
               requires=("devserve.wsgi.handler",), note="devserve.make_server, asked directly"),
        Server("devserve-proxy", _script("proxy_hello.py"), requires=("devserve.proxy.handler",),
               note="a Proxy mounted at / in front of the same server (both on the server core)"),
    ),
    variants=(Variant("keep-alive"),),
    ratio_against=("devserve",),
    targets=(
        Target("keep-alive", "devserve-proxy", "rps", "devserve", at_least=0.4,
               source="issue 14"),
    ),
)  # fmt: skip

SCENARIOS: dict[str, Scenario] = {
    scenario.name: scenario
    for scenario in (
        HANDLER_HELLO,
        STATIC,
        WSGI_HELLO,
        FLASK_HELLO,
        HANDLER_APP,
        CONCURRENCY,
        PROXY_HELLO,
    )
}
