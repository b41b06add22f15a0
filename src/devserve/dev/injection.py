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
Rule 3: the library classes stay as they are; live reload is
:class:`LiveReloadMixin` on a files handler, :class:`LiveReloadWSGIMixin` on a WSGI
handler and :class:`LiveReloadMiddleware` around the application.
"""

from __future__ import annotations

import io
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from .livereload import ENDPOINT, LiveReload

__all__ = ["LiveReloadMiddleware", "LiveReloadMixin", "LiveReloadWSGIMixin", "inject_script"]

_BODY_END = re.compile(rb"</body\s*>", re.IGNORECASE)
_HEAD_END = re.compile(rb"</head\s*>", re.IGNORECASE)
_CHARSET = re.compile(r";\s*charset\s*=\s*\"?([^\s;\"]+)", re.IGNORECASE)
# Charsets in which ASCII bytes are not ASCII text: inserting into them would corrupt.
_WIDE = ("utf-16", "utf16", "utf-32", "utf32", "ucs-2", "ucs2")
_DROPPED = ("content-length", "etag", "last-modified", "accept-ranges", "cache-control")
# Request fields that would give a 304 or a part of the file instead of a whole page.
_CONDITIONS = ("If-None-Match", "If-Modified-Since", "If-Range", "Range", "Accept-Encoding")


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


@dataclass
class _Head:
    """A response head held back until the body is known."""

    code: int | None = None
    message: str | None = None
    fields: list[tuple[str, str]] = field(default_factory=list)
    held: bool = False


def _is_endpoint(path: str) -> bool:
    return path.partition("?")[0] == ENDPOINT


def _scheme(handler: Any) -> str:
    ssl = sys.modules.get("ssl")
    return "https" if ssl is not None and isinstance(handler.connection, ssl.SSLSocket) else "http"


class LiveReloadMixin:
    """Mix-in for :class:`~devserve.SimpleHTTPRequestHandler`: live reload for files.

    With :attr:`livereload` set, ``200`` HTML responses (pages and listings)
    to a browser's navigation get its script, and
    :data:`~devserve.dev.livereload.ENDPOINT` is answered with its event stream.
    Put it before the handler class in the bases.

    .. versionadded:: 0.1
    """

    #: The :class:`~devserve.dev.livereload.LiveReload` to use, or ``None`` for none.
    livereload: LiveReload | None = None
    _held: _Head | None = None

    def do_GET(self) -> None:
        """Serve the event stream at its path; everything else as the base class does."""
        if self.livereload is not None and _is_endpoint(self.path):  # type: ignore[attr-defined]
            self.livereload.serve_events(self, _scheme(self))
            return
        super().do_GET()  # type: ignore[misc]

    def do_HEAD(self) -> None:
        """Answer ``HEAD`` as ``GET`` is answered, without a body."""
        if self.livereload is not None and _is_endpoint(self.path):  # type: ignore[attr-defined]
            self.livereload.serve_events(self, _scheme(self))
            return
        super().do_HEAD()  # type: ignore[misc]

    def send_head(self) -> BinaryIO | None:
        """Send the head as the base class does, with the script in an HTML body."""
        livereload = self.livereload
        headers: Any = self.headers  # type: ignore[attr-defined]
        if livereload is None or not _document_request(headers.get("Sec-Fetch-Dest")):
            return super().send_head()  # type: ignore[misc,no-any-return]
        self._forget_conditions()
        head = self._held = _Head()
        try:
            f: BinaryIO | None = super().send_head()  # type: ignore[misc]
        finally:
            self._held = None
        if not head.held:
            return f
        try:
            body = f.read() if f is not None else b""
        finally:
            if f is not None:
                f.close()
        if not _wide_bom(body):
            body = inject_script(body, livereload.script())
        self._replay(head, _rewritten(head.fields, len(body)))
        return io.BytesIO(body)

    def _forget_conditions(self) -> None:
        # A page must come whole and fresh: see Rule 2.
        handler: Any = self
        target = handler.translate_path(handler.path)
        accept = handler.headers.get("Accept") or ""
        page = os.path.isdir(target) or handler.guess_type(target) == "text/html"
        if page or "text/html" in accept:
            for name in _CONDITIONS:
                del handler.headers[name]

    def _replay(self, head: _Head, fields: list[tuple[str, str]]) -> None:
        assert head.code is not None
        sup: Any = super()
        sup.send_response_only(head.code, head.message)
        for name, value in fields:
            sup.send_header(name, value)
        sup.end_headers()

    def send_response_only(self, code: int, message: str | None = None) -> None:
        """Buffer the status line (held back while a page's head is being decided)."""
        head = self._held
        if head is None:
            super().send_response_only(code, message)  # type: ignore[misc]
            return
        head.code, head.message, head.fields = code, message, []

    def send_header(self, keyword: str, value: Any) -> None:
        """Buffer a header field (held back while a page's head is being decided)."""
        head = self._held
        if head is None or head.code is None:
            super().send_header(keyword, value)  # type: ignore[misc]
            return
        head.fields.append((keyword, str(value)))

    def end_headers(self) -> None:
        """End the head; one of an HTML page waits until the page has its script."""
        head = self._held
        if head is None or head.code is None:
            super().end_headers()  # type: ignore[misc]
            return
        if head.code == 200 and _injectable(head.fields):
            head.held = True
            return
        self._held = None  # not a page: it goes out as it is, and so does its body
        self._replay(head, head.fields)


class LiveReloadWSGIMixin:
    """Mix-in for :class:`~devserve.WSGIHandler`: answer the event stream before the app.

    Wrap the application in :class:`LiveReloadMiddleware` for its pages.

    .. versionadded:: 0.1
    """

    #: The :class:`~devserve.dev.livereload.LiveReload` to use, or ``None`` for none.
    livereload: LiveReload | None = None

    def run_wsgi(self) -> None:
        """Serve the event stream at its path; run the application for the rest."""
        handler: Any = self
        if self.livereload is not None and _is_endpoint(handler.path):
            self.livereload.serve_events(self, _scheme(self))
            return
        super().run_wsgi()  # type: ignore[misc]


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
            if _injectable(headers) and status_code not in ("204", "304"):
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
