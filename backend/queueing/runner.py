"""Run jobs on RQ when REDIS_URL is set, else in an in-process thread pool, same retries.

Jobs are enqueued by name (queueing/names.py): RQ stores the dotted path and its worker imports
the function; the in-process runner imports it the same way, so neither this module nor the
services that enqueue import backend/jobs.

When Redis cannot be reached the RQ runner falls back to the in-process pool, so a reply or a
payment notice still goes out while Redis is down; what a job works on is in the database first
(the outbox, payments, events), so a job that dies with its process is found again by a sweep.
"""

from __future__ import annotations

import functools
import importlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Protocol

from redis import Redis, RedisError
from rq import Queue, Retry
from rq.job import get_current_job

from backend.queueing.names import JobRef
from observability.logs import bound, current
from backend.settings import Settings

log = logging.getLogger(__name__)

# Seconds to wait before the 1st, 2nd and 3rd retry of a failed job.
RETRY_INTERVALS: tuple[int, ...] = (2, 10, 30)
_final_attempt: ContextVar[bool | None] = ContextVar("final_attempt", default=None)
# The context (backend/wiring.py) an in-process job runs with: the one its runner was bound to.
_bound: ContextVar[object | None] = ContextVar("job_context", default=None)


class JobQueueUnavailable(RuntimeError):
    """The job could not be handed to the queue (Redis down)."""


def is_final_attempt() -> bool:
    """True when a failure now will not be retried (no RQ retry left, or last in-process try)."""
    flag = _final_attempt.get()
    if flag is not None:
        return flag
    job = get_current_job()
    return job is None or not job.retries_left


def job_meta() -> dict[str, str]:
    """The bound request context, for an enqueued job's RQ meta (`job_entry` binds it again)."""
    return {key: value for key, value in current().items() if value}


def bound_context_value() -> object | None:
    """The context bound for the job running in this thread (None in an RQ worker)."""
    return _bound.get()


@contextmanager
def bound_context(context: object) -> Iterator[None]:
    token = _bound.set(context)
    try:
        yield
    finally:
        _bound.reset(token)


@functools.cache
def job_function(path: str) -> Callable[..., Any]:
    """The job function a dotted path names, imported as an RQ worker imports it."""
    module, _, name = path.rpartition(".")
    function: Callable[..., Any] = getattr(importlib.import_module(module), name)
    return function


class JobRunner(Protocol):
    def bind(self, context: object) -> None: ...

    def enqueue(self, job: JobRef, *args: Any) -> None: ...

    def drain(self, timeout: float) -> None: ...


class RQRunner:
    """Enqueues on Redis; `rq worker -c backend.rq_settings --with-scheduler` runs the jobs (and
    timed retries).

    While Redis is unreachable, jobs run in this process instead (same retries); after a failure
    Redis is not tried again for `retry_redis_after` seconds, so no caller waits on it each time.
    """

    def __init__(
        self,
        redis_url: str,
        fallback: InProcessRunner | None = None,
        retry_redis_after: float = 5.0,
    ) -> None:
        # from_url only builds a pool; the first command opens the connection.
        self.connection = Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=5)
        self.fallback = fallback
        self._retry_redis_after = retry_redis_after
        self._redis_down_until = 0.0
        self._timers: set[threading.Timer] = set()
        self._timers_lock = threading.Lock()

    def bind(self, context: object) -> None:
        """Workers build their own context from the environment (see jobs/job_context.py)."""
        if self.fallback is not None:
            self.fallback.bind(context)

    def enqueue(self, job: JobRef, *args: Any) -> None:
        if self.fallback is not None and time.monotonic() < self._redis_down_until:
            self.fallback.enqueue(job, *args)
            return
        retry = Retry(max=len(RETRY_INTERVALS), interval=list(RETRY_INTERVALS))
        try:
            options: dict[str, Any] = {"job_timeout": job.timeout} if job.timeout else {}
            Queue(job.queue, connection=self.connection).enqueue(
                job.path, *args, retry=retry, meta=job_meta(),  # the request context, for the worker
                **options)
        except RedisError as error:
            if self.fallback is None:
                raise JobQueueUnavailable(
                    f"could not enqueue on {job.queue!r}: {error}") from error
            self._redis_down_until = time.monotonic() + self._retry_redis_after
            log.warning("Redis unreachable (%s): running %s in this process", error, job.path)
            self.fallback.enqueue(job, *args)

    def in_process_later(
        self, delay: float, job: JobRef, *args: Any, unless: Callable[[], bool],
    ) -> None:
        """After `delay` seconds run the job in this process too, unless `unless()` says it
        was taken (a worker picked it up); a daemon timer, so exiting never waits for it."""
        fallback = self.fallback
        if fallback is None:
            return

        def fire() -> None:
            with self._timers_lock:
                self._timers.discard(timer)
            if not unless():
                log.warning("%s%s not taken by a worker after %ss: running it here",
                            job.path, args, delay)
                fallback.enqueue(job, *args)

        timer = threading.Timer(delay, fire)
        timer.daemon = True
        with self._timers_lock:
            self._timers.add(timer)
        timer.start()

    def drain(self, timeout: float) -> None:
        """Cancel pending in-process timers and wait for the jobs that fell back here."""
        with self._timers_lock:
            timers, self._timers = self._timers, set()
        for timer in timers:
            timer.cancel()
        if self.fallback is not None:
            self.fallback.drain(timeout)


class InProcessRunner:
    """A thread pool in this process; each job gets the same retries and intervals as on RQ."""

    def __init__(
        self,
        max_workers: int = 4,
        intervals: Sequence[float] = RETRY_INTERVALS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._max_workers = max_workers
        self._intervals = tuple(intervals)
        self._sleep = sleep
        self._context: object | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._futures: set[Future[Any]] = set()
        self._lock = threading.Lock()

    def bind(self, context: object) -> None:
        self._context = context

    def enqueue(self, job: JobRef, *args: Any) -> None:
        self.submit(job_function(job.path), *args)

    def submit(self, func: Callable[..., Any], *args: Any) -> None:
        """Run `func(*args)` on the pool with the retries of a job."""
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self._max_workers, thread_name_prefix="jobs")
            try:
                future = self._executor.submit(self._run, func, args, job_meta())
            except RuntimeError:
                future = None  # the interpreter is shutting down: no new thread may start
            else:
                self._futures.add(future)
        if future is None:
            # A job enqueued by another job while the process exits: run it here and now
            # rather than lose it ("cannot schedule new futures after interpreter shutdown").
            self._run_inline(func, args)
            return
        future.add_done_callback(self._forget)

    def _run_inline(self, func: Callable[..., Any], args: tuple[Any, ...]) -> None:
        try:
            self._run(func, args, job_meta())
        except Exception:  # logged by _run as failed for good; the caller's job goes on
            pass

    def join(self, timeout: float) -> None:
        """Wait for the jobs enqueued so far (tests, shutdown); TimeoutError if one hangs."""
        with self._lock:
            pending = set(self._futures)
        _, not_done = wait(pending, timeout)
        if not_done:
            raise TimeoutError(f"{len(not_done)} in-process job(s) still running after {timeout}s")

    def drain(self, timeout: float) -> None:
        """Wait until no job is left, including jobs enqueued by jobs (a one-shot command
        calls this before exiting, so that nothing it started dies with the interpreter)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                pending = set(self._futures)
            if not pending:
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(
                    f"{len(pending)} in-process job(s) still running after {timeout}s"
                )
            wait(pending, remaining)

    def _forget(self, future: Future[Any]) -> None:
        with self._lock:
            self._futures.discard(future)

    def _run(self, func: Callable[..., Any], args: tuple[Any, ...], meta: dict[str, str]) -> Any:
        if self._context is None:
            raise RuntimeError("InProcessRunner used before bind(context)")
        with bound_context(self._context), bound(**meta):
            delays: list[float | None] = [*self._intervals, None]
            for attempt, delay in enumerate(delays, start=1):
                token = _final_attempt.set(delay is None)
                try:
                    return func(*args)
                except Exception as error:
                    if delay is None:
                        log.exception(
                            "job %s failed for good (attempt %d)", func.__qualname__, attempt
                        )
                        raise
                    log.warning(
                        "job %s failed (attempt %d), retrying in %ss: %s",
                        func.__qualname__,
                        attempt,
                        delay,
                        error,
                    )
                finally:
                    _final_attempt.reset(token)
                self._sleep(delay)
        return None


def make_job_runner(settings: Settings) -> RQRunner | InProcessRunner:
    if not settings.redis_url:
        return InProcessRunner()
    fallback = InProcessRunner() if settings.jobs_fallback_in_process else None
    return RQRunner(settings.redis_url, fallback)


def drain_jobs(runner: JobRunner, timeout: float = 300.0) -> None:
    """Before a one-shot command exits: finish what it ran in this process."""
    runner.drain(timeout)
