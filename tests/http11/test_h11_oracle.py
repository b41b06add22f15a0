"""Differential oracle: h11 must read every valid vector the way the core does.

For each vector whose expected outcome (strict or lenient) is a parsed request, h11
parses the same bytes as a server; method, target, version, header fields (in order,
original case), body, trailers and the bytes left over must agree.  Every
deliberate disagreement is listed in :data:`DISAGREEMENTS` with its reason (and in
docs/http-support.rst); a listed case that stops disagreeing fails too.
"""

from __future__ import annotations

from typing import Any

import pytest

from support.vectors import ALL, Vector

h11 = pytest.importorskip("h11")

# vector-mode -> why devserve and h11 differ on purpose.
_LENIENT = "lenient mode keeps a leniency of http.server that code written for it relies on; "
DISAGREEMENTS: dict[str, str] = {
    "chunked/ext-bws-strict": "RFC 9112 §7.1.1 allows BWS around ';' and '=' in chunk "
    "extensions; h11 wants ';' right after the size",
    "chunked/sixteen-digits-zeros-strict": "devserve bounds the significant digits of a chunk "
    "size (leading zeros carry no size); h11 caps the size field at 20 characters",
    "content-length/many-leading-zeros-strict": "devserve bounds the significant digits of "
    "Content-Length; h11 refuses a value longer than 20 characters",
    "chunked/te-empty-elements-strict": "RFC 9110 §5.6.1: empty list elements are ignored, so "
    "', ,chunked ,' is chunked; h11 wants the value to be exactly 'chunked'",
    "chunked/te-leading-comma-strict": "as te-empty-elements (A3 #7)",
    "chunked/te-trailing-comma-strict": "as te-empty-elements (A3 #7)",
    "cve/gunicorn-hg21-te-comma-strict": "as te-empty-elements (A3 #7)",
    "chunked/te-mixed-case-strict": "devserve reports field values as sent, as http.server "
    "does; h11 lower-cases the Transfer-Encoding value it reports",
    "chunked/te-upper-strict": "as te-mixed-case",
    "request-line/leading-empty-line-strict": "RFC 9112 §2.2: a server SHOULD ignore at least "
    "one empty line before the request line; h11 does not",
    "request-line/http11-missing-host-lenient": _LENIENT + "a missing Host (RFC 9112 §3.2)",
    "request-line/absolute-form-no-host-lenient": _LENIENT + "a missing Host",
    "cve/cve-2019-16785-waitress-extra-lf-first-line-lenient": _LENIENT + "bare LF line ends "
    "(the blank line ends the head, so Host is missing)",
    "fields/eof-before-blank-line-lenient": _LENIENT + "a head ended by the end of input, "
    "as http.client.parse_headers allows",
    "request-line/double-space-lenient": _LENIENT + "runs of blanks in the request line",
    "request-line/many-spaces-lenient": _LENIENT + "runs of blanks in the request line",
    "request-line/tabs-lenient": _LENIENT + "HTAB in the request line",
    "request-line/leading-space-lenient": _LENIENT + "blanks around the request line",
    "request-line/trailing-space-lenient": _LENIENT + "blanks around the request line",
    "request-line/eof-in-request-line-lenient": _LENIENT + "a request line ended by the end "
    "of input, served as it is",
    "request-line/http09-lenient": _LENIENT + "HTTP/0.9 requests",
    "request-line/http09-trailing-data-lenient": _LENIENT + "HTTP/0.9 requests",
    "request-line/version-0-9-explicit-lenient": _LENIENT + "HTTP/0.9 requests",
    "request-line/version-leading-zero-lenient": _LENIENT + "leading zeros in the version",
    "request-line/non-ascii-target-lenient": _LENIENT + "raw non-ASCII bytes in the target",
}


def h11_outcome(data: bytes) -> dict[str, Any]:
    conn = h11.Connection(h11.SERVER)
    conn.receive_data(data)
    conn.receive_data(b"")
    try:
        request = conn.next_event()
        if request is h11.NEED_DATA:
            return {"error": "incomplete head"}
        body, trailers = [], []
        while True:
            event = conn.next_event()
            if isinstance(event, h11.Data):
                body.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                trailers = [
                    [n.decode("latin-1"), v.decode("latin-1")] for n, v in event.headers.raw_items()
                ]
                break
            else:
                return {"error": f"unexpected {event!r}"}
    except h11.RemoteProtocolError as error:
        return {"error": str(error)}
    rest, _closed = conn.trailing_data
    return {
        "method": request.method.decode("latin-1"),
        "target": request.target.decode("latin-1"),
        "version": "HTTP/" + request.http_version.decode("latin-1"),
        "headers": [
            [n.decode("latin-1"), v.decode("latin-1")] for n, v in request.headers.raw_items()
        ],
        "body": b"".join(body).decode("latin-1"),
        "trailers": trailers,
        "rest": bytes(rest).decode("latin-1"),
    }


def _valid() -> list[Any]:
    cases = []
    for vector in ALL:
        for mode in ("strict", "lenient"):
            expected = vector.expected(mode)
            if "error" in expected:
                continue
            if mode == "lenient" and vector.expected("strict") == expected:
                continue  # the same outcome: compared once, as strict
            cases.append(pytest.param(vector, mode, id=f"{vector.name}-{mode}"))
    return cases


VALID = _valid()


@pytest.mark.parametrize(("vector", "mode"), VALID)
def test_h11_agrees(vector: Vector, mode: str) -> None:
    expected = vector.expected(mode)
    ours = {
        "method": expected["method"],
        "target": expected["target"],
        "version": expected["version"],
        "headers": expected["headers"],
        "body": expected["body"],
        "trailers": expected.get("trailers", []),
        "rest": expected.get("rest", ""),
    }
    theirs = h11_outcome(vector.data)
    key = f"{vector.name}-{mode}"
    if key in DISAGREEMENTS:
        assert theirs != ours, f"{key} is listed as a disagreement but h11 now agrees"
    else:
        assert theirs == ours


def test_disagreements_name_real_cases() -> None:
    ids = {param.id for param in VALID}
    assert set(DISAGREEMENTS) <= ids
