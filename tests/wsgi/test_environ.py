"""build_environ() as a pure function: parsed heads in, PEP 3333 environs out."""

from __future__ import annotations

import io
import os
from typing import Any
from wsgiref.validate import validator

import pytest

from devserve.http11 import parse_request_head
from devserve.wsgi.environ import OutsideScriptName, build_environ

BASE = {
    "SERVER_NAME": "127.0.0.1",
    "SERVER_PORT": "8000",
    "SERVER_SOFTWARE": "devserve/test",
    "GATEWAY_INTERFACE": "CGI/1.1",
    "SCRIPT_NAME": "",
    "wsgi.multithread": True,
    "wsgi.multiprocess": False,
}


def environ_for(raw: bytes, *, base: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
    head, _ = parse_request_head(raw)
    return build_environ(
        head,
        client_address=("127.0.0.1", 54321),
        base=BASE if base is None else base,
        wsgi_input=io.BytesIO(),
        **kwargs,
    )


def test_environ_passes_wsgiref_validate() -> None:
    environ = environ_for(
        b"POST /a/b?x=1 HTTP/1.1\r\nHost: h\r\nContent-Type: text/plain\r\n"
        b"Content-Length: 0\r\n\r\n"
    )
    seen = []

    def app(environ: Any, start_response: Any) -> Any:
        seen.append(environ)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b""]

    result = validator(app)(environ, lambda status, headers, exc_info=None: None)
    list(result)
    result.close()  # type: ignore[attr-defined]
    assert seen
    for key, value in environ.items():
        if "." not in key:
            assert type(value) is str, key


def test_every_pep_3333_key_is_present() -> None:
    environ = environ_for(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    for key in ("REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "SERVER_NAME",
                "SERVER_PORT", "SERVER_PROTOCOL", "wsgi.version", "wsgi.url_scheme",
                "wsgi.input", "wsgi.errors", "wsgi.multithread", "wsgi.multiprocess",
                "wsgi.run_once"):  # fmt: skip
        assert key in environ, key
    assert environ["wsgi.version"] == (1, 0)
    assert environ["REMOTE_PORT"] == "54321"


@pytest.mark.parametrize(
    ("target", "path_info"),
    [
        (b"/%FF", "\xff"),
        (b"/caf%C3%A9", "caf\xc3\xa9"),
        (b"/a%2Fb", "a/b"),
        (b"/%25", "%"),
        (b"/%zz", "%zz"),
        (b"//double", "/double"),
    ],
    ids=["ff", "utf8-bytes", "encoded-slash", "percent", "bad-escape", "double-slash"],
)
def test_path_info_is_lossless_latin_1(target: bytes, path_info: str) -> None:
    environ = environ_for(b"GET " + target + b" HTTP/1.1\r\nHost: h\r\n\r\n")
    assert environ["PATH_INFO"] == "/" + path_info
    assert environ["REQUEST_URI"] == target.decode()
    assert environ["PATH_INFO"].encode("latin-1")  # every byte round-trips


def test_query_string_is_raw() -> None:
    environ = environ_for(b"GET /?a=%41+b&c HTTP/1.1\r\nHost: h\r\n\r\n")
    assert environ["QUERY_STRING"] == "a=%41+b&c"


def test_duplicate_headers_are_joined_and_underscores_dropped() -> None:
    dropped: list[str] = []
    environ = environ_for(
        b"GET / HTTP/1.1\r\nHost: h\r\nAccept: a\r\naccept: b\r\nX_Forwarded_For: 6.6.6.6\r\n"
        b"X-Forwarded-For: 1.2.3.4\r\n\r\n",
        on_dropped=dropped.append,
    )
    assert environ["HTTP_ACCEPT"] == "a, b"
    assert environ["HTTP_X_FORWARDED_FOR"] == "1.2.3.4"
    assert dropped == ["X_Forwarded_For"]


def test_content_type_and_length_are_never_invented() -> None:
    environ = environ_for(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    assert "CONTENT_TYPE" not in environ
    assert "CONTENT_LENGTH" not in environ
    assert "HTTP_CONTENT_TYPE" not in environ
    posted = environ_for(
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Type: a/b\r\nContent-Length: 007\r\n\r\n"
    )
    assert posted["CONTENT_TYPE"] == "a/b"
    assert posted["CONTENT_LENGTH"] == "7"
    assert "HTTP_CONTENT_LENGTH" not in posted


def test_chunked_request_has_no_content_length_but_is_terminated() -> None:
    environ = environ_for(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n")
    assert "CONTENT_LENGTH" not in environ
    assert environ["wsgi.input_terminated"] is True


def test_no_process_environment_leaks(monkeypatch: Any) -> None:
    monkeypatch.setenv("DEVSERVE_LEAK_CHECK", "secret")
    environ = environ_for(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    assert "DEVSERVE_LEAK_CHECK" not in environ
    assert not set(os.environ) & set(environ)  # no PATH, HOME, tokens...


def test_base_is_copied_not_mutated() -> None:
    base = dict(BASE)
    environ_for(b"GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n\r\n", base=base)
    assert base == BASE


def test_absolute_form_replaces_host() -> None:
    environ = environ_for(b"GET http://other:81/x HTTP/1.1\r\nHost: h\r\n\r\n")
    assert environ["HTTP_HOST"] == "other:81"
    assert environ["PATH_INFO"] == "/x"


def test_asterisk_form_has_empty_path() -> None:
    environ = environ_for(b"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n")
    assert environ["PATH_INFO"] == ""
    assert environ["REQUEST_URI"] == "*"


@pytest.mark.parametrize(
    ("target", "path_info"),
    [("/app", ""), ("/app/", "/"), ("/app/x%2Fy", "/x/y")],
    ids=["exact", "slash", "below"],
)
def test_script_name_is_split_off(target: str, path_info: str) -> None:
    base = {**BASE, "SCRIPT_NAME": "/app"}
    environ = environ_for(b"GET %s HTTP/1.1\r\nHost: h\r\n\r\n" % target.encode(), base=base)
    assert environ["SCRIPT_NAME"] == "/app"
    assert environ["PATH_INFO"] == path_info


@pytest.mark.parametrize("target", ["/", "/apple", "/other/app"])
def test_paths_outside_script_name_raise(target: str) -> None:
    base = {**BASE, "SCRIPT_NAME": "/app"}
    with pytest.raises(OutsideScriptName):
        environ_for(b"GET %s HTTP/1.1\r\nHost: h\r\n\r\n" % target.encode(), base=base)


def test_connection_and_scheme_are_passed_through() -> None:
    marker = object()
    environ = environ_for(
        b"GET / HTTP/1.0\r\n\r\n", connection=marker, url_scheme="https", errors=io.StringIO()
    )
    assert environ["devserve.socket"] is marker
    assert environ["wsgi.url_scheme"] == "https"
    assert environ["SERVER_PROTOCOL"] == "HTTP/1.0"
    assert isinstance(environ["wsgi.errors"], io.StringIO)


def test_unix_socket_peer_gives_empty_address() -> None:
    head, _ = parse_request_head(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    environ = build_environ(head, client_address="", base=BASE, wsgi_input=io.BytesIO())
    assert environ["REMOTE_ADDR"] == environ["REMOTE_PORT"] == ""
