"""Errors in the browser: server-side failures shown over the open page.

Rule 1: a failure is one :class:`Failure`, a value the server sends as JSON: what
failed (the application's loading, or a request answered ``500``), its one line,
and the file and line it points at.  Pages learn of failures through
:class:`FailureReports` (live reload's event stream implements it), never through
another part's state.
Rule 2: :class:`ReportFailures` reports what the application answered ``500``, and
clears it when the same path is answered below 500; it changes no response, and
an exception it sees goes on to the server, which logs it and answers 500 as before.
Rule 3: what a page is shown is what the terminal shows: the exception's one line and
where it was raised, never a frame's variables; the query string is left out (it may
hold a token).  The overlay is built from text nodes only, never from server text
parsed as HTML, in a shadow root, so that the page's styles neither hide it nor
reach into it.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple, Protocol

__all__ = ["LOAD", "Failure", "FailureReports", "ReportFailures", "path_key"]

#: The key of the failure to load the application (at most one per process).
LOAD = "load"

# Long enough for any useful message; short enough that a page is not flooded.
_MESSAGE_LIMIT = 2000
_DETAIL_LIMIT = 20000


class Failure(NamedTuple):
    """A server-side failure, as open pages are told of it.

    *key* names what failed, so that a later success can clear it: :data:`LOAD`
    for the application, ``"path /x"`` for a request to ``/x``.  *message* is the
    error's one line (``SyntaxError: invalid syntax``), *file* and *line* where it
    points, *detail* more text (the user's frames of a load error), *method* and
    *path* the request answered ``500``.

    .. versionadded:: 0.1
    """

    key: str
    message: str
    file: str | None = None
    line: int | None = None
    detail: str = ""
    method: str = ""
    path: str = ""

    @classmethod
    def load(cls, message: str, where: tuple[str, int] | None, detail: str = "") -> Failure:
        """The application cannot be loaded: *message* at *where* (``(file, line)``)."""
        file, line = where if where is not None else (None, None)
        return cls(LOAD, message[:_MESSAGE_LIMIT], file, line, detail[:_DETAIL_LIMIT])

    @classmethod
    def response(cls, method: str, path: str, error: BaseException | None = None) -> Failure:
        """A request for *path* was answered ``500``, after *error* if one is known.

        The place is the innermost frame of the error's traceback.
        """
        message = "500 Internal Server Error"
        file = line = None
        if error is not None:
            message = "".join(traceback.format_exception_only(type(error), error)).strip()
            message = message.splitlines()[-1] if message else type(error).__name__
            frames = traceback.extract_tb(error.__traceback__)
            if frames:
                file, line = frames[-1].filename, frames[-1].lineno
        return cls(path_key(path), message[:_MESSAGE_LIMIT], file, line, "", method, path)

    @property
    def kind(self) -> str:
        """``"load"`` or ``"response"``."""
        return "load" if self.key == LOAD else "response"

    def as_json(self) -> dict[str, Any]:
        """The failure as the event stream sends it."""
        return {**self._asdict(), "kind": self.kind}


def path_key(path: str) -> str:
    """The :attr:`Failure.key` of failures of requests for *path*."""
    return "path " + path


class FailureReports(Protocol):
    """Where failures are reported: :class:`~devserve.dev.livereload.LiveReload` is one.

    .. versionadded:: 0.1
    """

    def report_failure(self, failure: Failure) -> None:
        """Show *failure* on the open pages, replacing one of the same key."""

    def clear_failure(self, key: str) -> None:
        """Take the failure of *key* off the open pages, if there is one."""


_StartResponse = Callable[..., Callable[[bytes], Any]]


class ReportFailures:
    """WSGI middleware that reports *app*'s ``500`` answers to *reports*.

    A ``500`` is reported with the request's method and path, and the exception's
    line when the application raised (or gave ``exc_info`` to ``start_response``);
    a later answer below 500 for the same path clears it.  Responses pass untouched.
    Not for an application under a debugger that shows its own page of the error.

    .. versionadded:: 0.1
    """

    def __init__(self, app: Callable[..., Iterable[bytes]], reports: FailureReports) -> None:
        self.app = app
        self.reports = reports

    def __call__(self, environ: dict[str, Any], start_response: _StartResponse) -> Iterable[bytes]:
        """Run the application, watching the status it answers with."""
        method = str(environ.get("REQUEST_METHOD", "GET"))
        path = str(environ.get("SCRIPT_NAME", "")) + str(environ.get("PATH_INFO", ""))
        answered: list[str] = []

        def watching(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            answered.append(status)
            code = status[:3]
            if code == "500":
                error = exc_info[1] if exc_info else None
                self.reports.report_failure(Failure.response(method, path, error))
            elif code.isdecimal() and int(code) < 500:
                self.reports.clear_failure(path_key(path))
            return start_response(status, headers, exc_info)

        try:
            result = self.app(environ, watching)
        except Exception as error:
            self.reports.report_failure(Failure.response(method, path, error))
            raise
        if answered:
            # The head is decided: an error while sending the body cuts the
            # response, it does not make it a 500.  The result goes to the
            # server as it is (a file_wrapper keeps its sendfile).
            return result
        return _Watched(
            result,
            answered,
            lambda error: self.reports.report_failure(Failure.response(method, path, error)),
        )


class _Watched:
    """An application's result whose head comes with its first item (a generator)."""

    def __init__(
        self, result: Iterable[bytes], answered: list[str], report: Callable[[Exception], None]
    ) -> None:
        self.result = result
        self.answered = answered
        self.report = report

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self.result
        except Exception as error:
            if not self.answered:
                self.report(error)  # no head yet: the server answers 500
            raise

    def close(self) -> None:
        close = getattr(self.result, "close", None)
        if close is not None:
            close()


# The browser side, part of live reload's script (devserve.dev.livereload): an
# overlay listing the failures the server reported, kept by key.  Text nodes only.
CLIENT = r"""
  var failures = {}, overlay = null, dismissed = false;
  var STYLE = ":host{all:initial}" +
    ".panel{position:fixed;inset:0;z-index:2147483647;overflow:auto;box-sizing:border-box;" +
    "padding:32px 40px;background:rgba(24,24,28,.94);color:#eee;" +
    "font:15px/1.5 system-ui,sans-serif;text-align:left}" +
    ".what{margin:0 0 4px;color:#ff8a80;font-weight:600}" +
    "h2{margin:0 0 8px;font:600 18px/1.4 ui-monospace,monospace;color:#fff;white-space:pre-wrap;" +
    "word-break:break-word}" +
    ".where{margin:0 0 8px;font:14px ui-monospace,monospace;color:#9ecbff}" +
    "pre{margin:0 0 8px;padding:12px;background:#000;color:#ddd;overflow:auto;" +
    "font:13px/1.45 ui-monospace,monospace;white-space:pre-wrap}" +
    ".hint{margin:0 0 24px;color:#aaa;font-size:13px}" +
    "button{float:right;margin:-16px -24px 0 0;font:28px/1 system-ui,sans-serif;" +
    "background:none;border:0;color:#ccc;cursor:pointer}";
  function add(parent, tag, text, kind) {
    var node = document.createElement(tag);
    if (text) node.textContent = text;
    if (kind) node.className = kind;
    parent.appendChild(node);
    return node;
  }
  function render() {
    if (overlay) overlay.remove();
    overlay = null;
    var keys = Object.keys(failures);
    if (!keys.length || dismissed) return;
    overlay = document.createElement("div");
    overlay.setAttribute("data-devserve", "overlay");
    var root = overlay.attachShadow({mode: "open"});
    add(root, "style", STYLE);
    var panel = add(root, "div", "", "panel");
    panel.setAttribute("role", "alertdialog");
    panel.setAttribute("aria-label", "devserve: server error");
    var close = add(panel, "button", "\u00d7");
    close.title = "Dismiss (Esc)";
    close.addEventListener("click", dismiss);
    keys.forEach(function (key) {
      var failure = failures[key], load = failure.kind === "load";
      add(panel, "p", load ? "The application cannot be loaded" :
        failure.method + " " + failure.path + " answered 500", "what");
      add(panel, "h2", failure.message);
      if (failure.file) add(panel, "p", failure.file + ", line " + failure.line, "where");
      if (failure.detail) add(panel, "pre", failure.detail);
      add(panel, "p", load ? "Save a fix: this page reloads once the application loads." :
        "The server's log has the traceback. This clears when " + failure.path +
        " is answered again without an error.", "hint");
    });
    document.documentElement.appendChild(overlay);
  }
  function dismiss() {
    dismissed = true;
    render();
  }
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && overlay) dismiss();
  });
  // "failure", not "error": an EventSource fires "error" itself when its connection drops.
  events.addEventListener("failure", function (e) {
    var failure = JSON.parse(e.data);
    failures[failure.key] = failure;
    dismissed = false;
    render();
  });
  function keep(keys) {
    var gone = Object.keys(failures).filter(function (key) { return keys.indexOf(key) < 0; });
    gone.forEach(function (key) { delete failures[key]; });
    if (gone.length) render();
  }
  events.addEventListener("fixed", function (e) {
    delete failures[JSON.parse(e.data).key];
    render();
  });
"""
