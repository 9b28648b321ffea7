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
from backend.queueing.names import SANDBOX, JobRef
from backend.sandbox.models import SandboxMessage, SandboxPaymentRecord
from backend.wiring import Context

log = logging.getLogger(__name__)
CONTENT = "twilio_content"
# Twilio's side of the sandbox: on the last queue, so customers' replies and the platform's own
# jobs never wait behind the simulated callbacks.
SEND_STATUS_CALLBACKS = JobRef("backend.sandbox.twilio_content.send_status_callbacks", SANDBOX)
_VARIABLE = re.compile(r"\{\{\s*(\d+)\s*\}\}")
FAILING_ENDINGS = {"030003": 30003, "030005": 30005}


# In-session interactive types (no approval, sent only inside the 24-hour window) and Twilio's
# limits for them; the simulator checks the limits on the words actually sent.
LIST_PICKER = "twilio/list-picker"
QUICK_REPLY = "twilio/quick-reply"
INTERACTIVE_TYPES = (LIST_PICKER, QUICK_REPLY)
MAX_BODY = 1024
LIMITS = {"button": 20, "item": 24, "id": 200, "description": 72, "title": 20}
INVALID_PARAMETER = 20422


def _interactive_problem(kind: str, content: Any) -> str | None:
    """Why a list picker or quick reply breaks Twilio's rules, or None."""
    if not isinstance(content, dict) or not isinstance(content.get("body"), str) \
            or not content["body"].strip():
        return f"{kind} needs a body"
    if len(content["body"]) > MAX_BODY:
        return f"{kind} body is limited to {MAX_BODY} characters"
    rows = content.get("items") if kind == LIST_PICKER else content.get("actions")
    most = 10 if kind == LIST_PICKER else 3  # 3: quick replies sent in session, unapproved
    if not isinstance(rows, list) or not 1 <= len(rows) <= most:
        return f"{kind} takes 1 to {most} {'items' if kind == LIST_PICKER else 'actions'}"
    fields = ("item", "id", "description") if kind == LIST_PICKER else ("title", "id")
    checked = [(name, content.get(name)) for name in (("button",) if kind == LIST_PICKER else ())]
    checked += [(name, row.get(name) if isinstance(row, dict) else None)
                for row in rows for name in fields]
    for name, value in checked:
        if not isinstance(value, str) or not value.strip():
            return f"{kind} {name} is required"
        if not _VARIABLE.search(value) and len(value) > LIMITS[name]:
            return f"{kind} {name} is limited to {LIMITS[name]} characters"
    ids = [row["id"] for row in rows]
    if len(set(ids)) != len(ids):
        return f"{kind} ids must be unique"
    return None


class InvalidContent(ValueError):
    """A content Twilio would refuse (answered 400 with INVALID_PARAMETER)."""


def create_content(ctx: Context, tenant_id: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Create a content: a twilio/text template, or an in-session list picker / quick reply
    (checked against Twilio's limits: InvalidContent when it breaks them)."""
    types = {k: v for k, v in (payload.get("types") or {}).items() if v is not None}
    text = types.get("twilio/text")
    body = str(text.get("body") or "") if isinstance(text, dict) else ""
    interactive = {k: v for k, v in types.items() if k in INTERACTIVE_TYPES}
    for kind, content in interactive.items():
        problem = _interactive_problem(kind, content)
        if problem is not None:
            raise InvalidContent(problem)
    sid = f"HX{uuid.uuid4().hex}"
    data = {"tenant_id": tenant_id, "body": body, "variables": payload.get("variables") or {},
            "language": payload.get("language"), "friendly_name": payload.get("friendly_name"),
            "approval": None, "interactive": interactive}
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


def render_content(ctx: Context, tenant_id: str, sid: str, variables_json: str | None
                   ) -> tuple[str, dict[str, Any] | None] | None:
    """(the text, the interactive content shown) a content sends with these ContentVariables:
    an approved template's text, or a list picker's / quick reply's body and rows (they need no
    approval). None when the content is unknown, unapproved, the variables do not fill it, or
    the filled words break Twilio's limits."""
    record = _content(ctx, tenant_id, sid)
    if record is None:
        return None
    try:
        values = json.loads(variables_json) if variables_json else {}
    except ValueError:
        return None
    if not isinstance(values, dict):
        return None
    interactive = record.data.get("interactive") or {}
    if interactive:
        kind, content = next(iter(interactive.items()))
        if not set(_VARIABLE.findall(json.dumps(content))) <= set(values):
            return None
        filled = _fill(content, values)
        if _interactive_problem(kind, filled) is not None:
            return None
        return filled["body"], {"type": kind, **filled}
    if (record.data.get("approval") or {}).get("status") != "approved":
        return None
    needed = set(_VARIABLE.findall(record.data["body"]))
    if not needed <= set(values):
        return None
    return _VARIABLE.sub(lambda m: str(values[m.group(1)]), record.data["body"]), None


def _fill(value: Any, values: dict[str, Any]) -> Any:
    if isinstance(value, str):
        return _VARIABLE.sub(lambda m: str(values[m.group(1)]), value)
    if isinstance(value, list):
        return [_fill(v, values) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, values) for k, v in value.items()}
    return value


def reply_fields(interactive: dict[str, Any], choice: int) -> dict[str, str]:
    """The fields Twilio adds to the inbound webhook when the customer taps button or row
    `choice` (1-based) of an interactive message the simulator sent: ButtonPayload and
    ButtonText for a quick reply, ListId and ListTitle for a list row, and the tapped words as
    the Body. For tests and the demo to answer as WhatsApp would."""
    if interactive["type"] == LIST_PICKER:
        row = interactive["items"][choice - 1]
        return {"Body": row["item"], "ListId": row["id"], "ListTitle": row["item"]}
    action = interactive["actions"][choice - 1]
    return {"Body": action["title"], "ButtonPayload": action["id"], "ButtonText": action["title"]}


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
        if message is None or not message.status_callback or message.tenant_id is None:
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
