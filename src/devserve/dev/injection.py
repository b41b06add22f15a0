"""Put the live-reload script into HTML responses: files, listings and WSGI apps.

Rule 1: :func:`inject_script` is the one place that decides where the script goes:
before the last ``</body>``, else before the first ``</head>``, else at the end (HTML
lets a page omit both, and "no ``<body>``, no reload" is the live-reload bug users
report most).
Rule 2: only a whole, uncompressed ``text/html`` body in an ASCII-compatible charset is
changed, and then its ``Content-Length`` is the new length; everything else passes
byte for byte.  A changed page carries no validators (``ETag``, ``Last-Modified``) and
``Cache-Control: no-store``: a cached copy would hold the script of a server that has
gone, and a 304 for it would make the page reload for ever.
Rule 3: the library classes stay as they are; live reload reaches pages through named
hooks: :class:`PageScript` is a files handler's ``page_transform`` (which the handler
calls where it has a whole HTML page, so CGI output and every other response pass
untouched), and :class:`LiveReloadMiddleware` wraps a WSGI application.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from email.message import Message
from typing import Any

from .livereload import LiveReload

__all__ = ["LiveReloadMiddleware", "PageScript", "inject_script"]

_BODY_END = re.compile(rb"</body\s*>", re.IGNORECASE)
_HEAD_END = re.compile(rb"</head\s*>", re.IGNORECASE)
_CHARSET = re.compile(r";\s*charset\s*=\s*\"?([^\s;\"]+)", re.IGNORECASE)
# Charsets in which ASCII bytes are not ASCII text: inserting into them would corrupt.
_WIDE = ("utf-16", "utf16", "utf-32", "utf32", "ucs-2", "ucs2")
_DROPPED = ("content-length", "etag", "last-modified", "accept-ranges", "cache-control")


def inject_script(body: bytes, script: bytes) -> bytes:
    """Return *body* with *script* before ``</body>``, else ``</head>``, else at the end.

    The last ``</body>`` counts (an earlier one may sit in a comment or a script);
    tags match in any case and with spaces before ``>``.

    .. versionadded:: 0.1
    """
    ends = list(_BODY_END.finditer(body))
    match = ends[-1] if ends else _HEAD_END.search(body)
    if match is None:
        return body + script
    return body[: match.start()] + script + body[match.start() :]


def _injectable(fields: Iterable[tuple[str, str]]) -> bool:
    ctype = ""
    for name, value in fields:
        lowered = name.lower()
        if lowered == "content-encoding" and value.strip().lower() not in ("", "identity"):
            return False
        if lowered == "content-type":
            ctype = value
    if ctype.split(";", 1)[0].strip().lower() != "text/html":
        return False
    charset = _CHARSET.search(ctype)
    return charset is None or not charset[1].lower().startswith(_WIDE)


def _document_request(fetch_dest: str | None) -> bool:
    # Fetch Metadata: a page fetched by a script (htmx, fetch) is a fragment, and a
    # script put in a fragment would run again at every swap.  No header: inject.
    return fetch_dest is None or fetch_dest in ("document", "iframe", "frame", "embed", "object")


def _wide_bom(body: bytes) -> bool:
    return body.startswith((b"\xff\xfe", b"\xfe\xff"))


def _rewritten(fields: Iterable[tuple[str, str]], length: int) -> list[tuple[str, str]]:
    kept = [(n, v) for n, v in fields if n.lower() not in _DROPPED]
    return [*kept, ("Content-Length", str(length)), ("Cache-Control", "no-store")]


class PageScript:
    """Put *livereload*'s script into the pages a files handler serves.

    A :class:`~devserve.handler.hooks.PageTransform`: set it as a files handler's
    ``page_transform``.  It applies to ``text/html`` in an ASCII-compatible charset
    requested by a browser's navigation (not by a script: see
    ``_document_request()``); the handler then sends the page whole and fresh.

    .. versionadded:: 0.1
    """

    def __init__(self, livereload: LiveReload) -> None:
        self.livereload = livereload

    def applies(self, request_headers: Message, content_type: str) -> bool:
        """Whether a page of *content_type* for this request gets the script."""
        if not _document_request(request_headers.get("Sec-Fetch-Dest")):
            return False
        return _injectable([("Content-Type", content_type)])

    def transform(self, page: bytes) -> bytes:
        """Return *page* with the script in it (a page in UTF-16 or UTF-32 is left alone)."""
        return page if _wide_bom(page) else inject_script(page, self.livereload.script())


_StartResponse = Callable[..., Callable[[bytes], Any]]


class LiveReloadMiddleware:
    """WSGI middleware that puts *livereload*'s script into the HTML pages *app* returns.

    Any status and method count (an error page reloads too once fixed), but not
    a request a script made (``Sec-Fetch-Dest`` other than a document); the
    body of such a page is gathered, changed and returned as one item with its
    new ``Content-Length``.  For ``HEAD``, only the length grows.  Responses
    that are not HTML, or are compressed, pass untouched, streaming included.

    .. versionadded:: 0.1
    """

    def __init__(self, app: Callable[..., Iterable[bytes]], livereload: LiveReload) -> None:
        self.app = app
        self.livereload = livereload

    def __call__(self, environ: dict[str, Any], start_response: _StartResponse) -> Iterable[bytes]:
        """Run the application, holding back the head of an HTML page until its end."""
        if not _document_request(environ.get("HTTP_SEC_FETCH_DEST")):
            return self.app(environ, start_response)
        state: dict[str, Any] = {}
        chunks: list[bytes] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            status_code = status[:3]
            # 204 and 304 have no body; a 206 is part of a page, not a page.
            if _injectable(headers) and status_code not in ("204", "206", "304"):
                state["head"] = (status, headers, exc_info)
                return chunks.append
            state.pop("head", None)
            state["passed"] = True
            return start_response(status, headers, exc_info)

        result = self.app(environ, capture)
        if "passed" in state:
            return result
        if "head" not in state:
            # The head comes with the first item (a generator): decide then.
            return self._deferred(environ, result, state, chunks, start_response)
        try:
            chunks.extend(result)
        finally:
            _close(result)
        return self._finish(environ, state["head"], chunks, start_response)

    def _deferred(
        self,
        environ: dict[str, Any],
        result: Iterable[bytes],
        state: dict[str, Any],
        chunks: list[bytes],
        start_response: _StartResponse,
    ) -> Iterator[bytes]:
        try:
            iterator = iter(result)
            first = next(iterator, None)
            if "head" not in state:
                if first is not None:
                    yield first
                yield from iterator
                return
            chunks.append(first or b"")
            chunks.extend(iterator)
        finally:
            _close(result)
        yield from self._finish(environ, state["head"], chunks, start_response)

    def _finish(
        self,
        environ: dict[str, Any],
        head: tuple[str, list[tuple[str, str]], Any],
        chunks: list[bytes],
        start_response: _StartResponse,
    ) -> list[bytes]:
        status, headers, exc_info = head
        if environ.get("REQUEST_METHOD") == "HEAD":
            # No body to change: only the length the GET would have grows.
            length = next((v for n, v in headers if n.lower() == "content-length"), "")
            if length.strip().isdecimal():
                grown = int(length) + len(self.livereload.script())
                start_response(status, _rewritten(headers, grown), exc_info)
            else:
                start_response(status, headers, exc_info)
            return []
        body = b"".join(chunks)
        if not _wide_bom(body):
            body = inject_script(body, self.livereload.script())
        start_response(status, _rewritten(headers, len(body)), exc_info)
        return [body]


def _close(result: Any) -> None:
    close = getattr(result, "close", None)
    if close is not None:
        close()
