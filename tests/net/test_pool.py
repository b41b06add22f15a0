"""The one worker pool: unbounded (a thread per job at once) and bounded (queue, then grow)."""

from __future__ import annotations

import threading
import time

from devserve.net.pool import WorkerPool

TIMEOUT = 5.0


def wait_until(condition: object, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.005)


def test_unbounded_pool_never_makes_a_job_wait_and_reuses_idle_workers() -> None:
    release = threading.Event()
    started: list[int] = []
    pool: WorkerPool[int] = WorkerPool(
        lambda job: (started.append(job), release.wait(TIMEOUT)), threads=None, name="t"
    )
    try:
        for job in range(20):
            pool.submit(job)
        wait_until(lambda: len(started) == 20)  # all twenty ran at once
        assert pool.size == 20
        release.set()
        time.sleep(0.05)
        done = threading.Event()
        pool.submit(99)
        wait_until(lambda: 99 in started)
        assert pool.size == 20  # an idle worker took it: no new thread
        done.set()
    finally:
        release.set()
        pool.close(join=True)
    assert pool.size == 0


def test_bounded_pool_queues_past_its_bound_and_grows_for_long_jobs() -> None:
    release = threading.Event()
    started: list[int] = []
    pool: WorkerPool[int] = WorkerPool(
        lambda job: (started.append(job), release.wait(TIMEOUT)),
        threads=2,
        max_threads=3,
        long_request=0.05,
        name="b",
    )
    try:
        for job in range(4):
            pool.submit(job)
        wait_until(lambda: len(started) == 2)
        time.sleep(0.1)
        assert len(started) == 2  # two queue behind the bound
        assert pool.size == 2
        pool.tick()  # both running jobs are long now: the bound grows, up to max_threads
        wait_until(lambda: len(started) == 3)
        assert pool.size == 3
        time.sleep(0.1)
        pool.tick()
        assert len(started) == 3  # max_threads holds
        release.set()
        wait_until(lambda: len(started) == 4)
    finally:
        release.set()
        pool.close(join=True)
    assert pool.size == 0


def test_idle_workers_leave_after_their_idle_timeout() -> None:
    pool: WorkerPool[int] = WorkerPool(lambda job: None, threads=None, idle_timeout=0.05)
    pool.submit(1)
    wait_until(lambda: pool.size == 0)
    pool.close(join=True)
