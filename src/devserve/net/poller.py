"""Readiness of many sockets: epoll where the platform has it, :mod:`selectors` elsewhere.

Rule 1: a connection is reported once per arming (``EPOLLONESHOT``), so exactly one
thread at a time acts on it; re-arming is safe from any thread.
Rule 2: the listening and wake-up sockets are watched level-triggered, for ever.
Rule 3: a connection is armed for reading (the next request, or its leaving) or, while
the server sends it a response's tail, for writing; never both.
"""

from __future__ import annotations

import contextlib
import queue
import select
import selectors
import socket
import threading
import time

__all__ = ["Poller", "SelectorPoller", "make_poller"]


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

    def rearm(self, fd: int, writable: bool = False) -> None:
        """Report a connection again once it is readable (or *writable*); safe from any thread."""
        self._epoll.modify(
            fd, (select.EPOLLOUT if writable else select.EPOLLIN) | select.EPOLLONESHOT
        )

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
        self._rearmed: queue.SimpleQueue[tuple[int, int]] = queue.SimpleQueue()
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

    def rearm(self, fd: int, writable: bool = False) -> None:
        events = selectors.EVENT_WRITE if writable else selectors.EVENT_READ
        if threading.get_ident() == self._owner:
            self._selector.register(fd, events)
            return
        self._rearmed.put((fd, events))
        with contextlib.suppress(OSError):
            self._wake_w.send(b"\0")

    def forget(self, fd: int) -> None:
        self._oneshot.discard(fd)
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(fd)

    def poll(self, timeout: float) -> list[int]:
        self._owner = threading.get_ident()
        deadline = time.monotonic() + timeout
        while True:
            self._take_rearmed()
            ready, woken = [], False
            for key, _events in self._selector.select(max(0.0, deadline - time.monotonic())):
                fd = key.fd
                if key.fileobj is self._wake_r:
                    woken = True
                    with contextlib.suppress(OSError):
                        self._wake_r.recv(4096)
                    continue
                if fd in self._oneshot:
                    self._selector.unregister(fd)
                ready.append(fd)
            # Woken only to re-arm: select again, so the re-armed socket is seen now.
            if ready or not woken or time.monotonic() >= deadline:
                return ready

    def _take_rearmed(self) -> None:
        while True:
            try:
                fd, events = self._rearmed.get_nowait()
            except queue.Empty:
                return
            if fd in self._oneshot:
                with contextlib.suppress(KeyError, ValueError):
                    self._selector.register(fd, events)

    def close(self) -> None:
        self._selector.close()
        self._wake_r.close()
        self._wake_w.close()


def make_poller() -> Poller:
    """Return the best :class:`Poller` for this platform."""
    return Poller() if hasattr(select, "epoll") else SelectorPoller()
