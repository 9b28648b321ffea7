"""Billing jobs (queue `default`): the daily run (scheduled with the other sweeps in
backend/jobs/schedule.py), one STK charge per claimed invoice attempt, one reminder each, and
what follows a saved card (Paystack's card check refunded, Stripe's card label fetched).

`python -m backend.jobs.billing` runs the billing once now and finishes what it started.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any

from backend.jobs.job_context import job_context
from backend.observability import job_entry
from backend.queueing.runner import drain_jobs, is_final_attempt
from backend.services.billing.cards import finish_card_setup as finish_card
from backend.services.billing.reminders import send_reminder
from backend.services.billing.renewals import charge_invoice as charge
from backend.services.billing.renewals import run_billing

# Once a day is the contract; hourly runs catch a renewal within the hour of its due time and
# cost nothing when nothing is due (each run is idempotent).
BILLING_EVERY_SECONDS = 3_600


@job_entry
def sweep_billing() -> dict[str, Any]:
    """Start trials, remind, issue due invoices, charge them, expire unanswered charges."""
    return asdict(run_billing(job_context()))


@job_entry
def charge_invoice(charge_id: int) -> str:
    return charge(job_context(), charge_id)


@job_entry
def send_billing_reminder(reminder_id: int) -> str:
    return send_reminder(job_context(), reminder_id, final_attempt=is_final_attempt())


@job_entry
def finish_card_setup(card_id: int) -> str:
    return finish_card(job_context(), card_id, final_attempt=is_final_attempt())


def main() -> None:
    logging.basicConfig(level=logging.INFO)
    print(sweep_billing())
    drain_jobs(job_context().jobs)


if __name__ == "__main__":
    main()
