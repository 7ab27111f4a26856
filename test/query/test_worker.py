"""The query worker: one job at a time, a bounded queue, busy refusals, cancel, stop."""

import threading
import time

import pytest

from vilasr_ros.query.worker import QueryWorker, WorkerBusy, WorkerStopped


def blocking_job(release: threading.Event, log: list, name: str):
    def job(cancel: threading.Event):
        log.append(f"start {name}")
        while not release.wait(0.01):
            if cancel.is_set():
                log.append(f"cancelled {name}")
                return "cancelled"
        log.append(f"end {name}")
        return name

    return job


def test_jobs_run_in_order_one_at_a_time():
    worker = QueryWorker(queue_size=3)
    release, log = threading.Event(), []
    tickets = [worker.submit(blocking_job(release, log, n)) for n in "abc"]
    time.sleep(0.05)
    assert log == ["start a"] and worker.pending == 3
    release.set()
    assert [t.wait(5) for t in tickets] == ["a", "b", "c"]
    assert log == ["start a", "end a", "start b", "end b", "start c", "end c"]
    worker.stop()


def test_a_full_queue_is_busy_immediately():
    worker = QueryWorker(queue_size=1)
    release, log = threading.Event(), []
    running = worker.submit(blocking_job(release, log, "a"))
    running.started.wait(2)
    worker.submit(blocking_job(release, log, "b"))
    started = time.monotonic()
    with pytest.raises(WorkerBusy, match="query.queue_size is 1"):
        worker.submit(blocking_job(release, log, "c"))
    assert time.monotonic() - started < 0.5
    release.set()
    worker.stop()


def test_queue_size_zero_accepts_only_when_idle():
    worker = QueryWorker(queue_size=0)
    release, log = threading.Event(), []
    first = worker.submit(blocking_job(release, log, "a"))
    with pytest.raises(WorkerBusy):
        worker.submit(blocking_job(release, log, "b"))
    release.set()
    assert first.wait(5) == "a"
    assert worker.submit(lambda cancel: 42).wait(5) == 42
    worker.stop()


def test_cancel_running_and_waiting_jobs():
    worker = QueryWorker(queue_size=2)
    release, log = threading.Event(), []
    running = worker.submit(blocking_job(release, log, "a"))
    waiting = worker.submit(blocking_job(release, log, "b"))
    running.started.wait(2)
    waiting.cancel()
    running.cancel()
    assert running.wait(5) == "cancelled"
    with pytest.raises(WorkerStopped, match="cancelled before it started"):
        waiting.wait(5)
    assert "start b" not in log
    worker.stop()


def test_job_exceptions_reach_the_caller_and_the_worker_goes_on():
    worker = QueryWorker(queue_size=1)

    def crash(cancel):
        raise MemoryError("CUDA out of memory")

    with pytest.raises(MemoryError, match="out of memory"):
        worker.submit(crash).wait(5)
    assert worker.submit(lambda cancel: "still alive").wait(5) == "still alive"
    worker.stop()


def test_stop_cancels_the_running_job_and_fails_waiting_ones():
    worker = QueryWorker(queue_size=2)
    release, log = threading.Event(), []
    running = worker.submit(blocking_job(release, log, "a"))
    waiting = worker.submit(blocking_job(release, log, "b"))
    running.started.wait(2)
    worker.stop()
    assert running.wait(5) == "cancelled"
    with pytest.raises(WorkerStopped, match="stopped before the query ran"):
        waiting.wait(1)
    with pytest.raises(WorkerStopped):
        worker.submit(lambda cancel: 1)


def test_wait_times_out():
    worker = QueryWorker(queue_size=0)
    release = threading.Event()
    ticket = worker.submit(blocking_job(release, [], "a"))
    with pytest.raises(TimeoutError):
        ticket.wait(0.05)
    release.set()
    worker.stop()
