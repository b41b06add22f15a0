"""stop_on_signals: a real SIGINT, delivered to this process, asks servers to stop."""

from __future__ import annotations

import os
import signal
import threading
import time

from devserve.net.signals import stop_on_signals


class Server:
    def __init__(self) -> None:
        self.asked = 0

    def request_stop(self) -> None:
        self.asked += 1


def test_on_stop_runs_outside_the_interrupted_thread() -> None:
    # The signal lands in the main thread wherever it is: here, inside a lock that
    # on_stop needs (as the I/O thread holds a held stream's lock while closing it).
    # Run in the signal handler, on_stop would wait for that lock for ever.
    lock = threading.Lock()
    ran_in: list[threading.Thread] = []

    def on_stop() -> None:
        if lock.acquire(timeout=2.0):
            ran_in.append(threading.current_thread())
            lock.release()

    server = Server()
    with stop_on_signals([server], on_stop) as received:
        with lock:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.2)  # the handler has run by now
            assert server.asked == 1
        deadline = time.monotonic() + 2.0
        while not ran_in and time.monotonic() < deadline:
            time.sleep(0.01)
    assert received == [signal.SIGINT]
    assert ran_in
    assert ran_in[0] is not threading.main_thread()


def test_on_stop_does_not_run_without_a_signal() -> None:
    calls: list[int] = []
    with stop_on_signals([Server()], lambda: calls.append(1)) as received:
        pass
    assert (received, calls) == ([], [])
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
