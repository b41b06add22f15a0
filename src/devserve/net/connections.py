"""Parked connections and the bounded pool of workers that serves them.

Rule 1: a connection holds a worker thread only while one of its requests is being
served.  Before its first request and between requests it is *parked*: watched by a
:class:`Poller` for readability, costing a file descriptor and a few kilobytes, never a
thread (the way waitress and cheroot hold thousands of idle keep-alive connections).
Rule 2: a connection has one owner at a time.  The I/O thread owns a parked one; the
job queue hands it to exactly one worker; the worker hands it back by re-arming it in
the poller (``EPOLLONESHOT``: one readiness report per arming), after which it must not
touch it.  Nothing here needs a lock per request beyond the queue's own.
Rule 3: the pool is bounded.  It starts workers on demand up to ``threads``; a request
that has run longer than ``long_request`` seconds (a server-sent event stream, a slow
upload, an application that blocks) stops counting against that, so the pool grows
by one thread for it, up to ``max_threads``: long-lived responses get a thread of
their own and cannot starve the short ones.
"""

from __future__ import annotations

import contextlib
import queue
import select
import selectors
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

__all__ = ["Connection", "Poller", "WorkerPool", "make_poller"]


class Connection:
    """One accepted connection: its socket, its handler once made, and its parked state."""

    __slots__ = ("address", "arrived", "buffer", "busy", "fd", "handler", "since", "sock")

    def __init__(self, sock: socket.socket, address: Any) -> None:
        self.sock = sock
        self.address = address
        self.fd = sock.fileno()
        self.handler: Any = None
        #: Bytes the I/O thread read ahead of the handler (the start of a request head).
        self.buffer = bytearray()
        #: When the first of those bytes arrived (:func:`time.monotonic`), or ``None``.
        self.arrived: float | None = None
        #: When the connection was last parked.
        self.since = time.monotonic()
        #: Whether a worker owns it now.
        self.busy = False


class Poller:
    """Readiness of many sockets, each reported once per arming; armed from any thread."""

    def __init__(self) -> None:
        self._epoll = select.epoll()

    def watch(self, fd: int) -> None:
        """Report *fd* every time it is readable (listening and wake-up sockets)."""
        self._epoll.register(fd, select.EPOLLIN)

    def add(self, fd: int) -> None:
        """Start watching a connection; it is reported once, when readable."""
        self._epoll.register(fd, select.EPOLLIN | select.EPOLLONESHOT)

    def rearm(self, fd: int) -> None:
        """Report a connection again once it is readable; safe from any thread."""
        self._epoll.modify(fd, select.EPOLLIN | select.EPOLLONESHOT)

    def forget(self, fd: int) -> None:
        """Stop watching *fd* (before it is closed)."""
        with contextlib.suppress(OSError, ValueError):
            self._epoll.unregister(fd)

    def poll(self, timeout: float) -> list[int]:
        """Wait up to *timeout* seconds; return the file descriptors that are ready."""
        return [fd for fd, _events in self._epoll.poll(timeout)]

    def close(self) -> None:
        self._epoll.close()


class SelectorPoller(Poller):
    """The same, with :mod:`selectors`, for platforms without epoll.

    Re-arming from a worker thread goes through a queue and a wake-up byte, since a
    selector may only be changed by the thread that waits on it.
    """

    def __init__(self) -> None:
        self._selector = selectors.DefaultSelector()
        self._oneshot: set[int] = set()
        self._rearmed: queue.SimpleQueue[int] = queue.SimpleQueue()
        self._owner: int | None = None
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ)

    def watch(self, fd: int) -> None:
        self._selector.register(fd, selectors.EVENT_READ)

    def add(self, fd: int) -> None:
        self._oneshot.add(fd)
        self._selector.register(fd, selectors.EVENT_READ)

    def rearm(self, fd: int) -> None:
        if threading.get_ident() == self._owner:
            self._selector.register(fd, selectors.EVENT_READ)
            return
        self._rearmed.put(fd)
        with contextlib.suppress(OSError):
            self._wake_w.send(b"\0")

    def forget(self, fd: int) -> None:
        self._oneshot.discard(fd)
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(fd)

    def poll(self, timeout: float) -> list[int]:
        self._owner = threading.get_ident()
        while True:
            try:
                fd = self._rearmed.get_nowait()
            except queue.Empty:
                break
            if fd in self._oneshot:
                with contextlib.suppress(KeyError, ValueError):
                    self._selector.register(fd, selectors.EVENT_READ)
        ready = []
        for key, _events in self._selector.select(timeout):
            fd = key.fd
            if key.fileobj is self._wake_r:
                with contextlib.suppress(OSError):
                    self._wake_r.recv(4096)
                continue
            if fd in self._oneshot:
                self._selector.unregister(fd)
            ready.append(fd)
        return ready

    def close(self) -> None:
        self._selector.close()
        self._wake_r.close()
        self._wake_w.close()


def make_poller() -> Poller:
    """Return the best :class:`Poller` for this platform."""
    return Poller() if hasattr(select, "epoll") else SelectorPoller()


class WorkerPool:
    """A bounded pool of threads that each run *serve* on one job at a time.

    Workers start on demand, up to *threads* (plus one for each job running longer
    than *long_request* seconds, up to *max_threads*: see :meth:`tick`), and leave
    after *idle_timeout* seconds without a job.  Jobs wait in a queue when every
    worker is busy.
    """

    def __init__(
        self,
        serve: Callable[[Any], None],
        *,
        threads: int,
        max_threads: int,
        long_request: float,
        idle_timeout: float,
        daemon: bool,
        name: str,
    ) -> None:
        self._serve = serve
        self._threads_min = threads
        self._max_threads = max(threads, max_threads)
        self._limit = threads
        self._long_request = long_request
        self._idle_timeout = idle_timeout
        self._daemon = daemon
        self._name = name
        self._lock = threading.Lock()
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._pending = 0  # jobs put and not yet taken
        self._waiting = 0  # workers waiting for a job
        self._threads: set[threading.Thread] = set()
        # When each busy worker took its job; read without the lock by tick().
        self._started: dict[threading.Thread, float] = {}
        self._closed = False
        self._spawned = 0

    @property
    def size(self) -> int:
        """The number of worker threads now."""
        return len(self._threads)

    def submit(self, job: Any) -> None:
        """Queue *job*; start a worker for it if none is free and the bound allows."""
        with self._lock:
            self._pending += 1
            self._jobs.put(job)
            if self._pending <= self._waiting or len(self._threads) >= self._limit:
                return
            thread = self._new_thread()
        thread.start()

    def _new_thread(self) -> threading.Thread:
        self._spawned += 1
        thread = threading.Thread(
            target=self._work, daemon=self._daemon, name="%s-%d" % (self._name, self._spawned)
        )
        self._threads.add(thread)
        return thread

    def tick(self) -> None:
        """Let the pool grow past ``threads`` by one worker per long-running job.

        Called by the I/O thread a few times a second.  A job counts as long once it
        has run *long_request* seconds; each such job raises the bound by one (up
        to *max_threads*), and a worker is started at once if jobs are waiting.
        """
        cutoff = time.monotonic() - self._long_request
        long = sum(1 for started in list(self._started.values()) if started < cutoff)
        starting: list[threading.Thread] = []
        with self._lock:
            self._limit = min(self._max_threads, self._threads_min + long)
            while (
                not self._closed
                and self._pending > self._waiting + len(starting)
                and len(self._threads) < self._limit
            ):
                starting.append(self._new_thread())
        for thread in starting:
            thread.start()

    def _work(self) -> None:
        me = threading.current_thread()
        started = self._started
        try:
            while True:
                job = self._take()
                if job is None:
                    return
                started[me] = time.monotonic()
                try:
                    self._serve(job)
                finally:
                    del started[me]
                job = None  # drop the finished connection before waiting
        finally:
            with self._lock:
                self._threads.discard(me)

    def _take(self) -> Any:
        with self._lock:
            if self._closed:
                return None
            self._waiting += 1
        try:
            job = self._jobs.get(timeout=self._idle_timeout)
        except queue.Empty:
            with self._lock:
                self._waiting -= 1
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    return None
                self._pending -= 1
                return job
        with self._lock:
            self._waiting -= 1
            self._pending -= 1
        return job

    def close(self, *, join: bool) -> None:
        """Let every worker leave once its job is done; wait for them if *join*."""
        with self._lock:
            self._closed = True
            threads = list(self._threads)
            for _ in threads:
                self._jobs.put(None)
                self._pending += 1
        if join:
            for thread in threads:
                if thread is not threading.current_thread():
                    thread.join()
