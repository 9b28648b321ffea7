"""Campaign jobs: materialise a campaign's recipients and enqueue its batches, send one batch,
and the sweep that starts scheduled campaigns (and restarts stalled ones)."""

from __future__ import annotations

from dataclasses import asdict

from backend.jobs.job_context import job_context
from backend.observability import job_entry
from backend.queueing.runner import is_final_attempt
from backend.services.conversations import campaigns


@job_entry
def start_campaign(campaign_id: int) -> dict[str, int]:
    """Store the recipients batch by batch and enqueue one send job per batch."""
    return campaigns.start_campaign(job_context(), campaign_id)


@job_entry
def send_campaign_batch(campaign_id: int, batch: int) -> dict[str, int]:
    """Pass one batch's recipients through the send decision and deliver what is due now;
    raising (Twilio unreachable) asks for a retry, which plans and sends nothing twice."""
    report = campaigns.send_campaign_batch(job_context(), campaign_id, batch,
                                           final_attempt=is_final_attempt())
    return asdict(report)


@job_entry
def start_due_campaigns() -> dict[str, int]:
    """Start scheduled campaigns that came due; restart stalled ones."""
    return campaigns.start_due_campaigns(job_context())
