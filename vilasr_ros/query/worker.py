"""One worker thread that owns the model and runs queries in order, with a bounded queue.

Service and action callbacks submit jobs and wait on the returned ticket; image
callbacks never touch the worker, so ingestion never waits on inference. A full
queue refuses new jobs at once ("busy"); a ticket can be cancelled while it
waits or while it runs (the running job sees its cancel event).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

Result = TypeVar("Result")


class WorkerBusy(RuntimeError):
    """The queue is full; the message says how many queries are ahead."""


class WorkerStopped(RuntimeError):
    """The worker was stopped (node deactivated or shutting down)."""


@dataclass
class Ticket(Generic[Result]):
    """A submitted job: wait for its result, or cancel it."""

    job: Callable[[threading.Event], Result]
    cancel_event: threading.Event = field(default_factory=threading.Event)
    started: threading.Event = field(default_factory=threading.Event)
    _done: threading.Event = field(default_factory=threading.Event)
    _result: Result | None = None
    _error: BaseException | None = None

    def cancel(self) -> None:
        """Ask the job to stop; a job still queued is skipped."""
        self.cancel_event.set()

    def wait(self, timeout: float | None = None) -> Result:
        """The job's result (re-raises its exception); TimeoutError if not done in ``timeout`` s."""
        if not self._done.wait(timeout):
            raise TimeoutError("the query did not finish in time")
        if self._error is not None:
            raise self._error
        return self._result  # type: ignore[return-value]

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def _finish(self, result: Result | None = None, error: BaseException | None = None) -> None:
        self._result, self._error = result, error
        self._done.set()


class QueryWorker:
    """Runs submitted jobs one at a time on its own thread; ``queue_size`` jobs may wait behind the running one."""

    def __init__(self, queue_size: int, name: str = "vilasr-worker") -> None:
        self._queue_size = queue_size
        self._waiting: deque[Ticket] = deque()
        self._running: Ticket | None = None
        self._stopped = False
        self._condition = threading.Condition()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, job: Callable[[threading.Event], Result]) -> Ticket[Result]:
        """Queue ``job`` (called with its cancel event); raises WorkerBusy when full, WorkerStopped after stop()."""
        ticket: Ticket[Result] = Ticket(job)
        with self._condition:
            if self._stopped:
                raise WorkerStopped("the query worker is stopped")
            if len(self._waiting) + (self._running is not None) > self._queue_size:
                raise WorkerBusy(
                    f"busy: a query is running and {len(self._waiting)} are waiting "
                    f"(query.queue_size is {self._queue_size})"
                )
            self._waiting.append(ticket)
            self._condition.notify()
        return ticket

    @property
    def pending(self) -> int:
        """Queries waiting or running."""
        with self._condition:
            return len(self._waiting) + (self._running is not None)

    def stop(self, timeout: float = 5.0) -> None:
        """Cancel everything, refuse new jobs, and end the thread (waits up to ``timeout`` s)."""
        with self._condition:
            self._stopped = True
            waiting, self._waiting = list(self._waiting), deque()
            if self._running is not None:
                self._running.cancel()
            self._condition.notify()
        for ticket in waiting:
            ticket._finish(error=WorkerStopped("the node stopped before the query ran"))
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._condition:
                while not self._waiting and not self._stopped:
                    self._condition.wait()
                if self._stopped:
                    return
                ticket = self._running = self._waiting.popleft()
            if ticket.cancel_event.is_set():
                ticket._finish(error=WorkerStopped("cancelled before it started"))
            else:
                ticket.started.set()
                try:
                    ticket._finish(result=ticket.job(ticket.cancel_event))
                except BaseException as error:
                    ticket._finish(error=error)
            with self._condition:
                self._running = None
