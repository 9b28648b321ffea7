"""Payment jobs (queue `default`): STK pushes, provider events, customer notices, payouts,
and the sweep that expires unanswered STK pushes and requeues events left unprocessed.

The sweep is scheduled with the others in backend/jobs/schedule.py (RQ cron, or an in-process
loop without Redis); `python -m backend.jobs.payments` sweeps once now; `--payouts` queues the
B2C payouts of approved withdrawals (the operator's run; also POST /internal/v1/payouts/process).
Either finishes what it ran in this process (a customer's payment notice) before exiting.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

from backend.jobs.job_context import job_context
from backend.observability import job_entry
from backend.queueing.runner import drain_jobs, is_final_attempt
from backend.services.payments.notices import notify_customer as notify
from backend.services.payments.webhooks import process_event as process
from backend.services.payments.webhooks import requeue_stale_events
from backend.services.payments.payments import expire_stk_payments, push_stk
from backend.services.payments.payouts import queue_payouts, send_payout
from backend.services.payments.refunds import pending_refunds, queue_refund
from backend.services.payments.refunds import send_refund as refund

log = logging.getLogger(__name__)


@job_entry
def send_stk_push(payment_id: int) -> str:
    return push_stk(job_context(), payment_id, final_attempt=is_final_attempt()).result


@job_entry
def process_event(event_id: int) -> str:
    return process(job_context(), event_id, final_attempt=is_final_attempt())


@job_entry
def notify_customer(payment_id: int) -> str:
    return notify(job_context(), payment_id, final_attempt=is_final_attempt())


@job_entry
def pay_withdrawal(withdrawal_id: int) -> str:
    return send_payout(job_context(), withdrawal_id, final_attempt=is_final_attempt())


@job_entry
def send_refund(refund_id: int) -> str:
    return refund(job_context(), refund_id, final_attempt=is_final_attempt())


@job_entry
def sweep_payments() -> dict[str, Any]:
    """Expire unanswered STK pushes (after asking Daraja), requeue stalled events, and queue
    refunds recorded but not sent (a payment that landed on a released booking)."""
    ctx = job_context()
    expired = expire_stk_payments(ctx)
    requeued = requeue_stale_events(ctx)
    refunds = pending_refunds(ctx)
    for refund_id in refunds:
        queue_refund(ctx, refund_id)
    return {"expired": len(expired), "requeued": len(requeued), "refunds": len(refunds)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=sweep_payments.__doc__)
    parser.add_argument("--payouts", action="store_true",
                        help="queue the payouts of approved withdrawals")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    ctx = job_context()
    if args.payouts:
        print({"queued": queue_payouts(ctx)})
    else:
        print(sweep_payments())
    # In-process jobs (no Redis, or Redis down) run on threads that die with the interpreter:
    # finish them, and the jobs they enqueue, before exiting.
    drain_jobs(ctx.jobs)


if __name__ == "__main__":
    main()
