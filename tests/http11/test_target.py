"""Request targets: the four forms of RFC 9112 §3.2, and the path a file server maps."""

from __future__ import annotations

import pytest

from devserve.http11.target import Target, origin_form, split_target


@pytest.mark.parametrize(
    ("target", "path", "query", "authority"),
    [
        ("/a?b", "/a", "b", None),
        ("http://h:1/p%20q?x", "/p%20q", "x", "h:1"),
        ("http://user@h", "/", "", "h"),
        ("*", "", "", None),
        ("h:443", "", "", None),
    ],
    ids=["origin", "absolute", "absolute-no-path", "asterisk", "authority"],
)
def test_split_target(target: str, path: str, query: str, authority: str | None) -> None:
    assert split_target(target) == Target(path, query, authority)


@pytest.mark.parametrize(
    ("target", "origin"),
    [
        ("/a?b", "/a?b"),
        ("http://h/a?b", "/a?b"),
        ("http://h", "/"),
        ("http://h?x", "/?x"),
        ("https://u@h:8443/p/q?", "/p/q?"),
        ("*", "*"),
        ("h:443", "h:443"),
        ("x:/y", "x:/y"),
    ],
    ids=[
        "origin",
        "absolute",
        "no-path",
        "query-only",
        "userinfo-port",
        "asterisk",
        "authority",
        "not-absolute",
    ],
)
def test_origin_form_keeps_path_and_query(target: str, origin: str) -> None:
    assert origin_form(target) == origin
