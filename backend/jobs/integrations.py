"""Store integration jobs (queue `default`): a run (import, sync, webhook) and the sweep that
queues each connected store's incremental sync (a full one, which also finds products deleted
upstream, once a day), queues again runs the queue lost and fails runs whose worker died; and
the push of chat orders' stock changes to the stores (services/integrations/stock.py).

`python -m backend.jobs.integrations` sweeps once now and waits for the runs it started."""

from __future__ import annotations

import argparse
from datetime import timedelta
from typing import Any

from backend.jobs.job_context import job_context
from backend.models.base import utcnow
from backend.observability import job_entry
from backend.queueing.names import PUSH_STORE_STOCK
from backend.queueing.runner import drain_jobs
from backend.services.integrations.connections import (
    connected_integrations,
    get_integration,
    queue_run,
    requeue_runs,
)
from backend.services.integrations.stock import push_stock, tenants_with_pending
from backend.services.integrations.sync import fail_stuck_runs, run_sync

FULL_EVERY = timedelta(days=1)
STUCK_AFTER = timedelta(hours=2)


@job_entry
def run_store_sync(run_id: int) -> str:
    return run_sync(job_context(), run_id)


@job_entry
def push_store_stock(tenant_id: str) -> dict[str, Any]:
    return push_stock(job_context(), tenant_id)


@job_entry
def sweep_store_stock() -> dict[str, Any]:
    """Queue the push of chat orders' stock changes to the stores, per tenant."""
    ctx = job_context()
    tenants = tenants_with_pending(ctx)
    for tenant_id in tenants:
        ctx.jobs.enqueue(PUSH_STORE_STOCK, tenant_id)
    return {"tenants": len(tenants)}


@job_entry
def sweep_integrations() -> dict[str, Any]:
    """Queue every connected store's sync (full once a day), requeue lost runs."""
    ctx = job_context()
    now = utcnow()
    stuck = fail_stuck_runs(ctx, now - STUCK_AFTER)
    requeued = requeue_runs(ctx, now - timedelta(minutes=5))
    queued = 0
    for tenant_id, provider in connected_integrations(ctx):
        view = get_integration(ctx, tenant_id, provider)
        full = view.last_full_at is None or view.last_full_at < now - FULL_EVERY
        queue_run(ctx, tenant_id, provider, full=full)
        queued += 1
    return {"queued": queued, "requeued": len(requeued), "stuck": len(stuck)}


def main(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(description=sweep_integrations.__doc__).parse_args(argv)
    ctx = job_context()
    print(sweep_integrations(), sweep_store_stock(), flush=True)
    drain_jobs(ctx.jobs, 3600)


if __name__ == "__main__":
    main()
