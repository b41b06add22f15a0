"""The devserve command line, run in a subprocess on 127.0.0.1 and stopped by its pid."""

from __future__ import annotations

import argparse
import http.client
import io
import re
import shlex
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from devserve.cli.main import build_parser
from devserve.cli.profile import Profile, configured
from devserve.dev.accesslog import color_enabled
from devserve.files.handler import SimpleHTTPRequestHandler
from support.cli import TIMEOUT, Devserve, start
from support.event_stream import Stream
from support.processes import port_free
from support.sockets import CERTIFICATE_PASSWORD


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "hello.txt").write_text("hello\n")
    (tmp_path / "app.js").write_text("export {};\n")
    (tmp_path / ".env").write_text("SECRET=1\n")
    (tmp_path / "index.html").write_text("<div id=app></div>")
    return tmp_path


@pytest.fixture
def running() -> Iterator[list[Devserve]]:
    started: list[Devserve] = []
    yield started
    for server in started:
        server.stop(signal.SIGKILL)


def test_serves_files_logs_and_exits_cleanly_on_ctrl_c(running: list[Devserve], site: Path) -> None:
    server = start(running, "0", "-b", "127.0.0.1", "-d", str(site))
    assert server.banner == [("HTTP", "127.0.0.1", server.port)]
    result = subprocess.run(
        ["curl", "-s", "-i", "--max-time", "5", server.url + "/hello.txt"],
        capture_output=True,
        check=True,
    )
    assert result.stdout.startswith(b"HTTP/1.1 200 OK\r\n")
    assert result.stdout.endswith(b"\r\n\r\nhello\n")
    time.sleep(0.2)  # the log line follows the last byte; let it be written
    code, out, err = server.stop(signal.SIGINT)
    assert code == 0
    assert "Keyboard interrupt received, exiting." in out
    assert "Traceback" not in err
    line = re.search(r'"GET /hello\.txt HTTP/1\.1" 200 (\d+) ([0-9.]+m?s)', err)
    assert line, err
    assert int(line[1]) == len(result.stdout)  # every byte of the response, head included
    assert "\x1b[" not in err  # stderr is not a terminal: no colour


def test_defaults_loopback_on_both_families(running: list[Devserve], site: Path) -> None:
    server = start(running, "0", "-d", str(site))
    hosts = [host for _scheme, host, _port in server.banner]
    assert hosts[0] == "127.0.0.1"
    if socket.has_ipv6 and len(hosts) == 2:
        assert hosts[1] == "::1"
        with socket.create_connection(("::1", server.port), timeout=TIMEOUT) as sock:
            sock.sendall(b"GET /hello.txt HTTP/1.1\r\nHost: [::1]\r\nConnection: close\r\n\r\n")
            assert sock.recv(100).startswith(b"HTTP/1.1 200 ")
    assert server.stop()[0] == 0


def test_devserve_defaults_over_the_wire(running: list[Devserve], site: Path) -> None:
    server = start(running, "0", "-b", "127.0.0.1", "-d", str(site))
    session = requests.Session()
    first = session.get(server.url + "/hello.txt", timeout=TIMEOUT)
    assert first.headers["Cache-Control"] == "no-cache"
    assert first.headers["ETag"].startswith('"')
    again = session.get(
        server.url + "/hello.txt", headers={"If-None-Match": first.headers["ETag"]}, timeout=5
    )
    assert again.status_code == 304
    hidden = session.get(server.url + "/.env", timeout=TIMEOUT)
    assert hidden.status_code == 404
    assert "--dotfiles serves it" in hidden.text  # says why, and what serves it
    assert first.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert session.get(server.url + "/app.js", timeout=TIMEOUT).headers["Content-Type"] == (
        "text/javascript; charset=utf-8"
    )
    assert session.get(server.url + "/..%5c/hello.txt", timeout=TIMEOUT).status_code == 400
    # Strict parsing: HTTP/1.1 without Host is refused.
    with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as sock:
        sock.sendall(b"GET /hello.txt HTTP/1.1\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 400 ")
    assert server.stop()[0] == 0


def test_headers_cors_spa(running: list[Devserve], site: Path) -> None:
    server = start(
        running, "0", "-b", "127.0.0.1", "-d", str(site),
        "-H", "X-One", "1", "--header", "X-Two", "two words", "--cors", "--spa",
    )  # fmt: skip
    response = requests.get(server.url + "/deep/route", timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.text == "<div id=app></div>"
    assert response.headers["X-One"] == "1"
    assert response.headers["X-Two"] == "two words"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert requests.options(server.url + "/hello.txt", timeout=TIMEOUT).status_code == 204
    assert server.stop()[0] == 0


def test_protocol_flag(running: list[Devserve], site: Path) -> None:
    server = start(running, "0", "-b", "127.0.0.1", "-d", str(site), "-p", "HTTP/1.0")
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=TIMEOUT)
    conn.request("GET", "/hello.txt")
    response = conn.getresponse()
    assert response.version == 10
    conn.close()
    assert server.stop(signal.SIGTERM)[0] == 0


def test_tls(
    running: list[Devserve], site: Path, tmp_path: Path, certificate: tuple[Path, Path]
) -> None:
    password = tmp_path / "password"
    password.write_text(CERTIFICATE_PASSWORD + "\n")
    cert, key = certificate
    server = start(
        running, "0", "-b", "127.0.0.1", "-d", str(site),
        "--tls-cert", str(cert),
        "--tls-key", str(key.with_name("key.encrypted.pem")),
        "--tls-password-file", str(password),
    )  # fmt: skip
    assert server.banner[0][0] == "HTTPS"
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    conn = http.client.HTTPSConnection("127.0.0.1", server.port, timeout=TIMEOUT, context=context)
    conn.request("GET", "/hello.txt")
    assert conn.getresponse().read() == b"hello\n"
    conn.close()
    assert server.stop()[0] == 0


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "devserve", *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT * 2,
        cwd=cwd,
    )


def test_port_in_use_is_one_line(site: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run(str(port), "-b", "127.0.0.1", "-d", str(site))
    assert result.returncode == 1
    assert result.stderr == (
        "devserve: error: cannot listen on 127.0.0.1:%d: address already in use "
        "(try another port, or 0)\n" % port
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["-d", "/nonexistent/dir"],
            "devserve: error: cannot serve '/nonexistent/dir': not a directory",
        ),
        (["--tls-key", "k.pem"], "--tls-key requires --tls-cert to be set"),
        (["--tls-password-file", "p"], "--tls-password-file requires --tls-cert to be set"),
        (["70000"], "invalid port '70000'"),
        (["-H", "X-One"], "expected 2 arguments"),
        (["-b", "no-such-host.invalid"], "devserve: error: cannot bind 'no-such-host.invalid'"),
        (["--tls-cert", "/nonexistent.pem"], "devserve: error: cannot read TLS file"),
    ],
    ids=["directory", "key", "password", "port", "header", "bind", "cert"],
)
def test_usage_errors_exit_2_without_traceback(args: list[str], message: str, site: Path) -> None:
    result = run(*(args if args[0].isdigit() else ["0", *args]), cwd=site)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def files_class(site: Path, *args: str, base: Any = SimpleHTTPRequestHandler) -> Any:
    profile = Profile.from_args(build_parser().parse_args(["-d", str(site), *args]))
    return configured(base, profile.handler_attributes() | profile.files_attributes(str(site)))


def test_cgi_flag_gets_the_same_profile(site: Path) -> None:
    from devserve.cgi.handler import CGIHTTPRequestHandler

    cls = files_class(site, "--cgi", base=CGIHTTPRequestHandler)
    assert issubclass(cls, CGIHTTPRequestHandler)
    assert cls.strict_parsing is True
    assert cls.etags is True


def test_profile_configures_a_subclass_and_leaves_the_library_class_alone(site: Path) -> None:
    cls = files_class(site, "--dotfiles")
    assert issubclass(cls, SimpleHTTPRequestHandler)
    assert cls.strict_parsing is True
    assert cls.protocol_version == "HTTP/1.1"
    assert cls.idle_timeout == 75.0
    assert cls.head_timeout == 10.0
    assert cls.serve_dotfiles is True
    assert cls.allow_symlink_escape is False
    assert cls.default_directory == str(site)
    assert SimpleHTTPRequestHandler.protocol_version == "HTTP/1.0"
    assert SimpleHTTPRequestHandler.strict_parsing is False
    assert SimpleHTTPRequestHandler.etags is False
    assert SimpleHTTPRequestHandler.default_directory is None
    compat = files_class(site, "--compat")
    assert compat.strict_parsing is False
    assert compat.strict_paths is False


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_only_on_a_tty_and_never_with_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert color_enabled(_Tty())
    assert not color_enabled(io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not color_enabled(_Tty())


@pytest.mark.parametrize(
    ("env", "coloured"),
    [
        ({"FORCE_COLOR": "1"}, True),
        ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, False),
        ({"PYTHON_COLORS": "1", "NO_COLOR": "1"}, True),
        ({"PYTHON_COLORS": "0", "FORCE_COLOR": "1"}, False),
        ({}, False),  # stderr is a pipe here
    ],
    ids=["force", "no-color-wins", "python-colors-1", "python-colors-0", "pipe"],
)
def test_the_colour_variables_over_a_real_log(
    running: list[Devserve], site: Path, env: dict[str, str], coloured: bool
) -> None:
    # Empty values are unset, as far as these variables go: the machine's own are ignored.
    unset = {"FORCE_COLOR": "", "NO_COLOR": "", "PYTHON_COLORS": ""}
    server = start(running, "0", "-b", "127.0.0.1", "-d", str(site), env={**unset, **env})
    requests.get(server.url + "/hello.txt", timeout=TIMEOUT)
    time.sleep(0.2)  # the log line follows the last byte
    _, _, err = server.stop()
    assert '"GET /hello.txt HTTP/1.1"' in err
    assert ("\x1b[" in err) is coloured


def test_parser_has_the_wsgi_mode() -> None:
    parser = build_parser()
    assert isinstance(parser, argparse.ArgumentParser)
    args = parser.parse_args(["--app", "m:app", "9000", "--static", "/s=d", "--reload"])
    assert (args.app, args.port, args.static, args.reload) == ("m:app", 9000, ["/s=d"], True)


# -- the development loop ---------------------------------------------------------


def test_livereload_injects_and_streams_a_change(running: list[Devserve], site: Path) -> None:
    server = start(running, "0", "-b", "127.0.0.1", "-d", str(site), "--livereload")
    page = requests.get(server.url + "/", timeout=TIMEOUT)
    assert page.text.startswith('<div id=app></div><script data-devserve="livereload">')
    assert page.headers["Content-Length"] == str(len(page.content))
    assert requests.get(server.url + "/hello.txt", timeout=TIMEOUT).text == "hello\n"
    stream = Stream(server.port)
    try:
        assert stream.event()["event"] == "hello"
        time.sleep(0.3)  # the watcher has taken its first look
        (site / "index.html").write_text("<div id=app>2</div>")
        assert stream.event()["event"] == "reload"
    finally:
        stream.close()
    assert server.stop()[0] == 0


def test_host_check_on_loopback_and_allowed_hosts(running: list[Devserve], site: Path) -> None:
    server = start(running, "0", "-d", str(site), "--allowed-host", ".dev.test")
    url = server.url + "/hello.txt"
    assert requests.get(url, timeout=TIMEOUT).status_code == 200  # Host: 127.0.0.1:PORT
    for host, status in (("localhost", 200), ("app.dev.test", 200), ("evil.example", 403)):
        response = requests.get(url, headers={"Host": host}, timeout=TIMEOUT)
        assert response.status_code == status, host
    assert "--allowed-host evil.example" in response.text
    assert server.stop()[0] == 0


def test_open_starts_the_browser_at_the_served_url(
    running: list[Devserve], site: Path, tmp_path: Path
) -> None:
    opened = tmp_path / "opened"
    record = "import sys; open(%r, 'w').write(sys.argv[1])" % str(opened)
    browser = "%s -c %s %%s" % (sys.executable, shlex.quote(record))
    server = start(running, "0", "-d", str(site), "--open", env={"BROWSER": browser})
    deadline = time.monotonic() + TIMEOUT
    while not opened.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert opened.read_text() == "http://127.0.0.1:%d/" % server.port
    assert server.stop()[0] == 0


def test_sigterm_frees_the_port_at_once_and_gives_downloads_the_grace(
    running: list[Devserve], site: Path
) -> None:
    (site / "big.bin").write_bytes(b"x" * (16 << 20))
    server = start(running, "0", "-b", "127.0.0.1", "-d", str(site), "--grace", "0.8", "-q")
    download = socket.socket()
    download.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    download.settimeout(TIMEOUT)
    download.connect(("127.0.0.1", server.port))
    with download:
        download.sendall(b"GET /big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n")
        assert download.recv(12) == b"HTTP/1.1 200"  # in flight, and read no further
        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        while not port_free(server.port):
            assert time.monotonic() - started < 0.5, "the port is still taken"
            time.sleep(0.01)
        server.process.wait(TIMEOUT)
        took = time.monotonic() - started
    code, out, err = server.stop()
    assert 0.7 <= took < 0.8 + 1.0, took  # the download had its grace, and no more
    assert code == 0
    assert "Terminated (SIGTERM), exiting." in out
    assert "Keyboard interrupt" not in out + err
    assert "Traceback" not in err


def test_grace_must_be_seconds(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--grace", "soon"])
    assert "'soon' is not a number of seconds" in capsys.readouterr().err


def test_the_compat_mode_keeps_http_servers_words_and_types(
    running: list[Devserve], site: Path
) -> None:
    (site / "link").symlink_to(site.parent)
    server = start(running, "0", "-b", "127.0.0.1", "-d", str(site), "--compat")
    hello = requests.get(server.url + "/hello.txt", timeout=TIMEOUT)
    assert hello.headers["Content-Type"] == "text/plain"
    server.stop()
    server = start(running, "0", "-b", "127.0.0.1", "-d", str(site))
    escaping = requests.get(server.url + "/link/", timeout=TIMEOUT)
    assert escaping.status_code == 404
    assert "--follow-symlinks serves it" in escaping.text
    code, _, err = server.stop()
    assert code == 0
    assert "--follow-symlinks serves it" in err  # the log says it too


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-p", "5000"], "not the port: to serve on port 5000, run devserve 5000"),
        (["--app", "x:app", "--debug"], "--debug needs Werkzeug: pip install 'devserve[debug]'"),
        (["--env-file", "x.env"], "--env-file needs --app MODULE:NAME"),
        (["--no-dotenv"], "--no-dotenv needs --app MODULE:NAME"),
    ],
    ids=["port-as-protocol", "debug-without-werkzeug", "env-file-for-files", "no-dotenv-for-files"],
)
def test_habits_that_would_mislead_are_one_usage_line(argv: list[str], message: str) -> None:
    code = (
        "import sys; sys.modules['werkzeug'] = None; from devserve.cli.main import main;"
        "sys.exit(main(%r))" % argv
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [([], "application/octet-stream"), (["--content-type", "text/markdown"],
                                         "text/markdown; charset=utf-8")],
    ids=["default", "content-type"],
)  # fmt: skip
def test_content_type_of_files_whose_type_cannot_be_guessed(
    running: list[Devserve], site: Path, args: list[str], expected: str
) -> None:
    (site / "notes.unguessable").write_text("# notes\n")
    server = start(running, "0", "-b", "127.0.0.1", "-d", str(site), *args)
    answer = requests.get(server.url + "/notes.unguessable", timeout=TIMEOUT)
    assert answer.headers["Content-Type"] == expected
    assert (
        requests.get(server.url + "/hello.txt", timeout=TIMEOUT).headers["Content-Type"]
        == "text/plain; charset=utf-8"
    )  # a type that is guessed is kept


def test_a_404_links_to_the_nearest_listing(running: list[Devserve], site: Path) -> None:
    (site / "docs" / "guide").mkdir(parents=True)
    (site / ".private").mkdir()
    server = start(running, "0", "-b", "127.0.0.1", "-d", str(site))
    missing = requests.get(server.url + "/docs/guide/gone/page.html", timeout=TIMEOUT)
    assert missing.status_code == 404
    assert '<a href="/docs/guide/">/docs/guide/</a>' in missing.text
    hidden = requests.get(server.url + "/.private/x.txt", timeout=TIMEOUT)
    assert '<a href="/">/</a>' in hidden.text  # a hidden directory is not offered
    server.stop()
    compat = start(running, "0", "-b", "127.0.0.1", "-d", str(site), "--compat")
    plain = requests.get(compat.url + "/docs/guide/gone/page.html", timeout=TIMEOUT)
    assert plain.status_code == 404
    assert "nearest listing" not in plain.text  # http.server's page, as it is


HELLO_APP = (
    "def app(environ, start_response):\n"
    "    start_response('200 OK', [('Content-Length', '2')])\n"
    "    return [b'hi']\n"
)


def serving(directory: Path, *args: str) -> subprocess.Popen[str]:
    """``python -m devserve *args`` in *directory*, once it has answered a first request."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "devserve", *args], cwd=directory,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    banner = proc.stdout.readline()
    port = int(re.search(r":(\d+)/", banner)[1])  # type: ignore[index]
    assert requests.get("http://127.0.0.1:%d/" % port, timeout=TIMEOUT).status_code == 200
    return proc


@pytest.mark.parametrize("mode", ["files", "app", "app-reload"])
def test_a_burst_of_sigterms_stops_devserve_once_and_quietly(tmp_path: Path, mode: str) -> None:
    # A process manager and a reloader may both send SIGTERM, or send it again: the
    # first asks for the stop, the rest must not break into the clean-up after it.
    (tmp_path / "hello.py").write_text(HELLO_APP)
    args = ["-b", "127.0.0.1", "0"]
    if mode == "files":
        args += ["-d", str(tmp_path)]
    else:
        args += ["--app", "hello:app"] + (["--reload"] if mode == "app-reload" else [])
    proc = serving(tmp_path, *args)
    try:
        sent = 0
        while proc.poll() is None and sent < 400:
            proc.send_signal(signal.SIGTERM)
            sent += 1
            time.sleep(0.0005)
        out, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert sent > 1, sent
    assert "Traceback" not in err
    assert "KeyboardInterrupt" not in err
    assert "Terminated (SIGTERM), exiting." in out  # the clean-up ran to its end
    # 0, or a SIGTERM that came once devserve was done and the process ending.
    assert proc.returncode in (0, -signal.SIGTERM), err


STUCK_APP = HELLO_APP + (
    "import threading, time\n"
    "threading.Thread(target=time.sleep, args=(60,)).start()  # the exit waits for it\n"
)


def test_a_sigterm_ends_an_exit_stuck_on_the_applications_threads(tmp_path: Path) -> None:
    # One SIGTERM is enough while devserve stops; once it is done, SIGTERM ends the
    # process again, as a process manager expects of an exit that hangs.
    (tmp_path / "stuck.py").write_text(STUCK_APP)
    proc = serving(tmp_path, "-b", "127.0.0.1", "0", "--app", "stuck:app")
    try:
        proc.send_signal(signal.SIGTERM)
        time.sleep(1.5)  # the grace, then main() returns; the exit waits on the thread
        assert proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        out, _err = proc.communicate(timeout=5)
    finally:
        proc.kill()
    assert "Terminated (SIGTERM), exiting." in out  # the first SIGTERM's stop, whole
    assert proc.returncode == -signal.SIGTERM


def test_a_sigterm_after_main_returned_ends_the_process_quietly() -> None:
    # A reloader stops every child, also one already on its way out (waiting for its
    # threads): that SIGTERM must not raise KeyboardInterrupt into the shutdown.
    code = (
        "import sys, threading, time\n"
        "from devserve.cli.main import main\n"
        "status = main(['-q', '-d', '/no/such/directory'])  # returns 2, handler installed\n"
        "threading.Thread(target=time.sleep, args=(3,)).start()  # keeps the exit waiting\n"
        "print('exiting', flush=True)\n"
        "sys.exit(status)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == "exiting\n"
    time.sleep(0.2)  # in the interpreter's shutdown, waiting for the thread
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=10)
    assert proc.returncode == -signal.SIGTERM
    assert "Traceback" not in err
    assert "KeyboardInterrupt" not in err
