"""Messaging jobs (queue `messaging`): deliver a batch of the outbox, sweep the outbox."""

from __future__ import annotations

from typing import Any

from backend.jobs.job_context import job_context
from backend.observability import job_entry
from backend.queueing.runner import is_final_attempt
from backend.services.conversations.delivery import deliver_batch
from backend.services.conversations.outbound import sweep_outbox as sweep


@job_entry
def deliver_outbound(ids: list[int]) -> dict[str, int]:
    """Send one batch of queued outbound messages in order; raising asks for a retry."""
    report = deliver_batch(job_context(), ids, final_attempt=is_final_attempt())
    return {"sent": report.sent, "failed": report.failed}


@job_entry
def sweep_outbox() -> dict[str, Any]:
    """Re-enqueue outbox rows left queued; fail rows a dead sender left mid-send."""
    report = sweep(job_context())
    return {"requeued": len(report.requeued), "unknown": len(report.unknown),
            "given_up": len(report.given_up)}
