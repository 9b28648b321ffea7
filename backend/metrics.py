"""Prometheus metrics of the backend and its workers, served at /metrics.

Under gunicorn (several worker processes) and with RQ workers on the same host, every process
writes its counters to PROMETHEUS_MULTIPROC_DIR (gunicorn_conf and the worker set it under
VAR_DIR) and a scrape adds them up; without it (tests, one process) the default registry is used.
Queue depth and lag are read from Redis at scrape time, so they are right whoever enqueued.
"""

from __future__ import annotations

import logging
import os
import time
from datetime import UTC
from collections.abc import Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from redis import Redis, RedisError
from rq import Queue

from backend.queueing.names import QUEUES

log = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
REDIS_TIMEOUT_SECONDS = 1

SENDS = Counter(
    "whatsapp_sends", "Outbound WhatsApp messages handed to Twilio, by outcome "
    "(sent, failed for good, retry: a transient error left it queued)", ["status"])
LLM_CALLS = Counter("llm_calls", "LLM calls, by outcome", ["outcome"])
LLM_SPEND = Counter(
    "llm_spend_micros", "LLM spend in millionths of the tenant's currency unit", ["currency"])


class QueueCollector(Collector):
    """Depth and lag (age of the oldest waiting job) of each RQ queue, read at scrape time."""

    def __init__(self, redis_url: str) -> None:
        self.redis_url = redis_url

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily("job_queue_up", "1 when Redis answered the queue metrics")
        depth = GaugeMetricFamily("job_queue_depth", "Jobs waiting in the queue", labels=["queue"])
        lag = GaugeMetricFamily(
            "job_queue_lag_seconds", "Seconds the oldest waiting job has waited", labels=["queue"])
        try:
            connection = Redis.from_url(self.redis_url, socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
                                        socket_timeout=REDIS_TIMEOUT_SECONDS)
            for name in QUEUES:
                queue = Queue(name, connection=connection)
                depth.add_metric([name], queue.count)
                lag.add_metric([name], _oldest_wait(queue))
        except RedisError as error:
            log.warning("queue metrics unavailable: %s", error)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield from (up, depth, lag)


def _oldest_wait(queue: Queue) -> float:
    for job_id in queue.get_job_ids(0, 1):
        job = queue.fetch_job(job_id)
        if job is not None and job.enqueued_at is not None:
            enqueued = job.enqueued_at
            if enqueued.tzinfo is None:  # RQ keeps UTC without a zone
                enqueued = enqueued.replace(tzinfo=UTC)
            return max(0.0, time.time() - enqueued.timestamp())
    return 0.0


def render(redis_url: str) -> tuple[bytes, str]:
    """The exposition text of every process's metrics plus the queues'."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = CollectorRegistry()
        registry.register(_Forward(REGISTRY))
    if redis_url:
        registry.register(QueueCollector(redis_url))
    return generate_latest(registry), CONTENT_TYPE_LATEST


class _Forward(Collector):
    """The default registry's metrics inside a per-scrape registry (one process, no multiproc)."""

    def __init__(self, source: CollectorRegistry) -> None:
        self.source = source

    def collect(self) -> Iterator:  # type: ignore[type-arg]
        return iter(self.source.collect())
