"""If-Modified-Since, decided once in the core (the files handler and CGI ask it)."""

from __future__ import annotations

import pytest

from devserve.http11.conditional import modified_since

MTIME = 1_700_000_000.25  # Tue, 14 Nov 2023 22:13:20.25 GMT


@pytest.mark.parametrize(
    ("value", "modified"),
    [
        ("Tue, 14 Nov 2023 22:13:20 GMT", False),  # the same second: not modified
        ("Tue, 14 Nov 2023 22:13:21 GMT", False),
        ("Tue, 14 Nov 2023 22:13:19 GMT", True),
        ("Tue, 14 Nov 2023 22:13:20", False),  # no zone counts as GMT
        ("Tue, 14 Nov 2023 23:13:20 +0100", True),  # another zone: not compared, as http.server
        ("yesterday", True),  # does not parse: send the whole resource
        ("", True),
    ],
    ids=["same-second", "later", "earlier", "no-zone", "other-zone", "garbage", "empty"],
)
def test_modified_since_compares_whole_seconds_in_gmt(value: str, modified: bool) -> None:
    assert modified_since(value, MTIME) is modified
