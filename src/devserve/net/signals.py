"""Stopping a server from a signal: SIGINT and SIGTERM ask it to stop, and nothing else.

Rule 1: the handler only asks (:meth:`~devserve.net.bounded.BoundedHTTPServer.request_stop`):
a KeyboardInterrupt raised by Python for SIGINT is dropped when it lands while the main
thread runs a finaliser (a socket being collected, say), which left one Ctrl+C in about
twenty, under load, doing nothing.
Rule 2: the handler takes no lock.  It interrupts the main thread wherever it is, maybe
inside a lock that ``on_stop`` needs (closing an event stream the server holds), so
``on_stop`` runs in a thread of its own, woken by a byte on a pipe: ``threading.Event``
would take a lock, which a second signal landing inside the first one's ``set`` would
wait for in vain.
Rule 3: one SIGTERM is enough.  Once it has asked for a stop, SIGTERM is ignored
(:func:`ignore_sigterm`) until whoever owns the process's signals (the command line's
``main``) gives it its earlier handler back, its clean-up done: a process manager and
a reloader may both send it, or send it twice, and the clean-up after the first must
not be broken into by the second; an exit stuck after that (the application's own
threads) still ends on SIGTERM.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import types
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol, runtime_checkable

__all__ = ["Stoppable", "ignore_sigterm", "signals_to", "stop_on_signals"]


@runtime_checkable
class Stoppable(Protocol):
    """A server that can be asked to stop from a signal handler."""

    def request_stop(self) -> None: ...


@contextlib.contextmanager
def stop_on_signals(
    servers: Sequence[object], on_stop: Callable[[], None] | None = None
) -> Iterator[list[int]]:
    """Make SIGINT and SIGTERM stop *servers* gracefully; yield the signals received.

    *on_stop* is called once the servers stop accepting (to end streams that never
    end by themselves).  For
    use around ``serve_forever`` in the main thread; when a server cannot be asked
    to stop (:option:`--compat`'s stdlib-style servers), Python's KeyboardInterrupt
    stays in charge.  After a SIGTERM, SIGTERM is left ignored (Rule 3).
    """
    stoppable = [server for server in servers if isinstance(server, Stoppable)]
    if threading.current_thread() is not threading.main_thread() or len(stoppable) != len(servers):
        yield []
        return

    stopper = _Stopper(on_stop) if on_stop is not None else None

    def stop(signum: int, frame: types.FrameType | None) -> None:
        # Stop accepting first: a browser whose stream on_stop ends reconnects at once,
        # and its connection must wait for the next server (a reloader's new child).
        for server in stoppable:
            server.request_stop()
        if stopper is not None:
            stopper.ask()

    try:
        with signals_to(stop) as received:
            yield received
    finally:
        if stopper is not None:
            stopper.finish()


@contextlib.contextmanager
def signals_to(handler: Callable[[int, Any], object] | int) -> Iterator[list[int]]:
    """Give SIGINT and SIGTERM to *handler* while the block runs; yield the signals received.

    *handler* is a function of the signal and the frame, or ``signal.SIG_IGN``.

    Signals are handled in the main thread only; elsewhere the block runs as it is
    (and nothing is received).  On leaving, each signal gets its earlier handler
    back, but SIGTERM once received is left ignored, for the caller to give back
    once its clean-up is done (Rule 3).

    .. versionadded:: 0.1
    """
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def receive(signum: int, frame: types.FrameType | None) -> None:
        received.append(signum)
        if callable(handler):
            handler(signum, frame)

    # SIG_IGN stays the kernel's: an ignored signal never reaches Python.
    taker = receive if callable(handler) else handler
    previous = {sig: signal.signal(sig, taker) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield received
    finally:
        for sig, earlier in previous.items():
            # Straight to SIG_IGN: never the earlier handler first, which a SIGTERM
            # landing in between would run.
            stopping = sig == signal.SIGTERM and sig in received
            signal.signal(sig, signal.SIG_IGN if stopping else earlier)


def ignore_sigterm() -> None:
    """Ignore SIGTERM: one has asked for a stop (Rule 3).

    .. versionadded:: 0.1
    """
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


class _Stopper(threading.Thread):
    """Runs *on_stop* once :meth:`ask` is called (from a signal handler); :meth:`finish`
    waits for it, or ends the thread unasked."""

    def __init__(self, on_stop: Callable[[], None]) -> None:
        super().__init__(name="devserve-stop", daemon=True)
        self._on_stop = on_stop
        self._read, self._write = os.pipe()
        self._asked = False
        self._finished = False
        self.start()

    def ask(self) -> None:
        """Wake the thread to run *on_stop*; safe in a signal handler (no lock)."""
        self._asked = True
        with contextlib.suppress(OSError):
            os.write(self._write, b"\0")

    def run(self) -> None:
        os.read(self._read, 1)
        if not self._finished:
            self._on_stop()

    def finish(self) -> None:
        """Wait for *on_stop* if it was asked for; else end the thread without it."""
        if not self._asked:
            self._finished = True
            with contextlib.suppress(OSError):
                os.write(self._write, b"\0")
        self.join()
        os.close(self._read)
        os.close(self._write)
