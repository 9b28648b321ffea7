"""Order jobs (queue `default`): cancel unpaid orders and release their stock.

Run it periodically: `python -m backend.jobs.orders` once (cron, systemd timer), or
`python -m backend.jobs.orders --schedule` with REDIS_URL set to enqueue the first run; every run
on RQ then schedules the next one with `enqueue_in` (the worker needs `--with-scheduler`).
"""

from __future__ import annotations

import argparse
import logging
from datetime import timedelta

from redis import Redis
from rq import Queue
from rq.job import Job
from rq.registry import ScheduledJobRegistry

from backend.jobs.context import job_context
from backend.observability import job_entry

log = logging.getLogger(__name__)
QUEUE = "default"
# By name: run as `python -m backend.jobs.orders`, this module is __main__, which RQ refuses.
JOB = "backend.jobs.orders.expire_unpaid_orders"


@job_entry
def expire_unpaid_orders(reschedule: bool = False) -> dict[str, int]:
    """Cancel orders pending payment longer than ORDER_PAYMENT_TIMEOUT_MINUTES."""
    from backend.services.orders import expire_unpaid

    ctx = job_context()
    minutes = ctx.settings.order_payment_timeout_minutes
    expired = expire_unpaid(ctx, timedelta(minutes=minutes))
    if expired:
        log.info("expired %d unpaid order(s): %s", len(expired), expired)
    if reschedule and ctx.settings.redis_url:
        schedule_next(ctx.settings.redis_url, check_every_minutes(minutes))
    return {"expired": len(expired)}


def check_every_minutes(timeout_minutes: int) -> int:
    """Often enough that an order never outlives its timeout by more than a fifth of it."""
    return max(1, min(5, timeout_minutes // 5))


def schedule_next(redis_url: str, minutes: int) -> None:
    queue = Queue(QUEUE, connection=Redis.from_url(redis_url))
    queue.enqueue_in(timedelta(minutes=minutes), expire_unpaid_orders, True)


def already_scheduled(queue: Queue) -> bool:
    """A self-rescheduling run is waiting or queued: starting another chain would double the work."""
    waiting = ScheduledJobRegistry(queue=queue).get_job_ids() + queue.get_job_ids()
    return any(job.func_name == JOB
               for job in Job.fetch_many(waiting, connection=queue.connection) if job)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=expire_unpaid_orders.__doc__)
    parser.add_argument("--schedule", action="store_true",
                        help="enqueue a self-rescheduling run on RQ (needs REDIS_URL)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    if args.schedule:
        ctx = job_context()
        if not ctx.settings.redis_url:
            raise SystemExit("--schedule needs REDIS_URL")
        queue = Queue(QUEUE, connection=Redis.from_url(ctx.settings.redis_url))
        if already_scheduled(queue):
            print("expire_unpaid_orders is already scheduled on queue", QUEUE)
            return
        queue.enqueue(JOB, True)
        print("scheduled expire_unpaid_orders on queue", QUEUE)
        return
    print(expire_unpaid_orders())


if __name__ == "__main__":
    main()
