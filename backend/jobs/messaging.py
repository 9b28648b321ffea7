"""Messaging jobs (queue `messaging`)."""

from __future__ import annotations

from backend.jobs.context import job_context
from backend.jobs.runner import is_final_attempt
from backend.observability import job_entry


@job_entry
def deliver_outbound(ids: list[int]) -> dict[str, int]:
    """Send one batch of queued outbound messages in order; raising asks for a retry."""
    from backend.services.delivery import deliver_batch

    report = deliver_batch(job_context(), ids, final_attempt=is_final_attempt())
    return {"sent": report.sent, "failed": report.failed}
