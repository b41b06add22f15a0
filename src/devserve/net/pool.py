"""One pool of worker threads, for every threaded server.

Rule 1: a worker runs one job at a time and then waits for the next; a worker idle for
``idle_timeout`` seconds exits.  Threads are reused because starting one costs about
100 µs, more than serving a small request.
Rule 2: the bound is the caller's choice.  Without one (``threads=None``, as
:class:`~devserve.ThreadingHTTPServer` uses it) a job never waits for another: it gets
an idle worker or a new thread.  With one, jobs queue once ``threads`` workers are
busy, and the bound grows by one for each job that has run ``long_request`` seconds,
up to ``max_threads`` (:meth:`WorkerPool.tick`), so long requests cannot starve short
ones.
Rule 3: the queue is the only hand-off; counts change under one lock, so a worker that
times out can always tell a job meant for it from none.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["WorkerPool"]

Job = TypeVar("Job")


class WorkerPool(Generic[Job]):
    """Threads that each run *serve* on one job at a time (see the module's rules).

    *threads* is the bound (``None``: none), *max_threads* the most it can grow
    to, *long_request* the seconds after which a job counts as long; workers
    are daemons when *daemon* is true and are named *name*-N.
    """

    def __init__(
        self,
        serve: Callable[[Job], None],
        *,
        threads: int | None,
        max_threads: int | None = None,
        long_request: float = 1.0,
        idle_timeout: float = 30.0,
        daemon: bool = True,
        name: str = "worker",
    ) -> None:
        self._serve = serve
        self._threads_min = threads
        self._max_threads = max(threads, max_threads or threads) if threads is not None else None
        self._limit = threads
        self._long_request = long_request
        self._idle_timeout = idle_timeout
        self._daemon = daemon
        self._name = name
        self._lock = threading.Lock()
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
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

    def submit(self, job: Job) -> None:
        """Queue *job*; start a worker for it if none is free and the bound allows."""
        with self._lock:
            self._pending += 1
            self._jobs.put(job)
            if self._pending <= self._waiting or self._at_limit():
                return
            thread = self._new_thread()
        thread.start()

    def _at_limit(self) -> bool:
        return self._limit is not None and len(self._threads) >= self._limit

    def _new_thread(self) -> threading.Thread:
        self._spawned += 1
        thread = threading.Thread(
            target=self._work, daemon=self._daemon, name="%s-%d" % (self._name, self._spawned)
        )
        self._threads.add(thread)
        return thread

    def tick(self) -> None:
        """Let a bounded pool grow by one worker per long-running job.

        Called by the I/O thread a few times a second.  A job counts as long once it
        has run *long_request* seconds; each such job raises the bound by one (up
        to *max_threads*), and a worker is started at once if jobs are waiting.
        """
        if self._threads_min is None or self._max_threads is None:
            return
        cutoff = time.monotonic() - self._long_request
        long = sum(1 for started in list(self._started.values()) if started < cutoff)
        starting: list[threading.Thread] = []
        with self._lock:
            self._limit = min(self._max_threads, self._threads_min + long)
            while (
                not self._closed
                and self._pending > self._waiting + len(starting)
                and not self._at_limit()
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
                job = None  # drop the finished job's references before waiting
        finally:
            with self._lock:
                self._threads.discard(me)

    def _take(self) -> Job | None:
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
