"""Request targets: the four forms of RFC 9112 §3.2, and the path a file server maps."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devserve.http11.target import Target, below_prefix, check_prefix, origin_form, split_target


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


@pytest.mark.parametrize(
    ("target", "prefix", "below"),
    [
        ("/static/a.css?v=2", "/static", "/a.css?v=2"),
        ("/static", "/static", "/"),
        ("/static?x", "/static", "/?x"),
        ("/static/", "/static", "/"),
        ("/staticfiles/a", "/static", None),
        ("/stat", "/static", None),
        ("/other/static/a", "/static", None),
        ("http://h/api/v1?q", "/api", "/v1?q"),
        ("/a/b/c", "/a/b", "/c"),
        ("/anything", "", "/anything"),
        ("/st%61tic/a", "/static", None),
    ],
    ids=[
        "below", "itself", "itself-query", "itself-slash", "longer-name", "shorter",
        "not-at-start", "absolute-form", "two-segments", "root", "encoded-not-matched",
    ],
)  # fmt: skip
def test_below_prefix(target: str, prefix: str, below: str | None) -> None:
    assert below_prefix(target, prefix) == below


_SEGMENT = st.text("abcxyz-_.~0", min_size=1, max_size=6)


@given(st.lists(_SEGMENT, min_size=1, max_size=3), st.lists(_SEGMENT, max_size=3), st.booleans())
def test_below_prefix_gives_back_the_rest(
    prefix_parts: list[str], rest_parts: list[str], query: bool
) -> None:
    prefix = "/" + "/".join(prefix_parts)
    rest = "/" + "/".join(rest_parts) + ("?q=1" if query else "")
    assert below_prefix(prefix + rest, prefix) == rest
    # A name that merely starts like the prefix is never under it.
    assert below_prefix(prefix + "x" + rest, prefix) is None


@pytest.mark.parametrize(
    ("given", "prefix"), [("/static", "/static"), ("/static/", "/static"), ("/a/b/", "/a/b")]
)
def test_check_prefix_normalises(given: str, prefix: str) -> None:
    assert check_prefix(given) == prefix


@pytest.mark.parametrize("bad", ["/", "", "static", "/a?b", "/a#b", "/a%2Fb", "/a//b"])
def test_check_prefix_refuses(bad: str) -> None:
    with pytest.raises(ValueError, match="mount prefix"):
        check_prefix(bad)
