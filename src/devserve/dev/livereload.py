"""Live reload: tell the browsers showing a page that the files behind it changed.

Rule 1: one :class:`LiveReload` per server process holds the state every browser
shares: a boot id (new for each process, so a restarted server makes pages reload),
a generation counter bumped by each change, and the connected event streams.
Rule 2: the transport is Server-Sent Events on :data:`ENDPOINT`, answered by devserve's
own handlers (never by the application): plain HTTP/1.1 streaming, ended by closing,
so it needs no WebSocket framing and works through anything that speaks HTTP.
Rule 3: the event stream is answered only to a browser on this very origin: a
cross-site page must not learn when your files change, nor keep threads busy.
Rule 4: a change set holding only stylesheets swaps them in place; anything else
reloads the page.  Changes are debounced here (an editor's save is several events);
editors' temporary files are excluded by :mod:`devserve.dev.reloader` before that.
Rule 5: failures reported here (:class:`~devserve.dev.overlay.FailureReports`) are
state, like the boot id: a page gets those still standing when it connects, and
each new one or cleared one as it happens; a page whose server cannot load the
application keeps its content, under the overlay, instead of reloading into the
error page.  What the overlay shows is decided in :mod:`devserve.dev.overlay`.

What ends up in pages is decided in :mod:`devserve.dev.injection`.
"""

from __future__ import annotations

import json
import os
import queue
import secrets
import select
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ..net.streams import is_tls
from .overlay import CLIENT as _OVERLAY
from .overlay import LOAD, Failure
from .reloader import DEFAULT_EXCLUDE, watch

if TYPE_CHECKING:
    from ..handler.base import BaseHTTPRequestHandler
    from ..net.contract import HeldStream

__all__ = ["ENDPOINT", "LiveReload", "same_origin"]

#: The URL path of the event stream, on every server with live reload.
ENDPOINT = "/__devserve__/livereload"

# The browser side: reconnects on its own (EventSource), reloads on "reload" or when
# the server it reconnected to is another process (unless that one cannot load the
# application: the overlay shows why), swaps stylesheets on "css".
_CLIENT = """(function () {
  if (!window.EventSource || window.__devserveLiveReload) return;
  window.__devserveLiveReload = true;
  var boot = "%(boot)s", since = %(generation)d;
  var events = new EventSource("%(endpoint)s?since=" + since);%(overlay)s
  events.addEventListener("hello", function (e) {
    var hello = JSON.parse(e.data);
    keep(hello.failures);
    if (hello.boot !== boot && hello.failures.indexOf("%(load)s") < 0) location.reload();
  });
  events.addEventListener("reload", function () { location.reload(); });
  events.addEventListener("css", function (e) {
    var names = JSON.parse(e.data).names, links = [], stamp = Date.now();
    document.querySelectorAll('link[rel~="stylesheet"][href]').forEach(function (link) {
      links.push(link);
    });
    var matching = links.filter(function (link) {
      var path = new URL(link.href, location.href).pathname;
      return names.some(function (name) { return path.endsWith("/" + name); });
    });
    (matching.length ? matching : links).forEach(function (link) {
      var url = new URL(link.href, location.href);
      url.searchParams.set("livereload", stamp);
      var fresh = link.cloneNode(false);
      fresh.href = url.href;
      // The old sheet stays until the new one loaded: no flash of unstyled page.
      fresh.addEventListener("load", function () { link.remove(); });
      fresh.addEventListener("error", function () { link.remove(); });
      link.after(fresh);
    });
  });
})();"""

# Seconds between comments on an idle stream: proxies and browsers keep it open, and
# a stream whose client left is noticed at the next write.
_KEEPALIVE = 15.0
# Seconds between checks that the client is still there (and the server running).
_POLL = 0.25
# Failures of requests kept at most (the oldest go first): a crawler hitting a broken
# route under many paths must not grow the state without end.
_MAX_FAILURES = 20


def same_origin(origin: str | None, host: str | None, scheme: str) -> bool:
    """Whether an ``Origin`` header names the origin that *host* is on.

    A request without ``Origin`` passes: browsers send it on every cross-origin
    request, so its absence means a same-origin ``GET`` or a client that is not
    a browser.

    .. versionadded:: 0.1
    """
    if origin is None:
        return True
    if host is None:
        return False
    expected = "%s://%s" % (scheme, host.lower())
    default = ":443" if scheme == "https" else ":80"
    return origin.lower() in (expected, expected.removesuffix(default))


class _Stream:
    """One connected browser: events queued for it, and whether it must stop."""

    def __init__(self) -> None:
        self.events: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()


class LiveReload:
    """The live-reload state of one server process, shared by its handlers.

    :meth:`start` watches *paths* (directories and files) for files matching
    *include* but no *exclude* pattern, as :func:`devserve.dev.reloader.watch` does;
    or call :meth:`notify` with changed paths yourself.  Changes arriving within
    *delay* seconds of each other are sent as one event (the watcher has already
    gathered a save's events, 50 ms of quiet with watchfiles: a longer delay here only
    makes the browser wait).  It answers
    :data:`ENDPOINT` as a handler's responder (:meth:`respond`); pages get
    :meth:`script` through :class:`~devserve.dev.injection.PageScript`.

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        paths: Iterable[str | os.PathLike[str]] = (),
        include: Sequence[str] = ("*",),
        exclude: Sequence[str] = DEFAULT_EXCLUDE,
        *,
        delay: float = 0.02,
        interval: float = 0.5,
        backend: str = "auto",
        on_change: Callable[[set[str]], None] | None = None,
    ) -> None:
        self.paths = [os.path.abspath(os.fspath(p)) for p in paths]
        self.include = tuple(include)
        self.exclude = tuple(exclude)
        self.delay = delay
        self.interval = interval
        self.backend = backend
        self.on_change = on_change
        #: A new random id for each process: pages compare it on reconnecting.
        self.boot = secrets.token_hex(8)
        self.generation = 0
        self._last_reload = 0
        self._last_css = 0
        self._last_css_names: list[str] = []
        self._lock = threading.Lock()
        self._streams: set[_Stream] = set()
        # Streams the server keeps without a thread (HeldStream): written here, under
        # the lock, so that each gets the events in order.
        self._held: set[HeldStream] = set()
        self._failures: dict[str, Failure] = {}
        self._stop = threading.Event()
        self._changes: queue.SimpleQueue[set[str]] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []

    # -- changes --------------------------------------------------------------

    def start(self) -> LiveReload:
        """Start watching :attr:`paths` in background threads; return self."""
        self._threads = [
            threading.Thread(target=self._watch, name="devserve-livereload-watch", daemon=True),
            threading.Thread(target=self._debounce, name="devserve-livereload", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        return self

    def close(self) -> None:
        """Stop watching, end every event stream and join the threads :meth:`start` made."""
        self._stop.set()
        self._changes.put(set())  # wakes the debouncer
        with self._lock:
            streams = list(self._streams)
            for held in self._held:
                held.close()
            self._held.clear()
        for stream in streams:
            stream.events.put(None)
        for thread in self._threads:
            thread.join()
        self._threads = []

    def _watch(self) -> None:
        for changed in watch(
            self.paths, self.include, self.exclude,
            interval=self.interval, backend=self.backend, stop=self._stop,
        ):  # fmt: skip
            self._changes.put(changed)

    def _debounce(self) -> None:
        while not self._stop.is_set():
            try:
                pending = self._changes.get(timeout=_KEEPALIVE)
            except queue.Empty:
                self._send_held(b": keep-alive\n\n")  # and drop the clients that left
                continue
            # Keep gathering until the files have been quiet for `delay` seconds.
            while not self._stop.is_set():
                try:
                    pending |= self._changes.get(timeout=self.delay)
                except queue.Empty:
                    break
            if pending and not self._stop.is_set():
                self.notify(pending)

    def notify(self, paths: Iterable[str]) -> str:
        """Tell every connected browser that *paths* changed; return the event sent.

        The event is ``"css"`` when every path is a stylesheet, else ``"reload"``.
        """
        changed = sorted(set(paths))
        css = bool(changed) and all(p.lower().endswith(".css") for p in changed)
        names = [os.path.basename(p) for p in changed] if css else []
        with self._lock:
            self.generation += 1
            generation = self.generation
            if css:
                self._last_css, self._last_css_names = generation, names
            else:
                self._last_reload = generation
                # Pages reload: a request that fails again is reported again.
                self._failures = {k: v for k, v in self._failures.items() if k == LOAD}
            streams = list(self._streams)
            kind = "css" if css else "reload"
            message = _event(kind, {"names": names}, generation)
            self._send_held_locked(message)
        for stream in streams:
            stream.events.put(message)
        if self.on_change is not None:
            self.on_change(set(changed))
        return kind

    # -- failures ---------------------------------------------------------------

    def report_failure(self, failure: Failure) -> None:
        """Show *failure* on every open page, and on each page that connects until cleared.

        A :class:`~devserve.dev.overlay.FailureReports` method: a failure of the same
        key replaces the one before.
        """
        with self._lock:
            self._failures.pop(failure.key, None)
            self._failures[failure.key] = failure
            while len(self._failures) > _MAX_FAILURES:
                oldest = next(key for key in self._failures if key != LOAD)
                del self._failures[oldest]
            self._broadcast_locked(_event("failure", failure.as_json(), self.generation))

    def clear_failure(self, key: str) -> None:
        """Take the failure of *key* off every open page, if there is one.

        A :class:`~devserve.dev.overlay.FailureReports` method.
        """
        with self._lock:
            if self._failures.pop(key, None) is not None:
                self._broadcast_locked(_event("fixed", {"key": key}, self.generation))

    def failures(self) -> list[Failure]:
        """The failures standing now, oldest first."""
        with self._lock:
            return list(self._failures.values())

    def _broadcast_locked(self, message: bytes) -> None:
        self._send_held_locked(message)
        for stream in self._streams:
            stream.events.put(message)

    def _send_held(self, message: bytes) -> None:
        with self._lock:
            self._send_held_locked(message)

    def _send_held_locked(self, message: bytes) -> None:
        gone = [held for held in self._held if not held.send(message)]
        self._held.difference_update(gone)

    def connected(self) -> int:
        """The number of browsers listening now."""
        with self._lock:
            return len(self._streams) + sum(not held.closed for held in self._held)

    # -- pages and the event stream -------------------------------------------

    def script(self) -> bytes:
        """Return the ``<script>`` element that pages get, for the current generation."""
        code = _CLIENT % {
            "boot": self.boot, "generation": self.generation, "endpoint": ENDPOINT,
            "overlay": _OVERLAY, "load": LOAD,
        }  # fmt: skip
        return b'<script data-devserve="livereload">' + code.encode("ascii") + b"</script>"

    def respond(self, handler: BaseHTTPRequestHandler) -> bool:
        """Answer a request for :data:`ENDPOINT` with the event stream; leave the rest.

        A :class:`~devserve.handler.hooks.Responder`: set it in a handler's
        ``responders``, and live reload works on any handler, whatever it serves.
        """
        if handler.path.partition("?")[0] != ENDPOINT:
            return False
        self.serve_events(handler, "https" if is_tls(handler.connection) else "http")
        return True

    def serve_events(self, handler: BaseHTTPRequestHandler, scheme: str = "http") -> None:
        """Answer the current request of *handler* with the event stream.

        It first checks ``Origin`` against ``Host`` (403 when they differ), then
        sends ``hello`` with :attr:`boot` and the keys of the failures standing,
        a ``failure`` event for each, then any change the page missed since the
        generation in ``Last-Event-ID`` or ``?since=``, then the events as they
        come (``css``, ``reload``, ``failure``, ``fixed``), until the client
        leaves or :meth:`close`.
        """
        headers = handler.headers
        host = headers.get("Host")
        fetch_site = headers.get("Sec-Fetch-Site")
        if not same_origin(headers.get("Origin"), host, scheme) or fetch_site not in (
            None, "same-origin", "none",
        ):  # fmt: skip
            handler.send_error(403, "Cross-origin live reload refused")
            return
        if handler.command not in ("GET", "HEAD"):
            handler.send_error(405)
            return
        since = _since(headers.get("Last-Event-ID"), handler.path)
        stream = _Stream()
        with self._lock:
            self._streams.add(stream)
            greeting = self._greeting(since)
        try:
            self._stream(handler, stream, greeting)
        finally:
            with self._lock:
                self._streams.discard(stream)

    def _greeting(self, since: int | None) -> bytes:
        failures = list(self._failures.values())
        hello = {"boot": self.boot, "failures": [failure.key for failure in failures]}
        events = [_event("hello", hello, self.generation, retry=500)]
        events += [_event("failure", failure.as_json(), self.generation) for failure in failures]
        return b"".join(events) + self._missed(since)

    def _missed(self, since: int | None) -> bytes:
        if since is None or since >= self.generation:
            return b""
        if self._last_reload > since:
            return _event("reload", {"names": []}, self._last_reload)
        if self._last_css > since:
            return _event("css", {"names": self._last_css_names}, self._last_css)
        return b""

    def _stream(self, handler: BaseHTTPRequestHandler, stream: _Stream, greeting: bytes) -> None:
        # send_response_only: a files handler's send_response would add CORS headers.
        handler.log_request(200)
        handler.send_response_only(200)
        handler.send_header("Date", handler.date_time_string())
        handler.send_header("Content-Type", "text/event-stream")
        handler.send_header("Cache-Control", "no-store")
        handler.send_header("X-Accel-Buffering", "no")
        # No length: the stream ends when either side closes the connection.
        handler.close_connection = True
        handler.end_headers()
        if handler.command == "HEAD":
            handler.wfile.flush()
            return
        wfile, connection = handler.wfile, handler.connection
        wfile.write(greeting)
        wfile.flush()
        held = handler.hold_stream()
        if held is not None:
            self._keep(held, stream)
            return
        quiet_since = time.monotonic()
        while not self._stop.is_set():
            try:
                message = stream.events.get(timeout=_POLL)
            except queue.Empty:
                # An event-stream client never sends after its request: anything
                # readable is its leaving (or the server shutting the socket down).
                if select.select([connection], [], [], 0)[0]:
                    return
                if time.monotonic() - quiet_since < _KEEPALIVE:
                    continue
                message = b": keep-alive\n\n"
            if message is None:
                return
            wfile.write(message)
            wfile.flush()
            quiet_since = time.monotonic()

    def _keep(self, held: HeldStream, stream: _Stream) -> None:
        """Hand the stream over to *held*: what was queued for it first, in order."""
        with self._lock:
            while not stream.events.empty():
                message = stream.events.get_nowait()
                if message is None or not held.send(message):
                    held.close()
                    return
            if self._stop.is_set():
                held.close()
            else:
                self._held.add(held)


def _event(kind: str, data: dict[str, Any], generation: int, retry: int | None = None) -> bytes:
    lines = ["retry: %d" % retry] if retry is not None else []
    lines += ["id: %d" % generation, "event: " + kind, "data: " + json.dumps(data), "", ""]
    return "\n".join(lines).encode("utf-8")


def _since(last_event_id: str | None, path: str) -> int | None:
    query = path.partition("?")[2]
    candidates = [last_event_id] + [
        value for name, _, value in (p.partition("=") for p in query.split("&")) if name == "since"
    ]
    for candidate in candidates:
        if candidate is not None and candidate.isdecimal() and len(candidate) < 12:
            return int(candidate)
    return None
