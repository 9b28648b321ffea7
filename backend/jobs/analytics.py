"""Analytics jobs: the nightly roll-up (scheduled with the other sweeps in
backend/jobs/schedule.py) and the backfill command.

    python -m backend.jobs.analytics nightly
    python -m backend.jobs.analytics backfill --from 2026-01-01 --to 2026-12-01 [--tenant slug]

Both replace each (tenant, day) row whole: running them again, or both at once, counts nothing
twice.
"""

from __future__ import annotations

import argparse
import logging
import time
from datetime import date
from typing import Any

from backend.jobs.job_context import job_context
from backend.observability import job_entry
from backend.services.analytics.rollup import rollup_closed_days, rollup_range, tenant_ids

# Nightly is the contract; an hourly run rolls each tenant's yesterday up within the hour after
# its local midnight, whatever its timezone (and re-rolls the days still settling).
ANALYTICS_EVERY_SECONDS = 3_600


@job_entry
def sweep_analytics() -> dict[str, int]:
    """Roll up yesterday (and the days still settling) for every tenant, in its timezone."""
    return rollup_closed_days(job_context())


def backfill(first: date, last: date, tenant: str | None = None) -> dict[str, Any]:
    ctx = job_context()
    started = time.monotonic()
    rolled = {tid: rollup_range(ctx, tid, first, last) for tid in tenant_ids(ctx, tenant)}
    return {"tenants": len(rolled), "days": sum(rolled.values()),
            "seconds": round(time.monotonic() - started, 2)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m backend.jobs.analytics",
                                     description="Analytics roll-ups")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("nightly", help="roll up every tenant's closed days now")
    fill = commands.add_parser("backfill", help="roll up a range of local days")
    fill.add_argument("--from", dest="first", type=date.fromisoformat, required=True)
    fill.add_argument("--to", dest="last", type=date.fromisoformat, required=True)
    fill.add_argument("--tenant", help="one tenant's slug (default: every tenant)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    if args.command == "nightly":
        print(sweep_analytics(), flush=True)
        return
    if args.last < args.first:
        parser.error("--to is before --from")
    print(backfill(args.first, args.last, args.tenant), flush=True)


if __name__ == "__main__":
    main()
