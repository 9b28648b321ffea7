"""Run jobs on RQ when REDIS_URL is set, else in an in-process thread pool, same retries."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Protocol

from redis import Redis, RedisError
from rq import Queue, Retry
from rq.job import get_current_job

from backend.jobs.context import bound_context
from backend.observability import job_meta
from observability.logs import bound
from backend.settings import Settings

if TYPE_CHECKING:
    from backend.context import Context

log = logging.getLogger(__name__)

# Seconds to wait before the 1st, 2nd and 3rd retry of a failed job.
RETRY_INTERVALS: tuple[int, ...] = (2, 10, 30)
_final_attempt: ContextVar[bool | None] = ContextVar("final_attempt", default=None)


class JobQueueUnavailable(RuntimeError):
    """The job could not be handed to the queue (Redis down)."""


def is_final_attempt() -> bool:
    """True when a failure now will not be retried (no RQ retry left, or last in-process try)."""
    flag = _final_attempt.get()
    if flag is not None:
        return flag
    job = get_current_job()
    return job is None or not job.retries_left


class JobRunner(Protocol):
    def bind(self, context: Context) -> None: ...

    def enqueue(self, queue: str, func: Callable[..., Any], *args: Any) -> None: ...


class RQRunner:
    """Enqueues on Redis; `rq worker <queue> --with-scheduler` runs the jobs (and timed retries)."""

    def __init__(self, redis_url: str) -> None:
        # from_url only builds a pool; the first command opens the connection.
        self.connection = Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=5)

    def bind(self, context: Context) -> None:
        """Workers build their own context from the environment (see jobs/context.py)."""

    def enqueue(self, queue: str, func: Callable[..., Any], *args: Any) -> None:
        retry = Retry(max=len(RETRY_INTERVALS), interval=list(RETRY_INTERVALS))
        try:
            Queue(queue, connection=self.connection).enqueue(
                func, *args, retry=retry, meta=job_meta()  # the request context, for the worker
            )
        except RedisError as error:
            raise JobQueueUnavailable(f"could not enqueue on {queue!r}: {error}") from error


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
        self._context: Context | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._futures: set[Future[Any]] = set()
        self._lock = threading.Lock()

    def bind(self, context: Context) -> None:
        self._context = context

    def enqueue(self, queue: str, func: Callable[..., Any], *args: Any) -> None:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self._max_workers, thread_name_prefix="jobs")
            future = self._executor.submit(self._run, func, args, job_meta())
            self._futures.add(future)
        future.add_done_callback(self._forget)

    def join(self, timeout: float) -> None:
        """Wait for the jobs enqueued so far (tests, shutdown); TimeoutError if one hangs."""
        with self._lock:
            pending = set(self._futures)
        _, not_done = wait(pending, timeout)
        if not_done:
            raise TimeoutError(f"{len(not_done)} in-process job(s) still running after {timeout}s")

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
    return RQRunner(settings.redis_url) if settings.redis_url else InProcessRunner()
