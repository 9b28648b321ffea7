"""Order jobs (queue `default`): cancel unpaid orders and release their stock.

Scheduled with the other sweeps in backend/jobs/schedule.py (RQ cron, or an in-process loop
without Redis); `python -m backend.jobs.orders` runs it once now.
"""

from __future__ import annotations

import argparse
import logging
from datetime import timedelta

from backend.jobs.job_context import job_context
from backend.observability import job_entry
from backend.queueing.runner import drain_jobs
from backend.services.orders.orders import expire_unpaid

log = logging.getLogger(__name__)


@job_entry
def expire_unpaid_orders() -> dict[str, int]:
    """Cancel orders pending payment longer than ORDER_PAYMENT_TIMEOUT_MINUTES."""
    ctx = job_context()
    minutes = ctx.settings.order_payment_timeout_minutes
    expired = expire_unpaid(ctx, timedelta(minutes=minutes))
    if expired:
        log.info("expired %d unpaid order(s): %s", len(expired), expired)
    return {"expired": len(expired)}


def check_every_minutes(timeout_minutes: int) -> int:
    """Often enough that an order never outlives its timeout by more than a fifth of it."""
    return max(1, min(5, timeout_minutes // 5))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=expire_unpaid_orders.__doc__)
    parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    print(expire_unpaid_orders())
    drain_jobs(job_context().jobs)


if __name__ == "__main__":
    main()
