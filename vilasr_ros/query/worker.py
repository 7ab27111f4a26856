"""One worker thread that owns the model and runs queries in order, with a bounded queue.

Service and action callbacks submit jobs and wait on the returned ticket; image
callbacks never touch the worker, so ingestion never waits on inference. A full
queue refuses new jobs at once ("busy"); a place can be reserved ahead of the
job (an action goal is accepted or rejected before it executes). Cancelling a
waiting ticket takes it out of the queue and finishes it at once; cancelling the
running one sets its cancel event (the job stops at its next check).
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
    """The worker was stopped (node shutting down), or the ticket was cancelled before it ran."""


@dataclass
class Ticket(Generic[Result]):
    """A submitted job: wait for its result, or cancel it."""

    job: Callable[[threading.Event], Result]
    cancel_event: threading.Event = field(default_factory=threading.Event)
    started: threading.Event = field(default_factory=threading.Event)
    cancel_reason: str = ""  # why it was cancelled ("" while it is not)
    _done: threading.Event = field(default_factory=threading.Event)
    _result: Result | None = None
    _error: BaseException | None = None
    _worker: QueryWorker | None = None

    def cancel(self, reason: str = "cancelled") -> None:
        """Ask the job to stop: a waiting job is withdrawn and finished at once, a running one sees its event."""
        if not self.cancel_reason:
            self.cancel_reason = reason
        self.cancel_event.set()
        if self._worker is not None:
            self._worker._withdraw(self)

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


class Reservation:
    """A place in the queue held for a job not yet submitted (:meth:`QueryWorker.reserve`)."""

    def __init__(self, worker: QueryWorker) -> None:
        self._worker = worker
        self.used = False

    def release(self) -> None:
        """Give the place back unused (idempotent; a no-op once used)."""
        self._worker._release(self)


class QueryWorker:
    """Runs submitted jobs one at a time on its own (daemon) thread; ``queue_size`` jobs may wait behind
    the running one (reserved places count as waiting)."""

    def __init__(self, queue_size: int, name: str = "vilasr-worker") -> None:
        self._queue_size = queue_size
        self._waiting: deque[Ticket] = deque()
        self._reserved: set[Reservation] = set()
        self._running: Ticket | None = None
        self._stopped = False
        self._condition = threading.Condition()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def reserve(self) -> Reservation:
        """Hold a place for a job submitted later; raises WorkerBusy when full, WorkerStopped after stop()."""
        reservation = Reservation(self)
        with self._condition:
            self._check_room()
            self._reserved.add(reservation)
        return reservation

    def submit(
        self, job: Callable[[threading.Event], Result], reservation: Reservation | None = None
    ) -> Ticket[Result]:
        """Queue ``job`` (called with its cancel event), in ``reservation``'s place when given;
        raises WorkerBusy when full, WorkerStopped after stop() (or when the reservation was dropped)."""
        ticket: Ticket[Result] = Ticket(job, _worker=self)
        with self._condition:
            if reservation is not None and reservation in self._reserved and not self._stopped:
                self._reserved.discard(reservation)
                reservation.used = True
            elif reservation is not None:
                raise WorkerStopped("the query's place in the queue was dropped (the node stopped)")
            else:
                self._check_room()
            self._waiting.append(ticket)
            self._condition.notify()
        return ticket

    def set_queue_size(self, queue_size: int) -> None:
        """Admit up to ``queue_size`` waiting queries from now on (those already admitted stay)."""
        if queue_size < 0:
            raise ValueError(f"queue_size must be >= 0, got {queue_size}")
        with self._condition:
            self._queue_size = queue_size

    @property
    def pending(self) -> int:
        """Queries waiting, reserved or running."""
        with self._condition:
            return self._pending()

    def cancel_all(self, reason: str) -> int:
        """Cancel the running job and every waiting one (``reason`` tells their callers why); the worker
        stays usable. Returns how many were cancelled."""
        with self._condition:
            tickets = [*self._waiting, *([self._running] if self._running is not None else [])]
        for ticket in tickets:
            ticket.cancel(reason)
        return len(tickets)

    def stop(self, timeout: float = 5.0) -> None:
        """Cancel everything, refuse new jobs, and end the thread (waits up to ``timeout`` s; the thread
        is a daemon, so a job that ignores its cancel event cannot hold the process)."""
        with self._condition:
            self._stopped = True
            waiting, self._waiting = list(self._waiting), deque()
            self._reserved.clear()
            if self._running is not None:
                self._running.cancel("the node is shutting down")
            self._condition.notify()
        for ticket in waiting:
            ticket._finish(error=WorkerStopped("the node stopped before the query ran"))
        self._thread.join(timeout)

    def _pending(self) -> int:
        return len(self._waiting) + len(self._reserved) + (self._running is not None)

    def _check_room(self) -> None:
        if self._stopped:
            raise WorkerStopped("the query worker is stopped")
        if self._pending() > self._queue_size:
            raise WorkerBusy(
                f"busy: {self._pending()} queries are running or waiting (query.queue_size is {self._queue_size})"
            )

    def _withdraw(self, ticket: Ticket) -> None:
        with self._condition:
            try:
                self._waiting.remove(ticket)
            except ValueError:
                return  # running or finished: its cancel event does the rest
        ticket._finish(error=WorkerStopped(f"{ticket.cancel_reason} before it started"))

    def _release(self, reservation: Reservation) -> None:
        with self._condition:
            self._reserved.discard(reservation)

    def _run(self) -> None:
        while True:
            with self._condition:
                while not self._waiting and not self._stopped:
                    self._condition.wait()
                if self._stopped:
                    return
                ticket = self._running = self._waiting.popleft()
                ticket.started.set()
            if ticket.cancel_event.is_set():  # cancelled while being taken from the queue
                ticket._finish(error=WorkerStopped(f"{ticket.cancel_reason} before it started"))
            else:
                try:
                    ticket._finish(result=ticket.job(ticket.cancel_event))
                except BaseException as error:
                    ticket._finish(error=error)
            with self._condition:
                self._running = None
