"""Health: a real query on the database, a PING to Redis when one is configured, the RQ workers
(count, last heartbeat), each queue's depth and lag (age of its oldest job), and the outbox's
oldest unsent reply.

`status` is "down" (HTTP 503) only when this backend cannot serve: the database is unreachable,
or Redis is and jobs may not run in-process. A missing worker, a lagging queue or Redis down
with the in-process fallback make it "degraded" (HTTP 200): the backend still answers and sends.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone

from redis import Redis
from rq import Queue, Worker
from rq.exceptions import NoSuchJobError
from rq.job import Job
from sqlalchemy import func, select

from backend.wiring import Context
from backend.models import OutboundMessage
from backend.models.base import utcnow
from backend.queueing.names import QUEUES

log = logging.getLogger(__name__)
REDIS_TIMEOUT_SECONDS = 2


@dataclass(frozen=True)
class QueueLag:
    depth: int
    oldest_seconds: float | None  # None when empty


@dataclass(frozen=True)
class Workers:
    count: int
    last_heartbeat: datetime | None


@dataclass(frozen=True)
class Health:
    database: str  # ok | down
    redis: str  # ok | down | disabled
    jobs: str = "in_process"  # rq | in_process | in_process_fallback (Redis down)
    workers: Workers | None = None  # None without Redis
    queues: dict[str, QueueLag] = field(default_factory=dict)
    outbox: QueueLag | None = None
    lag_limit_seconds: int = 60

    @property
    def problems(self) -> list[str]:
        found = []
        if self.redis == "down":
            found.append("redis unreachable")
        if self.redis == "ok" and self.workers is not None and self.workers.count == 0:
            found.append("no RQ worker")
        lags = {**self.queues, **({"outbox": self.outbox} if self.outbox else {})}
        for name, lag in lags.items():
            if lag.oldest_seconds is not None and lag.oldest_seconds > self.lag_limit_seconds:
                found.append(f"{name} lag {lag.oldest_seconds:.0f}s")
        return found

    @property
    def status(self) -> str:
        if self.database != "ok" or (self.redis == "down" and self.jobs != "in_process_fallback"):
            return "down"
        return "degraded" if self.problems else "ok"

    @property
    def ok(self) -> bool:
        """Able to serve (HTTP 200), perhaps degraded."""
        return self.status != "down"


def _database(ctx: Context) -> str:
    try:
        ctx.db.ping()
    except Exception:  # any failure to answer means down; the log says why
        log.warning("health: database check failed", exc_info=True)
        return "down"
    return "ok"


def outbox_lag(ctx: Context) -> QueueLag | None:
    """Replies stored but not yet sent, and the age of the oldest: the lag customers feel,
    with or without Redis."""
    try:
        with ctx.db.transaction() as session:
            depth, oldest = session.execute(
                select(func.count(OutboundMessage.id), func.min(OutboundMessage.due_at))
                .where(OutboundMessage.status == "queued")
            ).one()
    except Exception:
        log.warning("health: outbox check failed", exc_info=True)
        return None
    return QueueLag(int(depth), _age(oldest))


def _age(moment: datetime | None) -> float | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return round(max(0.0, (utcnow() - moment).total_seconds()), 1)


def queue_lag(queue: Queue) -> QueueLag:
    """Jobs waiting on an RQ queue and how long the oldest has waited (None when empty)."""
    depth = queue.count
    oldest = None
    for job_id in queue.get_job_ids(0, 1):  # (offset, length): the oldest
        try:
            oldest = _age(Job.fetch(job_id, connection=queue.connection).enqueued_at)
        except NoSuchJobError:  # its hash expired while its id stayed queued
            oldest = None
    return QueueLag(depth, oldest)


def rq_workers(connection: Redis) -> Workers:
    """Registered workers and their latest heartbeat (an idle worker beats every few minutes)."""
    workers = Worker.all(connection=connection)
    beats = [w.last_heartbeat for w in workers if w.last_heartbeat is not None]
    return Workers(len(workers), max(beats) if beats else None)


def check_health(ctx: Context) -> Health:
    database = _database(ctx)
    outbox = outbox_lag(ctx) if database == "ok" else None
    limit = ctx.settings.health_queue_lag_seconds
    if not ctx.settings.redis_url:
        return Health(database, "disabled", outbox=outbox, lag_limit_seconds=limit)
    fallback = "in_process_fallback" if ctx.settings.jobs_fallback_in_process else "none"
    client = Redis.from_url(
        ctx.settings.redis_url,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
    )
    try:
        client.ping()
        workers = rq_workers(client)
        queues = {name: queue_lag(Queue(name, connection=client)) for name in QUEUES}
    except Exception:
        log.warning("health: redis check failed", exc_info=True)
        return Health(database, "down", fallback, outbox=outbox, lag_limit_seconds=limit)
    finally:
        client.close()
    return Health(database, "ok", "rq", workers, queues, outbox, limit)
