"""Payment jobs (queue `default`): STK pushes, provider events, customer notices, payouts,
and the sweep that expires unanswered STK pushes and requeues events left unprocessed.

`python -m backend.jobs.payments` sweeps once (cron); `--schedule` (REDIS_URL) enqueues a
self-rescheduling sweep every minute; `--payouts` queues the B2C payouts of approved
withdrawals (the operator's run; also POST /internal/v1/payouts/process).
"""

from __future__ import annotations

import argparse
import logging
from datetime import timedelta
from typing import Any

from redis import Redis
from rq import Queue
from rq.job import Job
from rq.registry import ScheduledJobRegistry

from backend.jobs.context import job_context
from backend.jobs.runner import is_final_attempt
from backend.observability import job_entry

log = logging.getLogger(__name__)
QUEUE = "default"
SWEEP_JOB = "backend.jobs.payments.sweep_payments"
SWEEP_EVERY = timedelta(minutes=1)


@job_entry
def send_stk_push(payment_id: int) -> str:
    from backend.services.payments import push_stk

    return push_stk(job_context(), payment_id, final_attempt=is_final_attempt()).result


@job_entry
def process_event(event_id: int) -> str:
    from backend.services.payment_webhooks import process_event as process

    return process(job_context(), event_id, final_attempt=is_final_attempt())


@job_entry
def notify_customer(payment_id: int) -> str:
    from backend.services.payment_notices import notify_customer as notify

    return notify(job_context(), payment_id, final_attempt=is_final_attempt())


@job_entry
def pay_withdrawal(withdrawal_id: int) -> str:
    from backend.services.payouts import send_payout

    return send_payout(job_context(), withdrawal_id, final_attempt=is_final_attempt())


@job_entry
def sweep_payments(reschedule: bool = False) -> dict[str, Any]:
    """Expire unanswered STK pushes (after asking Daraja) and requeue stalled events."""
    from backend.services.payment_webhooks import requeue_stale_events
    from backend.services.payments import expire_stk_payments

    ctx = job_context()
    expired = expire_stk_payments(ctx)
    requeued = requeue_stale_events(ctx)
    if reschedule and ctx.settings.redis_url:
        Queue(QUEUE, connection=Redis.from_url(ctx.settings.redis_url)).enqueue_in(
            SWEEP_EVERY, sweep_payments, True)
    return {"expired": len(expired), "requeued": len(requeued)}


def already_scheduled(queue: Queue) -> bool:
    waiting = ScheduledJobRegistry(queue=queue).get_job_ids() + queue.get_job_ids()
    return any(job.func_name == SWEEP_JOB
               for job in Job.fetch_many(waiting, connection=queue.connection) if job)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=sweep_payments.__doc__)
    parser.add_argument("--schedule", action="store_true",
                        help="enqueue a self-rescheduling sweep on RQ (needs REDIS_URL)")
    parser.add_argument("--payouts", action="store_true",
                        help="queue the payouts of approved withdrawals")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    ctx = job_context()
    if args.payouts:
        from backend.services.payouts import queue_payouts

        print({"queued": queue_payouts(ctx)})
        return
    if args.schedule:
        if not ctx.settings.redis_url:
            raise SystemExit("--schedule needs REDIS_URL")
        queue = Queue(QUEUE, connection=Redis.from_url(ctx.settings.redis_url))
        if already_scheduled(queue):
            print("sweep_payments is already scheduled on queue", QUEUE)
            return
        queue.enqueue(SWEEP_JOB, True)
        print("scheduled sweep_payments on queue", QUEUE)
        return
    print(sweep_payments())


if __name__ == "__main__":
    main()
