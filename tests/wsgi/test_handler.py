"""WSGIHandler, WSGIServer and make_server over real sockets on 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import time
from pathlib import Path
from typing import Any
from wsgiref.validate import validator

import pytest

from apps import plain
from devserve.http11 import Limits
from devserve.net.streams import SocketWriter
from devserve.wsgi.server import WSGIServer, make_server
from support.sockets import CLIENT_TIMEOUT, RunningServer, counting_sends, read_all
from support.wsgi import QuietWSGIHandler, dechunk, get, split

# -- make_server and the environ --------------------------------------------


def test_make_server_has_wsgiref_signature_and_serves_a_validated_app() -> None:
    server = make_server(
        "127.0.0.1", 0, validator(plain.environ_echo), handler_class=QuietWSGIHandler
    )
    assert isinstance(server, WSGIServer)
    assert server.get_app() is not None
    running = RunningServer(server)
    try:
        status, _headers, body = split(get(running, "/p%61th/x%2Fy?q=%41&b"))
    finally:
        running.stop()
    assert status == b"HTTP/1.1 200 OK"
    environ = json.loads(dechunk(body))
    assert environ["PATH_INFO"] == "/path/x/y"
    assert environ["QUERY_STRING"] == "q=%41&b"
    assert environ["REQUEST_URI"] == environ["RAW_URI"] == "/p%61th/x%2Fy?q=%41&b"
    assert environ["SERVER_NAME"] == "127.0.0.1"
    assert environ["SERVER_PORT"] == str(running.port)
    assert environ["REMOTE_ADDR"] == "127.0.0.1"
    assert environ["REMOTE_PORT"].isdigit()
    assert environ["_multithread"] is True
    assert environ["_has_socket"] is True
    assert "CONTENT_TYPE" not in environ
    assert "CONTENT_LENGTH" not in environ
    assert "wsgi.file_wrapper" in environ["_keys"]
    assert "wsgi.input_terminated" in environ["_keys"]


def test_environ_does_not_leak_the_process_environment(wsgi: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("DEVSERVE_SECRET_TOKEN", "hunter2")
    _, _, body = split(get(wsgi(plain.environ_echo)))
    assert b"hunter2" not in body
    assert b"DEVSERVE_SECRET_TOKEN" not in body


def test_header_names_with_underscores_are_dropped_and_logged(wsgi: Any, capsys: Any) -> None:
    server = wsgi(plain.environ_echo)
    _, _, body = split(get(server, extra="X_User: admin\r\nX-User: bob\r\nX-User: eve\r\n"))
    environ = json.loads(body)
    assert environ["HTTP_X_USER"] == "bob, eve"
    assert "X_User" in capsys.readouterr().err


def test_absolute_form_target_sets_path_and_host(wsgi: Any) -> None:
    server = wsgi(plain.environ_echo)
    _, _, body = split(get(server, "http://example.test:8080/a%20b?x=1"))
    environ = json.loads(body)
    assert environ["PATH_INFO"] == "/a b"
    assert environ["QUERY_STRING"] == "x=1"
    assert environ["HTTP_HOST"] == "example.test:8080"
    assert environ["REQUEST_URI"] == "http://example.test:8080/a%20b?x=1"


def test_script_name_prefix_is_split_off_and_other_paths_are_404(wsgi: Any) -> None:
    server = wsgi(plain.environ_echo, script_name="/app/")
    _, _, body = split(get(server, "/app/x/y"))
    environ = json.loads(body)
    assert (environ["SCRIPT_NAME"], environ["PATH_INFO"]) == ("/app", "/x/y")
    assert split(get(server, "/application"))[0].startswith(b"HTTP/1.1 404")
    assert split(get(server, "/"))[0].startswith(b"HTTP/1.1 404")


def test_url_scheme_is_https_under_tls(tmp_path: Path) -> None:
    import ssl

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    server = WSGIServer(("127.0.0.1", 0), QuietWSGIHandler)
    server.set_app(plain.environ_echo)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    running = RunningServer(server)
    client = ssl.create_default_context()
    client.check_hostname = False
    client.verify_mode = ssl.CERT_NONE
    try:
        raw = socket.create_connection(running.address, timeout=CLIENT_TIMEOUT)
        with client.wrap_socket(raw) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
            data = read_all(sock)
    finally:
        running.stop()
    assert json.loads(split(data)[2])["_url_scheme"] == "https"


# -- request bodies -------------------------------------------------------------


@pytest.mark.parametrize("how", ["read", "chunks", "readline", "readlines", "iter"])
def test_fixed_length_body_is_read_every_way(wsgi: Any, how: str) -> None:
    server = wsgi(plain.body_echo)
    data = server.exchange(
        b"POST /?%s HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\nConnection: close\r\n\r\n"
        b"ab\ncd\nefgh\nIGNORED" % how.encode()
    )
    body = split(data)[2]
    if how in ("read", "chunks"):
        assert body == b"ab\ncd\nefgh\n"
    else:
        assert body == b"ab\n|cd\n|efgh\n"


def test_chunked_body_with_extensions_and_trailers_is_decoded(wsgi: Any) -> None:
    server = wsgi(plain.body_echo)
    data = server.exchange(
        b"POST /?chunks HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
        b"Connection: close\r\n\r\n"
        b"5;name=value\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-Checksum: 1\r\n\r\n"
    )
    status, headers, body = split(data)
    assert status == b"HTTP/1.1 200 OK"
    assert body == b"hello world"
    assert headers["content-length"] == "11"


def test_environ_for_a_chunked_request_has_no_content_length(wsgi: Any) -> None:
    server = wsgi(plain.environ_echo)
    data = server.exchange(
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        b"3\r\nabc\r\n0\r\n\r\n"
    )
    environ = json.loads(split(data)[2])
    assert "CONTENT_LENGTH" not in environ


class SmallBodies(QuietWSGIHandler):
    limits = Limits(max_body_size=8)


def test_chunked_body_over_the_limit_is_413(wsgi: Any) -> None:
    server = wsgi(plain.body_echo, SmallBodies)
    data = server.exchange(
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n"
    )
    assert data.startswith(b"HTTP/1.1 413 ")


def test_declared_length_over_the_limit_is_413_without_running_the_app(wsgi: Any) -> None:
    calls = []

    def app(environ: Any, start_response: Any) -> Any:
        calls.append(environ)
        return plain.hello(environ, start_response)

    server = wsgi(app, SmallBodies)
    data = server.exchange(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\n\r\n123456789")
    assert data.startswith(b"HTTP/1.1 413 ")
    assert calls == []


def test_bad_chunk_is_400_even_if_the_app_swallows_the_error(wsgi: Any) -> None:
    def app(environ: Any, start_response: Any) -> Any:
        with contextlib.suppress(Exception):
            environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"fine?"]

    server = wsgi(app)
    data = server.exchange(
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"
    )
    assert data.startswith(b"HTTP/1.1 400 ")


def test_expect_100_continue_is_sent_once_on_the_first_read(wsgi: Any) -> None:
    server = wsgi(plain.body_echo)
    with server.connect() as sock:
        sock.sendall(
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
        )
        interim = sock.recv(4096)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b"hello")
        sock.sendall(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        rest = read_all(sock)
    assert rest.count(b"100 Continue") == 0
    assert rest.count(b"HTTP/1.1 200 OK") == 2
    assert b"\r\n\r\nhello" in rest


def test_expect_100_lets_the_app_refuse_and_then_closes(wsgi: Any) -> None:
    server = wsgi(plain.refuse_upload)
    with server.connect() as sock:
        sock.sendall(
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
        )
        data = read_all(sock)  # the server closes: the client may never send the body
    status, headers, body = split(data)
    assert status == b"HTTP/1.1 417 Expectation Failed"
    assert headers["connection"] == "close"
    assert b"100 Continue" not in data
    assert body == b"no thanks"


def test_unread_body_is_drained_and_the_connection_kept(wsgi: Any) -> None:
    server = wsgi(plain.hello)
    data = server.exchange(
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
        b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
    )
    assert data.count(b"HTTP/1.1 200 OK") == 2


# -- responses ------------------------------------------------------------------


def test_single_item_body_gets_content_length_and_keep_alive(wsgi: Any) -> None:
    server = wsgi(plain.hello)
    with server.connect() as sock:
        for _ in range(3):
            sock.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            data = sock.recv(65536)
            status, headers, body = split(data)
            assert status == b"HTTP/1.1 200 OK"
            assert headers["content-length"] == "13"
            assert "connection" not in headers
            assert body == b"Hello, world!"


def test_one_send_per_small_response(wsgi: Any) -> None:
    Counted, sends = counting_sends(QuietWSGIHandler)
    get(wsgi(plain.hello, Counted))
    assert len(sends) == 1
    assert sends[0].startswith(b"HTTP/1.1 200 OK")
    assert sends[0].endswith(b"Hello, world!")


def test_streaming_body_is_chunked_for_http_1_1(wsgi: Any) -> None:
    _status, headers, body = split(get(wsgi(plain.streaming)))
    assert headers["transfer-encoding"] == "chunked"
    assert "content-length" not in headers
    assert dechunk(body) == b"one,two,three"


def test_streaming_body_is_close_delimited_for_http_1_0(wsgi: Any) -> None:
    server = wsgi(plain.streaming)
    with server.connect() as sock:
        sock.sendall(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        _status, headers, body = split(read_all(sock))
    assert "transfer-encoding" not in headers
    assert headers["connection"] == "close"
    assert body == b"one,two,three"


def test_http_1_0_keep_alive_with_a_known_length(wsgi: Any) -> None:
    server = wsgi(plain.hello)
    with server.connect() as sock:
        sock.sendall(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        status, headers, body = split(sock.recv(65536))
        assert status == b"HTTP/1.1 200 OK"
        assert headers["connection"] == "keep-alive"
        sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
        _status, headers, body = split(read_all(sock))
    assert headers["connection"] == "close"
    assert body == b"Hello, world!"


def test_write_callable_streams_before_the_returned_items(wsgi: Any) -> None:
    _status, headers, body = split(get(wsgi(plain.writer)))
    assert headers["transfer-encoding"] == "chunked"
    assert dechunk(body) == b"written,twice,returned"


@pytest.mark.parametrize(
    ("method", "query", "expect_body"),
    [("HEAD", "200", False), ("GET", "204", False), ("GET", "304", False), ("GET", "200", True)],
    ids=["head", "204", "304", "get"],
)
def test_server_strips_bodies_that_must_not_be_sent(
    wsgi: Any, method: str, query: str, expect_body: bool
) -> None:
    server = wsgi(plain.status)
    with server.connect() as sock:
        sock.sendall(b"%s /?%s HTTP/1.1\r\nHost: a\r\n\r\n" % (method.encode(), query.encode()))
        time.sleep(0.05)
        first = sock.recv(65536)
        # The connection is still usable: no stray body bytes precede the next answer.
        sock.sendall(b"GET /?200 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        second = read_all(sock)
    _status, headers, body = split(first)
    assert body == (b"a body" if expect_body else b"")
    assert "transfer-encoding" not in headers
    if query == "204":
        assert "content-length" not in headers
    assert second.startswith(b"HTTP/1.1 200 ")


def test_file_wrapper_is_sent_with_sendfile(wsgi: Any, tmp_path: Path, monkeypatch: Any) -> None:
    payload = bytes(range(256)) * 1000
    path = tmp_path / "data.bin"
    path.write_bytes(payload)
    used: list[int] = []
    original = SocketWriter.sendfile

    def spy(
        self: SocketWriter, file: Any, offset: int = 0, count: int | None = None, **kw: Any
    ) -> int:
        used.append(offset)
        return original(self, file, offset, count, **kw)

    monkeypatch.setattr(SocketWriter, "sendfile", spy)

    def app(environ: Any, start_response: Any) -> Any:
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        file = path.open("rb")
        file.seek(10)
        return environ["wsgi.file_wrapper"](file, 4096)

    _status, headers, body = split(get(wsgi(app)))
    assert headers["content-length"] == str(len(payload) - 10)
    assert body == payload[10:]
    assert used == [10]


def test_file_wrapper_of_a_non_file_is_iterated(wsgi: Any) -> None:
    import io

    def app(environ: Any, start_response: Any) -> Any:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return environ["wsgi.file_wrapper"](io.BytesIO(b"x" * 10000), 4096)

    _status, _headers, body = split(get(wsgi(app)))
    assert dechunk(body) == b"x" * 10000


def receive_until_reset(sock: socket.socket) -> bytes:
    """Read until the peer resets the connection; a clean end fails the test."""
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except ConnectionResetError:
        return received
    raise AssertionError("the connection ended cleanly: %r" % received[-40:])


# -- failures -------------------------------------------------------------------


def test_error_before_the_head_is_a_500_and_the_server_survives(wsgi: Any, capsys: Any) -> None:
    server = wsgi(plain.fail_before)
    status, _headers, body = split(get(server))
    assert status.startswith(b"HTTP/1.1 500 ")
    assert b"boom" not in body
    assert "RuntimeError: boom before the head" in capsys.readouterr().err
    assert split(get(server))[0].startswith(b"HTTP/1.1 500 ")


def test_error_after_the_head_resets_the_connection(wsgi: Any, capsys: Any) -> None:
    server = wsgi(plain.fail_after)
    with server.connect() as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        received = receive_until_reset(sock)
    assert received.startswith(b"HTTP/1.1 200 OK")
    assert not received.endswith(b"0\r\n\r\n")  # no last chunk: visibly incomplete
    assert "boom after the head" in capsys.readouterr().err


def test_start_response_with_exc_info_replaces_the_status(wsgi: Any) -> None:
    status, _headers, body = split(get(wsgi(plain.exc_info_app)))
    assert status == b"HTTP/1.1 503 Service Unavailable"
    assert body == b"sorry"


@pytest.mark.parametrize("query", ["crlf", "connection", "te", "tuple"])
def test_bad_headers_from_the_app_are_a_logged_500(wsgi: Any, capsys: Any, query: str) -> None:
    data = get(wsgi(plain.bad_header), "/?" + query)
    assert data.startswith(b"HTTP/1.1 500 ")
    assert b"Set-Cookie" not in data
    assert b"never sent" not in data
    assert "Error in the WSGI application" in capsys.readouterr().err


def test_close_is_called_when_the_client_disconnects(wsgi: Any) -> None:
    app = plain.ClosingApp()
    server = wsgi(app)
    sock = server.connect()
    sock.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    assert app.started.wait(CLIENT_TIMEOUT)
    sock.recv(1000)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    sock.close()
    assert app.closed.wait(CLIENT_TIMEOUT)
    with server.connect() as again:  # the server still serves
        again.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        assert again.recv(100).startswith(b"HTTP/1.1 200 OK")


# -- do_* methods and the application ---------------------------------------------


def test_do_methods_of_a_subclass_take_precedence(wsgi: Any) -> None:
    class Mixed(QuietWSGIHandler):
        def do_OPTIONS(self) -> None:
            if self.path == "/app":
                self.run_wsgi()
                return
            self.send_response(204)
            self.send_header("Allow", "GET, OPTIONS")
            self.end_headers()

    server = wsgi(plain.hello, Mixed)
    own = server.exchange(b"OPTIONS * HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    assert own.startswith(b"HTTP/1.1 204 ")
    assert b"Allow: GET, OPTIONS" in own
    handed_on = server.exchange(b"OPTIONS /app HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    assert handed_on.endswith(b"Hello, world!")
    assert (
        split(server.exchange(b"PURGE / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"))[2]
        == b"Hello, world!"
    )
