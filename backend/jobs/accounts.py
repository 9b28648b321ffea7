"""Staff-account jobs: send a password-reset code from the platform's WhatsApp number."""

from __future__ import annotations

from backend.jobs.job_context import job_context
from backend.observability import job_entry
from backend.queueing.runner import is_final_attempt
from backend.services.accounts.reset import send_reset_code as send


@job_entry
def send_reset_code(code_id: int) -> str:
    """Send one code (retried on a transient Twilio failure), then forget it."""
    return send(job_context(), code_id, final_attempt=is_final_attempt())
