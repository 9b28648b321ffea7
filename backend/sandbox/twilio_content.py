"""The Twilio simulator's Content API (templates and WhatsApp approval) and the delivery status
callbacks it sends after taking a message, signed as Twilio signs them.

Approval follows one of WhatsApp's published rules, so both outcomes can be tried: a template
whose text starts or ends with a variable is rejected; any other is approved when asked.
Statuses: a message goes sent → delivered → read; to a number ending in 030003 it goes sent →
undelivered with error 30003 (unreachable handset: worth a retry), ending in 030005 undelivered
with 30005 (unknown number: not)."""

from __future__ import annotations

import json
import logging
import re
import uuid
from typing import Any

import requests
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from backend.jobs.job_context import job_context
from backend.models import Tenant
from backend.queueing.names import DEFAULT, JobRef
from backend.sandbox.models import SandboxMessage, SandboxPaymentRecord
from backend.wiring import Context

log = logging.getLogger(__name__)
CONTENT = "twilio_content"
# Status callbacks are bookkeeping: on the default queue, so customers' replies (messaging queue,
# taken first) never wait behind them.
SEND_STATUS_CALLBACKS = JobRef("backend.sandbox.twilio_content.send_status_callbacks", DEFAULT)
_VARIABLE = re.compile(r"\{\{\s*(\d+)\s*\}\}")
FAILING_ENDINGS = {"030003": 30003, "030005": 30005}


def create_content(ctx: Context, tenant_id: str, payload: dict[str, Any]) -> dict[str, Any]:
    text = (payload.get("types") or {}).get("twilio/text")
    body = str(text.get("body") or "") if isinstance(text, dict) else ""
    sid = f"HX{uuid.uuid4().hex}"
    data = {"tenant_id": tenant_id, "body": body, "variables": payload.get("variables") or {},
            "language": payload.get("language"), "friendly_name": payload.get("friendly_name"),
            "approval": None}
    with ctx.db.transaction() as session:
        session.add(SandboxPaymentRecord(provider=CONTENT, reference=sid, data=data))
    return {"sid": sid, **{k: data[k] for k in ("friendly_name", "language", "variables")},
            "types": payload.get("types")}


def _content(ctx: Context, tenant_id: str, sid: str) -> SandboxPaymentRecord | None:
    with ctx.db.transaction() as session:
        record = session.scalar(select(SandboxPaymentRecord).where(
            SandboxPaymentRecord.provider == CONTENT, SandboxPaymentRecord.reference == sid))
        if record is None or record.data.get("tenant_id") != tenant_id:
            return None
        session.expunge(record)
        return record


def request_approval(ctx: Context, tenant_id: str, sid: str, name: str,
                     category: str) -> dict[str, Any] | None:
    """WhatsApp's decision, made at once (the real one takes minutes to days)."""
    record = _content(ctx, tenant_id, sid)
    if record is None:
        return None
    body = record.data["body"].strip()
    rejected = bool(_VARIABLE.match(body)) or bool(re.search(r"\{\{\s*\d+\s*\}\}$", body))
    approval = {"name": name, "category": category,
                "status": "rejected" if rejected else "approved",
                "rejection_reason": "Variables can't be at the start or end of the template."
                if rejected else ""}
    with ctx.db.transaction() as session:
        stored = session.scalar(select(SandboxPaymentRecord).where(
            SandboxPaymentRecord.provider == CONTENT, SandboxPaymentRecord.reference == sid))
        assert stored is not None
        stored.data = {**stored.data, "approval": approval}
    return {"name": name, "category": category, "status": "received"}


def approval_status(ctx: Context, tenant_id: str, sid: str) -> dict[str, Any] | None:
    record = _content(ctx, tenant_id, sid)
    if record is None:
        return None
    approval = record.data.get("approval") or {"status": "unsubmitted"}
    return {"sid": sid, "whatsapp": approval}


def render_content(ctx: Context, tenant_id: str, sid: str,
                   variables_json: str | None) -> str | None:
    """The text an approved content sends with these ContentVariables; None when the content
    is unknown, unapproved or the variables do not fill it."""
    record = _content(ctx, tenant_id, sid)
    if record is None or (record.data.get("approval") or {}).get("status") != "approved":
        return None
    try:
        values = json.loads(variables_json) if variables_json else {}
    except ValueError:
        return None
    if not isinstance(values, dict):
        return None
    needed = set(_VARIABLE.findall(record.data["body"]))
    if not needed <= set(values):
        return None
    return _VARIABLE.sub(lambda m: str(values[m.group(1)]), record.data["body"])


def statuses_for(to_number: str) -> list[tuple[str, int | None]]:
    for ending, code in FAILING_ENDINGS.items():
        if to_number.endswith(ending):
            return [("sent", None), ("undelivered", code)]
    return [("sent", None), ("delivered", None), ("read", None)]


def send_status_callbacks(message_id: int) -> list[str]:
    """The job: post each status to the message's StatusCallback, signed with the tenant's
    token (X-Twilio-Signature), as Twilio does after sending."""
    ctx = job_context()
    with ctx.db.transaction() as session:
        message = session.get(SandboxMessage, message_id)
        if message is None or not message.status_callback:
            return []
        tenant = session.get_one(Tenant, message.tenant_id)
        token = ctx.crypto.decrypt(tenant.twilio_auth_token_encrypted)
        to_number = ctx.crypto.decrypt(message.to_encrypted).removeprefix("whatsapp:")
        url, sid, account = message.status_callback, message.sid, tenant.twilio_account_sid
        from_address = message.from_address
        to_address = ctx.crypto.decrypt(message.to_encrypted)
    sent: list[str] = []
    for status, code in statuses_for(to_number):
        params = {"MessageSid": sid, "SmsSid": sid, "AccountSid": account,
                  "MessageStatus": status, "SmsStatus": status, "From": from_address,
                  "To": to_address, "ApiVersion": "2010-04-01", "ChannelPrefix": "whatsapp"}
        if code is not None:
            params["ErrorCode"] = str(code)
        signature = RequestValidator(token).compute_signature(url, params)
        response = requests.post(url, data=params, timeout=10,
                                 headers={"X-Twilio-Signature": signature})
        if response.status_code >= 500:
            response.raise_for_status()  # retried as a job
        sent.append(f"{status}:{response.status_code}")
    return sent
