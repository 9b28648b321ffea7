"""Sending a menu as a WhatsApp list picker and a yes/no question as reply buttons.

The channel hands a reply's interactive form with its numbered text (kit/interactive.py); the
delivery sends the interactive form only where it can go: the tenant has it on
(features.interactive_messages), a sandbox tenant's simulator is allowed it (SANDBOX_INTERACTIVE),
and the customer's 24-hour window is open (list pickers and unapproved buttons are session-only).
Anywhere else, or when the Content API fails, the numbered text goes out as it always did.

A content is created once per shape (type, language, item count, fixed words) in the tenant's
Twilio account and kept by fingerprint; each message fills it through ContentVariables: the body,
the rows' titles and descriptions, and every id (signed per customer by the channel)."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from backend.domain.messaging import WINDOW
from backend.models import InteractiveContent, Tenant
from backend.providers.twilio import TwilioContent
from backend.wiring import Context

log = logging.getLogger(__name__)
LIST_PICKER = "twilio/list-picker"
QUICK_REPLY = "twilio/quick-reply"


@dataclass(frozen=True)
class ContentShape:
    """A content's definition with numbered variables, and this message's values for them."""

    content_type: str
    language: str
    definition: dict[str, Any]
    values: dict[str, str]

    @property
    def fingerprint(self) -> str:
        canonical = json.dumps([self.content_type, self.language, self.definition],
                               sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()


def shape_of(interactive: dict[str, Any]) -> ContentShape:
    """The content an issued interactive form needs: words that vary per message (body, rows,
    ids) are variables; the list's button and the buttons' titles are part of the content."""
    values = {"1": interactive["body"]}

    def variable(value: str) -> str:
        key = str(len(values) + 1)
        values[key] = value
        return "{{%s}}" % key

    if interactive["type"] == "list":
        items = [{"item": variable(item["title"]), "id": variable(item["id"]),
                  "description": variable(item["description"])}
                 for item in interactive["items"]]
        definition = {"body": "{{1}}", "button": interactive["button"], "items": items}
        return ContentShape(LIST_PICKER, interactive["language"], definition, values)
    actions = [{"type": "QUICK_REPLY", "title": item["title"], "id": variable(item["id"])}
               for item in interactive["items"]]
    return ContentShape(QUICK_REPLY, interactive["language"],
                        {"body": "{{1}}", "actions": actions}, values)


def allowed(ctx: Context, tenant: Tenant, last_inbound_at: datetime | None,
            now: datetime) -> bool:
    """Whether this tenant's customer may get interactive content now."""
    if not (tenant.features or {}).get("interactive_messages", True):
        return False
    if tenant.sandbox and not ctx.settings.sandbox_interactive:
        return False
    return last_inbound_at is not None and now - last_inbound_at < WINDOW


def content_sid(ctx: Context, tenant_id: str, client: TwilioContent, shape: ContentShape) -> str:
    """The ContentSid of this shape in the tenant's account, created on first use (the
    Content API call runs outside any transaction). Raises TwilioSendError."""
    known = _known(ctx, tenant_id, shape.fingerprint)
    if known is not None:
        return known
    sid = client.create(friendly_name=f"{shape.content_type.split('/')[1]}_{shape.fingerprint[:12]}",
                        language=shape.language, variables=shape.values,
                        types={shape.content_type: shape.definition})
    try:
        with ctx.db.transaction() as session:
            session.add(InteractiveContent(tenant_id=tenant_id, fingerprint=shape.fingerprint,
                                           content_sid=sid))
    except IntegrityError:  # another sender created the same shape at once: use theirs
        known = _known(ctx, tenant_id, shape.fingerprint)
        if known is not None:
            return known
        raise
    log.info("interactive content %s created for %s", sid, tenant_id)
    return sid


def _known(ctx: Context, tenant_id: str, fingerprint: str) -> str | None:
    with ctx.db.transaction() as session:
        return session.scalar(select(InteractiveContent.content_sid).where(
            InteractiveContent.tenant_id == tenant_id,
            InteractiveContent.fingerprint == fingerprint))
