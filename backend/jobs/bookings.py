"""Booking jobs (queue `default`): release the seats of bookings whose deposit was not paid
in time (their deposit order cancelled with them).

Scheduled with the other sweeps in backend/jobs/schedule.py (RQ cron, or an in-process loop
without Redis); `python -m backend.jobs.bookings` runs it once now.
"""

from __future__ import annotations

import argparse
import logging

from backend.jobs.job_context import job_context
from backend.observability import job_entry
from backend.queueing.runner import drain_jobs
from backend.services.bookings.appointments import release_unpaid_holds

log = logging.getLogger(__name__)
RELEASE_EVERY_SECONDS = 60


@job_entry
def release_unpaid_bookings() -> dict[str, int]:
    """Release bookings held pending payment past their hold (DEPOSIT_HOLD_MINUTES, or the
    service's hold_minutes)."""
    released = release_unpaid_holds(job_context())
    if released:
        log.info("released %d unpaid booking hold(s): %s", len(released), released)
    return {"released": len(released)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=release_unpaid_bookings.__doc__)
    parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    print(release_unpaid_bookings())
    drain_jobs(job_context().jobs)


if __name__ == "__main__":
    main()
