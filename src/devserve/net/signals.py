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
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import types
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol, runtime_checkable

__all__ = ["Stoppable", "stop_on_signals"]


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
    stays in charge.
    """
    received: list[int] = []
    stoppable = [server for server in servers if isinstance(server, Stoppable)]
    if threading.current_thread() is not threading.main_thread() or len(stoppable) != len(servers):
        yield received
        return

    stopper = _Stopper(on_stop) if on_stop is not None else None

    def stop(signum: int, frame: types.FrameType | None) -> None:
        received.append(signum)
        # Stop accepting first: a browser whose stream on_stop ends reconnects at once,
        # and its connection must wait for the next server (a reloader's new child).
        for server in stoppable:
            server.request_stop()
        if stopper is not None:
            stopper.ask()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield received
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if stopper is not None:
            stopper.finish()


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
