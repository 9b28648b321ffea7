"""The periodic sweeps, defined once: unpaid orders, unpaid booking deposits, payments, the outbox, scheduled messages
that came due, templates waiting for WhatsApp's approval, the 80 % usage warning,
re-engagement (abandoned carts, silent and dormant customers), subscription billing, the
analytics roll-up of each tenant's closed days, the store integrations' syncs.

With Redis, RQ's own cron scheduler enqueues them (one process per deployment; the workers run
them):

    rq cron backend.jobs.schedule --url "$REDIS_URL"

Without Redis (the embedded default), the same sweeps run in this process, in a loop:

    python -m backend.jobs.schedule --every 60     # or once, without --every (cron, tests)

Each sweep is idempotent, so a second scheduler or a manual run only repeats harmless work.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rq import cron

from backend.jobs.analytics import ANALYTICS_EVERY_SECONDS, sweep_analytics
from backend.jobs.billing import BILLING_EVERY_SECONDS, sweep_billing
from backend.jobs.bookings import RELEASE_EVERY_SECONDS, release_unpaid_bookings
from backend.jobs.campaigns import start_due_campaigns
from backend.jobs.integrations import sweep_integrations, sweep_store_stock
from backend.jobs.job_context import job_context
from backend.jobs.messaging import (
    redispatch_events,
    release_scheduled,
    sweep_outbox,
    sweep_reengagement,
    sweep_template_approvals,
    warn_usage,
)
from backend.jobs.orders import check_every_minutes, expire_unpaid_orders
from backend.jobs.payments import sweep_payments
from backend.queueing.names import DEFAULT, MESSAGING
from backend.queueing.runner import drain_jobs
from backend.settings import Settings

log = logging.getLogger(__name__)
# A sweep that has not finished after this long is stopped by RQ (it would block its worker).
SWEEP_TIMEOUT_SECONDS = 300


@dataclass(frozen=True)
class Sweep:
    func: Callable[[], dict[str, Any]]
    queue: str
    every_seconds: int


def sweeps(settings: Settings) -> list[Sweep]:
    """Every periodic job and how often it runs."""
    orders_every = 60 * check_every_minutes(settings.order_payment_timeout_minutes)
    return [
        Sweep(expire_unpaid_orders, DEFAULT, orders_every),
        Sweep(release_unpaid_bookings, DEFAULT, RELEASE_EVERY_SECONDS),
        Sweep(sweep_payments, DEFAULT, 60),
        Sweep(sweep_outbox, MESSAGING, 30),
        Sweep(release_scheduled, MESSAGING, 30),
        Sweep(sweep_template_approvals, DEFAULT, 300),
        Sweep(redispatch_events, DEFAULT, 60),
        Sweep(warn_usage, DEFAULT, 300),
        Sweep(sweep_reengagement, DEFAULT, 600),
        Sweep(start_due_campaigns, DEFAULT, 60),
        Sweep(sweep_billing, DEFAULT, BILLING_EVERY_SECONDS),
        Sweep(sweep_analytics, DEFAULT, ANALYTICS_EVERY_SECONDS),
        Sweep(sweep_integrations, DEFAULT, settings.store_sync_every_seconds),
        Sweep(sweep_store_stock, DEFAULT, 30),
    ]


def register_all(settings: Settings) -> None:
    """Register the sweeps with RQ's cron (`rq cron backend.jobs.schedule` imports this module)."""
    for sweep in sweeps(settings):
        # result_ttl: keep each run's result for a day (`rq info`, the health check's history).
        cron.register(sweep.func, queue_name=sweep.queue, interval=sweep.every_seconds,
                      job_timeout=SWEEP_TIMEOUT_SECONDS, result_ttl=86_400)


def run_once(timeout: float = 300.0) -> dict[str, Any]:
    """Run every sweep now in this process, and what they started, before returning."""
    ctx = job_context()
    results: dict[str, Any] = {}
    for sweep in sweeps(ctx.settings):
        try:
            results[sweep.func.__name__] = sweep.func()
        except Exception:  # one failing sweep must not stop the others
            log.exception("sweep %s failed", sweep.func.__name__)
            results[sweep.func.__name__] = "failed"
    drain_jobs(ctx.jobs, timeout)
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the periodic sweeps in this process")
    parser.add_argument("--every", type=float, default=0,
                        help="seconds between runs (default: run once and exit)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    while True:
        print(run_once(), flush=True)
        if args.every <= 0:
            return
        time.sleep(args.every)


if __name__ == "__main__":
    main()
elif __name__ == "backend.jobs.schedule":
    # Imported by `rq cron` (and by tests): the registrations are what `rq cron` loads.
    register_all(Settings.from_env())
