"""Messaging jobs: deliver a batch of the outbox, sweep the outbox, release scheduled messages
that came due, submit templates for WhatsApp approval (and ask again while pending), tell customers
about order and appointment events (and queue again the events whose job was lost), warn
merchants at 80 % of their messages (and tell their owners and admins on WhatsApp), re-engage customers (abandoned carts, silent customers)."""

from __future__ import annotations

from typing import Any

from backend.jobs.job_context import job_context
from backend.observability import job_entry
from backend.queueing.runner import is_final_attempt
from backend.services.conversations.automatic import notify_event as notify
from backend.services.conversations.automatic import redispatch_pending
from backend.services.conversations.delivery import deliver_batch
from backend.services.conversations.messaging import release_due
from backend.services.conversations.outbound import check_usage
from backend.services.conversations.outbound import sweep_outbox as sweep
from backend.services.conversations.reengagement import sweep_reengagement as reengage
from backend.services.conversations.templates import pending_variants, submit_for_approval
from backend.services.conversations.usage_notices import requeue_stale_notices, send_notices


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


@job_entry
def release_scheduled() -> dict[str, int]:
    """Queue scheduled messages that came due, after checking the rules again."""
    report = release_due(job_context())
    return {"released": report.released, "waiting": report.waiting,
            "cancelled": report.cancelled}


@job_entry
def submit_template(variant_id: int) -> str:
    """Submit one template variant to the Content API for approval, or ask where it stands."""
    return submit_for_approval(job_context(), variant_id)


@job_entry
def sweep_template_approvals() -> dict[str, int]:
    """Ask again about every variant WhatsApp has not decided on yet."""
    ctx = job_context()
    outcomes = [submit_for_approval(ctx, variant_id) for variant_id in pending_variants(ctx)]
    return {outcome: outcomes.count(outcome) for outcome in set(outcomes)}


@job_entry
def notify_event(tenant_id: str, event: str, subject_id: int, version: str | None = None) -> str:
    """Tell the customer about an order or appointment event once (sent, refused with the
    reason, or off), and schedule an appointment's reminders."""
    return notify(job_context(), tenant_id, event, subject_id, version)


@job_entry
def redispatch_events() -> dict[str, int]:
    """Queue again the automatic-message events whose job was never queued or was lost."""
    return {"queued": redispatch_pending(job_context())}


@job_entry
def warn_usage() -> dict[str, int]:
    """Warn each merchant whose day or month reached 80 % of the tier's messages (once), and
    queue again the WhatsApp notices of warnings whose job was lost."""
    ctx = job_context()
    given = check_usage(ctx)
    return {"warned": sum(len(said) for said in given.values()),
            "notices_requeued": requeue_stale_notices(ctx)}


@job_entry
def notify_usage_warning(warning_id: int) -> dict[str, int]:
    """Tell a usage warning to the tenant's owners and admins on WhatsApp, each once."""
    return send_notices(job_context(), warning_id, final_attempt=is_final_attempt())


@job_entry
def sweep_reengagement() -> dict[str, Any]:
    """Abandoned carts reminded once, silent customers nudged once, 14-day silent marked dormant."""
    report = reengage(job_context())
    return {"carts": dict(report.carts), "nudges": dict(report.nudges),
            "dormant": report.dormant}
