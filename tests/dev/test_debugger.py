"""The debugger behind ``--debug``: a traceback page for a failing app, the hosts it trusts."""

from __future__ import annotations

from typing import Any

from apps import plain
from devserve.dev.debugger import debug_app, served_hosts
from support.wsgi import split


def test_debugger_shows_a_traceback_page_and_prints_the_pin(
    wsgi: Any,
    capsys: Any,
    monkeypatch: Any,
) -> None:
    monkeypatch.setenv("WERKZEUG_DEBUG_PIN", "123-456-789")
    app = debug_app(plain.fail_before, ["127.0.0.1"])
    assert "Debugger PIN: 123-456-789" in capsys.readouterr().err
    data = wsgi(app).exchange(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    status, _, body = split(data)
    assert status.startswith(b"HTTP/1.1 500")
    assert b"boom before the head" in body
    assert b"Traceback" in body


def test_served_hosts_trust_what_is_bound_never_a_wildcard() -> None:
    assert served_hosts(["192.0.2.7"]) == ["192.0.2.7"]
    assert served_hosts(["::1"]) == ["[::1]"]
    names = served_hosts(["0.0.0.0"])
    assert "0.0.0.0" not in names
    assert names
