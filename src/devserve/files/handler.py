"""SimpleHTTPRequestHandler: serve files and directory listings from a directory.

Rule 1: the class is a drop-in for :class:`http.server.SimpleHTTPRequestHandler`: its
documented attributes, methods and defaults are kept (symlinks followed, dotfiles
served, HTTP/1.0, no ``Cache-Control``), and
:meth:`~devserve.SimpleHTTPRequestHandler.translate_path` maps a URL to a file exactly
as the stdlib does, looking ``os.path`` up at call time.
Rule 2: each behaviour that is better but different is one class attribute
(:attr:`~devserve.SimpleHTTPRequestHandler.etags`,
:attr:`~devserve.SimpleHTTPRequestHandler.strict_paths`, ...); devserve's command line
turns the safer ones on in a subclass.
Rule 3: purely additive HTTP features are on here too: ``Range``/``If-Range``
(a client that sends ``Range`` understands 206), JSON listings for clients that ask,
and bodies sent with ``sendfile``; parsing of those headers lives in
:mod:`devserve.http11`, path checks in :mod:`devserve.files.paths`, pages in
:mod:`devserve.files.listing`.
"""

from __future__ import annotations

import html
import io
import mimetypes
import os
import posixpath
import re
import stat
import time
import urllib.parse
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, BinaryIO, ClassVar, cast

from ..handler.base import BaseHTTPRequestHandler
from ..http11.conditional import make_etag, modified_since, none_match, range_condition_holds
from ..http11.fields import TOKEN_TEXT
from ..http11.target import origin_form
from ..net.contract import AnswerHost, conforms
from .answer import CachedAnswer, split_at_date
from .body import FileBody, copy_range
from .cache import CachedFile, FileCache
from .paths import contained, hidden_segment, request_segments, unquote_path, windows_trick

if TYPE_CHECKING:
    from typing_extensions import Self

    from ..handler.hooks import PageTransform
    from ..http11.head import RequestHead

__all__ = ["SimpleHTTPRequestHandler"]

_COPY_CHUNK = 65536
# Coding -> file suffix of a precompressed sibling, in order of preference.
_SIBLINGS = (("br", ".br"), ("gzip", ".gz"))
_HEADER_LIST = re.compile(TOKEN_TEXT + r"(?:[ \t]*,[ \t]*" + TOKEN_TEXT + ")*")
_ASCII_SPACE = " \t\n\r\x0b\x0c"
_EXPOSED = "Content-Range, Content-Length, Content-Encoding, Accept-Ranges, ETag, Last-Modified"


class SimpleHTTPRequestHandler(BaseHTTPRequestHandler):
    """Serve the files under :attr:`directory` for ``GET`` and ``HEAD`` requests.

    This is :class:`http.server.SimpleHTTPRequestHandler`: a directory is
    answered with its first :attr:`index_pages` file or a listing, a directory
    URL without its trailing slash is redirected (301), and a file is sent with
    ``Content-type`` (from :meth:`guess_type`), ``Content-Length`` and
    ``Last-Modified``; ``If-Modified-Since`` gives 304.  *directory* defaults
    to the current directory at the time of the request; *response_headers*
    (a mapping or pairs) are added to every final response.

    Beyond :mod:`http.server`, and on here: ``Range`` (206, multiple ranges as
    ``multipart/byteranges``, 416), ``If-Range``, ``Accept-Ranges``, JSON
    listings for ``Accept: application/json``, a sortable listing with sizes
    and dates, bodies sent with :func:`os.sendfile`.  Off here, on in devserve's
    command line: :attr:`etags`, :attr:`cache_control`, :attr:`precompressed`,
    :attr:`strict_paths`, hidden dotfiles, symlink containment.

    .. versionchanged:: 0.1
       *response_headers* as in Python 3.15.
    """

    server_version = "SimpleHTTP/0.6"
    #: The files served for a directory, the first that exists.
    index_pages: ClassVar[tuple[str, ...]] = ("index.html", "index.htm")
    #: Extensions mapped to ``Content-type`` before :mod:`mimetypes` is asked.
    extensions_map: ClassVar[dict[str, str]] = {
        ".gz": "application/gzip",
        ".Z": "application/octet-stream",
        ".bz2": "application/x-bzip2",
        ".xz": "application/x-xz",
    }
    _encodings_map_default = extensions_map
    #: The ``Content-type`` of a file whose type cannot be guessed from its name
    #: (Python 3.15's attribute and ``--content-type``).
    #:
    #: .. versionadded:: 0.1
    default_content_type = "application/octet-stream"

    #: Answer ``Range`` requests with 206 (at most :attr:`max_ranges` ranges).
    #: Subclasses whose ``do_GET`` copies the file returned by :meth:`send_head`
    #: themselves should turn it off.
    #:
    #: .. versionadded:: 0.1
    range_requests = True
    #: More ranges than this in one request and ``Range`` is ignored (200).
    #:
    #: .. versionadded:: 0.1
    max_ranges = 100
    #: Send a strong ``ETag`` and answer ``If-None-Match`` with 304.  Off here
    #: because :mod:`http.server` ignores ``If-None-Match: *``; on in the command line.
    #:
    #: .. versionadded:: 0.1
    etags = False
    #: The ``Cache-Control`` value for files and listings, or ``None`` for none.
    #:
    #: .. versionadded:: 0.1
    cache_control: str | None = None
    #: Serve ``NAME.br`` or ``NAME.gz`` for ``NAME`` when ``Accept-Encoding``
    #: allows it and the sibling is not older than ``NAME``; adds ``Vary``.
    #:
    #: .. versionadded:: 0.1
    precompressed = False
    #: Answer ``Accept: application/json`` on a directory with a JSON listing.
    #:
    #: .. versionadded:: 0.1
    json_listing = True
    #: Serve and list names starting with a dot (``.well-known`` always is).
    #:
    #: .. versionadded:: 0.1
    serve_dotfiles = True
    #: Serve files whose real path (symlinks resolved) is outside :attr:`directory`.
    #:
    #: .. versionadded:: 0.1
    allow_symlink_escape = True
    #: Refuse (400) paths that are tricks on Windows, on every platform: ``..``
    #: segments, ``\\``, ``:``, trailing dots and spaces, device names.
    #:
    #: .. versionadded:: 0.1
    strict_paths = False
    #: A file (relative to :attr:`directory`) served instead of a 404 to a ``GET``
    #: for a missing path that looks like a page (single-page applications).
    #:
    #: .. versionadded:: 0.1
    spa_fallback: str | None = None
    #: ``Access-Control-Allow-Origin`` value for every response, and preflight
    #: ``OPTIONS`` answered, or ``None``.
    #:
    #: .. versionadded:: 0.1
    cors_origin: str | None = None
    #: A file (relative to :attr:`directory`) sent as the body of 404 responses.
    #:
    #: .. versionadded:: 0.1
    not_found_page: str | None = None

    #: A hook that rewrites the HTML pages this handler serves (a whole ``200``
    #: page or listing, to a request it :meth:`~devserve.handler.hooks.PageTransform.applies`
    #: to), or ``None``.  Such a page is sent whole and fresh: no ``Range``, no
    #: ``304``, no precompressed sibling, no validators, ``Cache-Control: no-store``.
    #: Live reload uses it to add its script.
    #:
    #: .. versionadded:: 0.1
    page_transform: ClassVar[PageTransform | None] = None

    #: A :class:`~devserve.files.cache.FileCache` keeping small unchanged files in
    #: memory (validated by ``stat`` on every request), or ``None`` to open and
    #: read each time as the stdlib does.  Off here; on in devserve's command line.
    #:
    #: .. versionadded:: 0.1
    file_cache: FileCache | None = None

    #: The directory served when the constructor is given none, or ``None`` for the
    #: current directory at the time of the request (devserve's command line sets it).
    #:
    #: .. versionadded:: 0.1
    default_directory: ClassVar[str | None] = None

    #: Headers added to every final response (the constructor's *response_headers*).
    response_headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None
    #: Whether a 404 for a hidden dotfile or a symlink out of the directory says so,
    #: and names the command-line flag that serves it (page and log); off here, as
    #: :mod:`http.server` says only ``File not found``, on in devserve's command line.
    #:
    #: .. versionadded:: 0.1
    explain_refusals = False
    #: The ``charset`` given with ``text/*`` types, or ``None`` (:mod:`http.server`'s
    #: bare ``text/plain``, which browsers may show as mojibake); ``"utf-8"`` in
    #: devserve's command line.
    #:
    #: .. versionadded:: 0.1
    text_charset: str | None = None

    _plan: FileBody | None = None
    _vary: tuple[str, ...] = ()
    # What a response from the cache was made of, to offer the server (see _offer_answer).
    _answerable: tuple[str, CachedFile, list[str], tuple[str, ...]] | None = None

    def __init__(
        self,
        *args: Any,
        directory: str | os.PathLike[str] | None = None,
        response_headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        **kwargs: Any,
    ) -> None:
        #: The directory served, as a string; *directory*, else :attr:`default_directory`,
        #: else the current directory.
        self.directory = os.fspath(directory or self.default_directory or os.getcwd())
        #: Headers added to every final response: a mapping, ``(name, value)``
        #: pairs, or ``None``.
        self.response_headers = response_headers
        super().__init__(*args, **kwargs)

    @classmethod
    def for_request_of(cls, handler: BaseHTTPRequestHandler, mount_prefix: str = "") -> Self:
        """Return a handler of this class for *handler*'s request (see the base class).

        Its :attr:`directory` is :attr:`default_directory`, else the current directory,
        as the constructor would set it without *directory*.
        """
        new = super().for_request_of(handler, mount_prefix)
        new.directory = os.fspath(cls.default_directory or os.getcwd())
        return new

    # -- methods --------------------------------------------------------------

    def do_GET(self) -> None:
        """Serve a ``GET`` request: the head from :meth:`send_head`, then the body."""
        f = self.send_head()
        if self._answerable is not None:
            # Before the body leaves: the client's next request may follow it at once.
            self._offer_answer(self._plan)
        if f:
            try:
                self._send_body(f)
            finally:
                f.close()

    def do_HEAD(self) -> None:
        """Serve a ``HEAD`` request: what ``GET`` would send, without the body."""
        f = self.send_head()
        if f:
            f.close()
        if self._answerable is not None:
            self._offer_answer(None)

    def do_OPTIONS(self) -> None:
        """Answer a CORS preflight when :attr:`cors_origin` is set; otherwise 501.

        .. versionadded:: 0.1
        """
        if self.cors_origin is None:
            self.send_error(HTTPStatus.NOT_IMPLEMENTED, "Unsupported method (%r)" % self.command)
            return
        self.send_response(HTTPStatus.NO_CONTENT)
        self.send_header("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
        requested = self.headers.get("Access-Control-Request-Headers")
        if requested is not None and _HEADER_LIST.fullmatch(requested.strip(" \t")):
            self.send_header("Access-Control-Allow-Headers", requested.strip(" \t"))
        self.send_header("Access-Control-Max-Age", "600")
        self.send_header("Content-Length", "0")
        self.end_headers()

    # -- responses ------------------------------------------------------------

    def send_response(self, code: int, message: str | None = None) -> None:
        """Start a response; final ones also get CORS and :attr:`response_headers`."""
        super().send_response(code, message)
        if code >= 200:
            if self.cors_origin is not None:
                self.send_header("Access-Control-Allow-Origin", self.cors_origin)
                self.send_header("Access-Control-Expose-Headers", _EXPOSED)
            extra = self.response_headers
            if extra:
                pairs = extra.items() if isinstance(extra, Mapping) else extra
                for name, value in pairs:
                    self.send_header(name, value)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Send an error reply; a 404 uses :attr:`not_found_page` when it exists."""
        page = self.not_found_page
        if code == HTTPStatus.NOT_FOUND and page and self.command in ("GET", "HEAD"):
            path = os.path.join(self.directory, page)
            try:
                f = open(path, "rb")  # noqa: SIM115 -- closed by the with below
            except OSError:
                pass
            else:
                with f:
                    size = os.fstat(f.fileno()).st_size
                    self.log_error("code %d, message %s", code, message or "Not Found")
                    self.send_response(code, message)
                    self.send_header("Content-type", self.guess_type(path))
                    self.send_header("Content-Length", str(size))
                    self.end_headers()
                    if self.command == "GET" and not copy_range(
                        f, 0, size, self.wfile, self.socket_writer()
                    ):
                        self.close_connection = True
                return
        nearest = self._nearest_listing() if code == HTTPStatus.NOT_FOUND else None
        if nearest is not None:
            # Said on the page only: the log line stays the stdlib's.
            self.error_message_format = _with_link(type(self).error_message_format, nearest)
            try:
                super().send_error(code, message, explain)
            finally:
                del self.error_message_format
            return
        super().send_error(code, message, explain)

    def _nearest_listing(self) -> str | None:
        """The URL of the nearest directory above a missing path (:attr:`explain_refusals`)."""
        if not self.explain_refusals or self.command not in ("GET", "HEAD"):
            return None
        path = urllib.parse.urlsplit(self.served_path()).path
        parts = path.split("/")[1:-1]  # the parents of the last segment
        while True:
            parent = "/" + "".join(part + "/" for part in parts)
            local = self.translate_path(parent)
            if (
                parent != path
                and os.path.isdir(local)
                and self._inside_root(local)
                and (self.serve_dotfiles or not hidden_segment(request_segments(parent)))
            ):
                return self.mount_prefix + parent
            if not parts:
                return None
            parts.pop()

    def send_head(self) -> BinaryIO | None:
        """Send the status line and headers for the request; return the body's file.

        Returns an open file (the caller closes it), a file-like object holding
        a listing, or ``None`` when the response is complete already (errors,
        redirects, 304, 416).
        """
        self._plan = None
        self._vary = ()
        self._answerable = None
        url = self.served_path()
        segments = request_segments(url)
        if self.strict_paths:
            reason = windows_trick(segments)
            if reason is not None:
                self.send_error(HTTPStatus.BAD_REQUEST, "Refused path (%s)" % reason)
                return None
        if not self.serve_dotfiles and hidden_segment(segments):
            self.send_error(HTTPStatus.NOT_FOUND, self._refusal(_HIDDEN))
            return None
        path = self.translate_path(url)
        info = _stat(path)
        passed: tuple[str, ...] = ()  # index pages looked for before the one served
        if info is not None and stat.S_ISDIR(info.st_mode):
            if not self._inside_root(path):
                self.send_error(HTTPStatus.NOT_FOUND, self._refusal(_ESCAPING))
                return None
            parts = urllib.parse.urlsplit(self.path)
            if not parts.path.endswith(("/", "%2f", "%2F")):
                # Relative links in the page need the slash; Apache redirects likewise.
                self.send_response(HTTPStatus.MOVED_PERMANENTLY)
                location = urllib.parse.urlunsplit(
                    (parts.scheme, parts.netloc, self.mount_prefix + parts.path + "/",
                     parts.query, parts.fragment)
                )  # fmt: skip
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            for name in self.index_pages:
                index = os.path.join(path, name)
                index_info = _stat(index)
                if index_info is not None and stat.S_ISREG(index_info.st_mode):
                    path, info = index, index_info
                    break
                passed += (index,)
            else:
                return self.list_directory(path)
        fallback = self.spa_fallback if info is None else None
        if fallback and self._wants_page(segments):
            path = os.path.join(self.directory, fallback)
            info = _stat(path)
        else:
            fallback = None
        if info is None or not stat.S_ISREG(info.st_mode):
            # Non-regular files too: opening a FIFO would block this thread for good.
            self.send_error(HTTPStatus.NOT_FOUND, "File not found")
            return None
        cache = self.file_cache
        cached = cache.get(path, info) if cache is not None else None
        if cached is None and not self._inside_root(path):
            # A cached entry was inside the root when read, and is the same file still.
            self.send_error(HTTPStatus.NOT_FOUND, self._refusal(_ESCAPING))
            return None
        if cached is not None and cached.content_type is not None:
            ctype = cached.content_type
        else:
            ctype = self._with_charset(self.guess_type(path))
        if self._transforms_page(ctype):
            return self._send_page(path, ctype, cached)
        coding, served = self._choose_coding(path, info)
        if cache is not None and coding is None:
            if cached is None:
                cached = cache.load(path, info)
            if cached is not None:
                cached.content_type = ctype
                if fallback is None:  # a fallback page stands for a path that may appear
                    self._answerable = (path, cached, self._codings_of(path, info), passed)
                return self._send_file_head(io.BytesIO(cached.data), ctype, None, cached)
        try:
            f = open(served, "rb")  # noqa: SIM115 -- the caller closes it
        except OSError:
            self.send_error(HTTPStatus.NOT_FOUND, "File not found")
            return None
        try:
            return self._send_file_head(f, ctype, coding)
        except BaseException:
            f.close()
            raise

    def served_path(self) -> str:
        """Return the path (and query) of the request that maps to a file.

        It is :attr:`~devserve.BaseHTTPRequestHandler.path` in origin form (RFC 9112
        §3.2.2: the absolute form's path is served); a mounted handler's path is
        already below its :attr:`~devserve.BaseHTTPRequestHandler.mount_prefix`.

        .. versionadded:: 0.1
        """
        return origin_form(self.path)

    def _transforms_page(self, ctype: str) -> bool:
        transform = self.page_transform
        return transform is not None and transform.applies(self.headers, ctype)

    def _send_page(self, path: str, ctype: str, cached: CachedFile | None) -> BinaryIO | None:
        """Send a page through :attr:`page_transform`: whole, fresh, without validators."""
        if cached is not None:
            body = cached.data
        else:
            try:
                with open(path, "rb") as f:
                    body = f.read()
            except OSError:
                self.send_error(HTTPStatus.NOT_FOUND, "File not found")
                return None
        return self._send_transformed(body, ctype)

    def _send_transformed(self, body: bytes, ctype: str) -> BinaryIO:
        assert self.page_transform is not None
        body = self.page_transform.transform(body)
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-type", ctype)
        self.send_header("Content-Length", str(len(body)))
        # A cached copy would hold a script for a server that has gone.
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        return io.BytesIO(body)

    def _send_file_head(
        self, f: BinaryIO, ctype: str, coding: str | None, cached: CachedFile | None = None
    ) -> BinaryIO | None:
        fs = os.fstat(f.fileno()) if cached is None else cached.stat
        size = fs.st_size
        etag = make_etag(size, fs.st_mtime_ns, fs.st_ino, coding or "") if self.etags else None
        if self._not_modified(fs.st_mtime, etag):
            self.send_response(HTTPStatus.NOT_MODIFIED)
            self._send_validators(etag, None)
            self.end_headers()
            f.close()
            return None
        if cached is None or cached.last_modified is None:
            last_modified = self.date_time_string(fs.st_mtime)
            if cached is not None:
                cached.last_modified = last_modified
        else:
            last_modified = cached.last_modified
        value = self._range_value(int(fs.st_mtime), etag)
        outcome = "whole" if value is None else self._send_partial_head(f, ctype, size, value)
        if outcome == "unsatisfiable":
            f.close()
            return None
        if outcome == "whole":
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-type", ctype)
            self.send_header("Content-Length", str(size))
            self._plan = FileBody(f, 0, size, whole=True)
        if coding is not None:
            self.send_header("Content-Encoding", coding)
        self.send_header("Last-Modified", last_modified)
        if self.range_requests:
            self.send_header("Accept-Ranges", "bytes")
        self._send_validators(etag, None)
        self.end_headers()
        return f

    def _send_validators(self, etag: str | None, last_modified: str | None) -> None:
        if etag is not None:
            self.send_header("ETag", etag)
        if last_modified is not None:
            self.send_header("Last-Modified", last_modified)
        if self.cache_control is not None:
            self.send_header("Cache-Control", self.cache_control)
        if self._vary:
            self.send_header("Vary", ", ".join(self._vary))

    def _not_modified(self, mtime: float, etag: str | None) -> bool:
        headers = self.headers
        if_none_match = headers.get("If-None-Match")
        if if_none_match is not None:
            # RFC 9110 §13.2.2: If-None-Match, when present, decides alone.
            return etag is not None and none_match(if_none_match, etag)
        if_modified_since = headers.get("If-Modified-Since")
        return if_modified_since is not None and not modified_since(if_modified_since, mtime)

    def _range_value(self, last_modified: int, etag: str | None) -> str | None:
        """The ``Range`` value that applies to this request, or ``None``."""
        if not self.range_requests or self.command != "GET":
            # RFC 9110 §14.2: Range is defined for GET only; HEAD gets the 200 head.
            return None
        value: str | None = self.headers.get("Range")
        if value is None:
            return None
        condition = self.headers.get("If-Range")
        if condition is not None and not range_condition_holds(
            condition, etag, last_modified, time.time()
        ):
            return None
        return value

    def _send_partial_head(self, f: BinaryIO, ctype: str, size: int, value: str) -> str:
        """Send a 206 or 416 head for ``Range: value``; return what was sent.

        "partial" (206), "unsatisfiable" (416), or "whole": the range is ignored.
        """
        # Loaded with the first Range request: most servers never see one.
        from ..http11.ranges import (
            RangeNotSatisfiable,
            content_range,
            multipart_layout,
            parse_range,
        )

        try:
            ranges = parse_range(value, size, max_ranges=self.max_ranges)
        except RangeNotSatisfiable:
            self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
            self.send_header("Content-Range", content_range(None, size))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return "unsatisfiable"
        if not ranges:
            return "whole"  # a Range that does not parse, or too many: ignored
        self.send_response(HTTPStatus.PARTIAL_CONTENT)
        if len(ranges) == 1:
            byte_range = ranges[0]
            self.send_header("Content-type", ctype)
            self.send_header("Content-Range", content_range(byte_range, size))
            self.send_header("Content-Length", str(byte_range.length))
            self._plan = FileBody(f, byte_range.first, byte_range.length, whole=False)
            return "partial"
        import secrets

        boundary = secrets.token_hex(16)
        parts, tail, total = multipart_layout(ranges, size, ctype, boundary)
        self.send_header("Content-type", "multipart/byteranges; boundary=" + boundary)
        self.send_header("Content-Length", str(total))
        self._plan = FileBody(f, 0, 0, whole=False, parts=parts, tail=tail)
        return "partial"

    def _choose_coding(self, path: str, info: os.stat_result) -> tuple[str | None, str]:
        if not self.precompressed:
            return None, path
        available = self._codings_of(path, info)
        if not available:
            return None, path
        self._vary = ("Accept-Encoding",)
        from ..http11.negotiation import choose_coding

        coding = choose_coding(self.headers.get("Accept-Encoding"), available)
        if coding is None:
            return None, path
        return coding, path + dict(_SIBLINGS)[coding]

    def _codings_of(self, path: str, info: os.stat_result) -> list[str]:
        """The codings of usable precompressed siblings of *path* (see :attr:`precompressed`)."""
        if not self.precompressed:
            return []
        return usable_codings(path, info, self.directory, self.allow_symlink_escape)

    def _offer_answer(self, plan: FileBody | None) -> None:
        """Leave the response being sent from the cache with the server, to send again.

        Only what this request's head alone decided: the first request since the
        server read its head, a ``200``, a single-range ``206`` or a ``304`` of a
        cached file, no request body (the server would not read it: it would be taken
        for the next request), no ``If-Range`` (it compares with the clock), on a
        handler class that changes nothing of how the answer is made, with an access
        log.
        """
        assert self._answerable is not None
        path, cached, codings, passed = self._answerable
        self._answerable = None
        status = self._status_code
        log = self.response_log
        server = self.server
        if (
            status not in (200, 206, 304)
            or log is None
            or not self.first_since_arrival
            or not _answers_alike(type(self))
            or not conforms(server, AnswerHost)
            or not _bodiless(self.request_head)
            or "If-Range" in self.headers  # compared with the clock
        ):
            return
        if status == 304 or self.command == "HEAD":
            body = b""
        elif plan is not None and plan.parts is None:
            body = cached.data[plan.offset : plan.offset + plan.count]
        else:
            return
        head = split_at_date(self.sent_head)
        if head is None:
            return
        directory, escape = self.directory, self.allow_symlink_escape
        siblings = (
            (lambda p, i: usable_codings(p, i, directory, escape)) if self.precompressed else None
        )
        answer = CachedAnswer(
            head, body, path, cached.identity, siblings, codings, passed, log,
            self.requestline, status, self.close_connection,
        )  # fmt: skip
        cast(AnswerHost, server).remember(self, answer)

    def _refusal(self, why: str) -> str:
        """The 404's message: why, and the flag that serves it, with :attr:`explain_refusals`."""
        return why if self.explain_refusals else "File not found"

    def _with_charset(self, ctype: str) -> str:
        charset = self.text_charset
        if charset is None or not ctype.startswith("text/") or ";" in ctype:
            return ctype
        return "%s; charset=%s" % (ctype, charset)

    def _inside_root(self, path: str) -> bool:
        return self.allow_symlink_escape or contained(path, self.directory)

    def _wants_page(self, segments: list[str]) -> bool:
        """Whether a missing path is a page route (no extension, or HTML accepted)."""
        if self.command not in ("GET", "HEAD"):
            return False
        accept = self.headers.get("Accept") or ""
        last = segments[-1] if segments else ""
        return "text/html" in accept or "." not in last

    # -- bodies ---------------------------------------------------------------

    def _send_body(self, f: BinaryIO) -> None:
        plan, self._plan = self._plan, None
        if (
            plan is None
            or plan.file is not f
            or (plan.whole and type(self).copyfile is not SimpleHTTPRequestHandler.copyfile)
        ):
            self.copyfile(f, self.wfile)  # a subclass's copyfile is honoured
        elif not plan.send(self.wfile, self.socket_writer()):
            # Content-Length promised more than the file holds now: only closing tells.
            self.close_connection = True

    def copyfile(self, source: Any, outputfile: Any) -> None:
        """Copy all data from the file object *source* to *outputfile*.

        Unlike :mod:`http.server`, a regular file going to a socket is sent with
        :meth:`socket.socket.sendfile` (zero-copy).
        """
        writer = self.socket_writer()
        if (
            writer is not None
            and outputfile is writer
            and isinstance(source, (io.BufferedReader, io.FileIO))
        ):
            writer.sendfile(source, source.tell())
            return
        while True:
            chunk = source.read(_COPY_CHUNK)
            if not chunk:
                break
            outputfile.write(chunk)

    # -- listings and paths ---------------------------------------------------

    def list_directory(self, path: str | os.PathLike[str]) -> BinaryIO | None:
        """Send the head of a listing of directory *path*; return the page to send.

        Directories come first, then files, each with its size and modification
        time; ``?sort=name|size|modified`` and ``?order=asc|desc`` sort it.  With
        :attr:`json_listing`, ``Accept: application/json`` gets JSON instead.
        On error, sends 404 and returns ``None``.
        """
        # Loaded with the first listing: a server that only sends files never needs it.
        from ..http11.negotiation import prefers_json
        from .listing import listing_page, scan_directory

        directory = os.fspath(path)

        def keep(item: os.DirEntry[str]) -> bool:
            if not self.serve_dotfiles and item.name.startswith(".") and item.name != ".well-known":
                return False
            return not (item.is_symlink() and not self._inside_root(item.path))

        try:
            entries = scan_directory(directory, keep)
        except OSError:
            self.send_error(HTTPStatus.NOT_FOUND, "No permission to list directory")
            return None
        as_json = self.json_listing and prefers_json(self.headers.get("Accept"))
        body, ctype = listing_page(
            entries, self.mount_prefix + origin_form(self.path), as_json=as_json
        )
        if not as_json and self._transforms_page(ctype):
            return self._send_transformed(body, ctype)
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-type", ctype)
        self.send_header("Content-Length", str(len(body)))
        if self.json_listing:
            self._vary = ("Accept",)
        self._send_validators(None, None)
        self.end_headers()
        return io.BytesIO(body)

    def translate_path(self, path: str) -> str:
        """Map a URL path to a file system path under :attr:`directory`, as the stdlib does.

        The query and fragment are dropped and the path percent-decoded and
        normalised; components that are ``.``, ``..`` or hold a directory
        separator of the platform (a drive on Windows) are skipped.  A trailing
        slash, ``%2f`` included, is kept.  Symlinks are not resolved here.
        """
        path = unquote_path(path.split("#", 1)[0].split("?", 1)[0])
        # gh-134098: decided after decoding, so "%2f" at the end counts as a slash.
        trailing_slash = path.rstrip(_ASCII_SPACE).endswith("/")
        # os.path is looked up on every call: CPython's tests swap in ntpath.
        result = self.directory
        for word in posixpath.normpath(path).split("/"):
            if not word or os.path.dirname(word) or word in (os.curdir, os.pardir):
                continue
            result = os.path.join(result, word)
        if trailing_slash:
            result += "/"
        return result

    def guess_type(self, path: str | os.PathLike[str]) -> str:
        """Return the ``Content-type`` for *path*: :attr:`extensions_map`, then :mod:`mimetypes`.

        The extension is looked up as written, then lower-cased; unknown
        types are :attr:`default_content_type`.
        """
        _base, ext = posixpath.splitext(os.fspath(path))
        if ext in self.extensions_map:
            return self.extensions_map[ext]
        ext = ext.lower()
        if ext in self.extensions_map:
            return self.extensions_map[ext]
        guess_file = getattr(mimetypes, "guess_file_type", None)
        guess = guess_file(path)[0] if guess_file else mimetypes.guess_type(path)[0]
        return guess or self.default_content_type


def _with_link(page_format: str, url: str) -> str:
    """*page_format* (an error page's) with a link to *url* before its end."""
    link = html.escape(url, quote=True).replace("%", "%%")
    paragraph = '<p>The nearest listing: <a href="%s">%s</a></p>\n' % (link, link)
    if "</body>" in page_format:
        return page_format.replace("</body>", paragraph + "</body>", 1)
    return page_format + paragraph


_HIDDEN = "Hidden file (a name that starts with a dot): --dotfiles serves it"
_ESCAPING = "Outside the served directory through a symlink: --follow-symlinks serves it"


def usable_codings(path: str, info: os.stat_result, root: str, escape: bool) -> list[str]:
    """The codings of *path*'s precompressed siblings that may be served for it."""
    available = []
    for name, suffix in _SIBLINGS:
        sibling = _stat(path + suffix)
        # A sibling older than its source is stale: serving it would show old content.
        if (
            sibling is not None
            and stat.S_ISREG(sibling.st_mode)
            and sibling.st_mtime_ns >= info.st_mtime_ns
            and (escape or contained(path + suffix, root))
        ):
            available.append(name)
    return available


# What makes a response, in the order a request meets it: a subclass that changes
# one of these may answer the same head differently, so it answers every time.
_ANSWER_MAKERS = (
    "__init__", "setup", "handle", "handle_one_request", "parse_request", "do_GET",
    "do_HEAD", "send_head", "served_path", "translate_path", "guess_type", "send_response",
    "send_response_only", "send_header", "end_headers", "flush_headers", "date_time_string",
    "version_string", "log_request", "log_message", "address_string", "copyfile",
    "_send_file_head", "_send_body", "_choose_coding",
)  # fmt: skip
_ALIKE: dict[type, bool] = {}


def _bodiless(head: RequestHead | None) -> bool:
    """Whether the core found no body after *head*, and no expectation to answer.

    Only such a head may be answered again by the server, which reads no body: one
    would be taken for the next request.
    """
    return head is not None and not (head.content_length or head.chunked) and head.expect is None


def _answers_alike(cls: type[SimpleHTTPRequestHandler]) -> bool:
    """Whether *cls* answers a head as this class does: nothing of _ANSWER_MAKERS is its
    own, and no responder (a hook that sees the whole handler) stands in front."""
    alike = _ALIKE.get(cls)
    if alike is None:
        base = SimpleHTTPRequestHandler
        same = all(getattr(cls, name) is getattr(base, name) for name in _ANSWER_MAKERS)
        alike = _ALIKE[cls] = same and not cls.responders
    return alike


def _stat(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except (OSError, ValueError):  # ValueError: an embedded NUL
        return None
