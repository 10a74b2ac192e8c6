"""One edit at a time on the device, a bounded queue behind it, and cancellation.

The RPC handler thread submits a Job and reads its `events`; the single worker thread runs jobs in order. A job's
`cancelled` flag is set when its client goes away; the running job polls it every optimisation step, a waiting job is
dropped when its turn comes.
"""
from __future__ import annotations

import collections
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from ..errors import JobCancelledError, QueueFullError, SemanticEditError, ServerShuttingDownError

log = logging.getLogger(__name__)

SHUTTING_DOWN = "the server is shutting down"

# Event kinds put on Job.events by the worker.
PROGRESS, RESULT, ERROR = "progress", "result", "error"


class Job:
    """One edit. `work(job)` runs on the worker thread and returns the result; it may call `job.report(...)`."""

    def __init__(self, work: Callable[[Job], Any]):
        self.work = work
        self.events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.cancelled = threading.Event()
        self.shutdown = False  # cancelled because the server stops, not by its client

    def cancel(self) -> None:
        self.cancelled.set()

    def should_stop(self) -> bool:
        return self.cancelled.is_set()

    def report(self, stage: str, step: int, total: int, message: str) -> None:
        self.events.put((PROGRESS, (stage, step, total, message)))


class JobQueue:
    def __init__(self, max_queued: int):
        self.max_queued = max_queued
        self._waiting: collections.deque[Job] = collections.deque()
        self._condition = threading.Condition()
        self._running: Job | None = None
        self._closed = False
        self._worker = threading.Thread(target=self._work_loop, name="edit-worker", daemon=True)
        self._worker.start()

    def submit(self, job: Job) -> int:
        """Queues the job; returns how many jobs are ahead of it. Raises QueueFullError past the bound."""
        with self._condition:
            if self._closed:
                raise ServerShuttingDownError(SHUTTING_DOWN + "; resend the edit once it is back")
            for gone in [waiting for waiting in self._waiting if waiting.should_stop()]:
                self._waiting.remove(gone)  # their clients left: they no longer hold a place
                gone.events.put((ERROR, JobCancelledError("the job was cancelled by its client before it started")))
            if len(self._waiting) >= self.max_queued:
                raise QueueFullError(
                    f"the server is busy: one edit is running and {len(self._waiting)} are waiting, the most it "
                    "queues; try again when one has finished (or start the server with a larger --max-queued-jobs)")
            ahead = len(self._waiting) + (self._running is not None)
            self._waiting.append(job)
            self._condition.notify()
            return ahead

    def close(self) -> None:
        """Refuses new jobs, answers the waiting ones that the server is stopping, stops the running one (its client
        hears the same) and ends the worker once it has."""
        with self._condition:
            self._closed = True
            while self._waiting:
                job = self._waiting.popleft()
                job.shutdown = True
                job.cancel()
                job.events.put((ERROR, ServerShuttingDownError(
                    SHUTTING_DOWN + " before this edit started; resend it once the server is back")))
            if self._running is not None:
                self._running.shutdown = True
                self._running.cancel()
            self._condition.notify()

    def join(self, timeout: float | None = None) -> None:
        """Waits for the worker to end (after close())."""
        self._worker.join(timeout)

    def _next_job(self) -> Job | None:
        with self._condition:
            while not self._waiting and not self._closed:
                self._condition.wait()
            if not self._waiting:
                return None
            self._running = self._waiting.popleft()
            return self._running

    def _work_loop(self) -> None:
        while (job := self._next_job()) is not None:
            try:
                if job.should_stop():
                    raise JobCancelledError("the job was cancelled by its client before it started")
                job.events.put((RESULT, job.work(job)))
            except JobCancelledError as error:
                log.info("job cancelled: %s", "the server stops" if job.shutdown else error)
                job.events.put((ERROR, ServerShuttingDownError(
                    SHUTTING_DOWN + ": this edit was stopped before it finished; resend it once the server is back")
                    if job.shutdown else error))
            except SemanticEditError as error:  # the request's own problem (bad input, nothing found): no traceback
                log.info("job refused: %s", error)
                job.events.put((ERROR, error))
            except Exception as error:  # noqa: BLE001 - reported to the client, logged in full here
                log.exception("edit failed")
                job.events.put((ERROR, error))
            finally:
                with self._condition:
                    self._running = None
