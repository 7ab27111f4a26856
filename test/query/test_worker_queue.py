"""The query worker's queue under a robot's load: reserved places, instant cancel of waiting jobs, cancel_all."""

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
        return name

    return job


def test_cancelling_a_waiting_ticket_finishes_it_at_once_while_the_running_job_goes_on():
    worker = QueryWorker(queue_size=2)
    release, log = threading.Event(), []
    running = worker.submit(blocking_job(release, log, "a"))
    waiting = worker.submit(blocking_job(release, log, "b"))
    assert running.started.wait(5)
    started = time.monotonic()
    waiting.cancel("cancelled by the client")
    with pytest.raises(WorkerStopped, match="cancelled by the client before it started"):
        waiting.wait(0.5)  # not after the running job: it is still running
    assert time.monotonic() - started < 0.5
    assert not running.done and worker.pending == 1
    release.set()
    assert running.wait(5) == "a"
    assert "start b" not in log
    worker.stop()


def test_reserved_places_count_as_waiting_and_are_used_by_submit():
    worker = QueryWorker(queue_size=1)
    release, log = threading.Event(), []
    first = worker.reserve()
    second = worker.reserve()  # one running (later) + one waiting = full
    with pytest.raises(WorkerBusy, match="busy: 2 queries are running or waiting"):
        worker.reserve()
    with pytest.raises(WorkerBusy):
        worker.submit(blocking_job(release, log, "x"))
    second.release()
    third = worker.reserve()  # the released place is free again
    running = worker.submit(blocking_job(release, log, "a"), reservation=first)
    queued = worker.submit(blocking_job(release, log, "b"), reservation=third)
    assert worker.pending == 2
    release.set()
    assert (running.wait(5), queued.wait(5)) == ("a", "b")
    assert worker.pending == 0
    worker.stop()


def test_a_reservation_dropped_by_stop_cannot_be_submitted():
    worker = QueryWorker(queue_size=1)
    reservation = worker.reserve()
    worker.stop()
    with pytest.raises(WorkerStopped):
        worker.submit(lambda cancel: 1, reservation=reservation)


def test_cancel_all_cancels_running_and_waiting_with_a_reason_and_the_worker_goes_on():
    worker = QueryWorker(queue_size=2)
    release, log = threading.Event(), []
    running = worker.submit(blocking_job(release, log, "a"))
    waiting = worker.submit(blocking_job(release, log, "b"))
    assert running.started.wait(5)
    assert worker.cancel_all("the node was deactivated") == 2
    assert running.wait(5) == "cancelled" and running.cancel_reason == "the node was deactivated"
    with pytest.raises(WorkerStopped, match="the node was deactivated before it started"):
        waiting.wait(0.5)
    assert worker.submit(lambda cancel: "next").wait(5) == "next"
    worker.stop()


def test_stop_returns_even_when_a_job_ignores_its_cancel_event():
    worker = QueryWorker(queue_size=0)
    stuck = threading.Event()
    worker.submit(lambda cancel: stuck.wait(30))
    time.sleep(0.05)
    started = time.monotonic()
    worker.stop(timeout=0.3)
    assert time.monotonic() - started < 2.0
    assert worker._thread.daemon  # the process can still exit
    stuck.set()
