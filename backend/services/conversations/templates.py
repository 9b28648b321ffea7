"""WhatsApp message templates: named placeholders ({{name}}), one text per language, a category
(utility / marketing), WhatsApp's approval of each variant and how often the template was used.

A variant's text is submitted to Twilio's Content API with its placeholders numbered ({{1}},
{{2}}... in the template's placeholder order, as Content templates are written) and sent for
WhatsApp approval by a job; a message outside the 24-hour window may only use an approved one,
sent by its ContentSid with ContentVariables {"1": ..., "2": ...}. Changing a variant's text
sends it for approval again."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.wiring import Context
from backend.domain.errors import InvalidInput, NotFound
from backend.domain.messaging import MessageRefused, readable_languages
from backend.domain.tenant_settings import LANGUAGES
from backend.models import MessageTemplate, MessageTemplateVariant, Tenant
from backend.providers.twilio import TwilioContent, TwilioSendError
from backend.queueing.names import SUBMIT_TEMPLATE
from backend.queueing.runner import JobQueueUnavailable
from backend.services.platform.pages import Page, check_page, fetch_page
from backend.services.platform.scoped import tenant_row
from backend.services.platform.tenants import require_tenant

log = logging.getLogger(__name__)
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
NAME = re.compile(r"^[a-z0-9_]{1,64}$")
CATEGORIES = ("utility", "marketing")
# WhatsApp's limit for a template body, and ours for one variable's value.
MAX_BODY = 1024
MAX_VALUE = 300


@dataclass(frozen=True)
class VariantView:
    language: str
    body: str
    approval: str
    rejection_reason: str | None
    content_sid: str | None


@dataclass(frozen=True)
class TemplateView:
    id: int
    name: str
    category: str
    placeholders: list[str]
    sample_values: dict[str, str]
    usage_count: int
    variants: list[VariantView]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Rendered:
    template_id: int
    language: str  # the variant's: the customer's, or one they read (sheng → sw)
    text: str
    approval: str
    content_sid: str | None
    content_variables: dict[str, str]


@dataclass(frozen=True)
class Submission:
    """What the approval job sends to the Content API for one variant."""

    variant_id: int
    tenant_id: str
    friendly_name: str
    language: str
    category: str
    body: str  # numbered placeholders
    variables: dict[str, str]  # {"1": sample, ...}


def _check_template(name: str, category: str, placeholders: list[str],
                    variants: dict[str, str]) -> None:
    errors: dict[str, list[str]] = {}
    if not NAME.match(name):
        errors["name"] = ["Use 1-64 lower-case letters, digits or _ (WhatsApp's rule)."]
    if category not in CATEGORIES:
        errors["category"] = [f"One of {', '.join(CATEGORIES)}."]
    if len(set(placeholders)) != len(placeholders) or not all(
            re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", p) for p in placeholders):
        errors["placeholders"] = ["Distinct names of letters, digits and _."]
    for language, body in variants.items():
        if language not in LANGUAGES:
            errors[f"variants.{language}"] = [f"Language must be one of {', '.join(LANGUAGES)}."]
            continue
        unknown = sorted(set(PLACEHOLDER.findall(body)) - set(placeholders))
        if unknown:
            errors[f"variants.{language}"] = [
                f"Unknown placeholder(s) {', '.join(unknown)}: declare them in placeholders."]
        elif not body.strip() or len(body) > MAX_BODY:
            errors[f"variants.{language}"] = [f"1 to {MAX_BODY} characters."]
    if errors:
        raise InvalidInput("The template is not valid", errors)


def numbered(body: str, placeholders: list[str]) -> str:
    """{{name}} → {{n}}, n its 1-based position in the placeholders (Content API syntax)."""
    return PLACEHOLDER.sub(lambda m: "{{%d}}" % (placeholders.index(m.group(1)) + 1), body)


def fill(body: str, values: dict[str, str]) -> str:
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], body)


def check_values(body: str, placeholders: list[str], values: dict[str, str]) -> None:
    """Every variable the text uses is given, and nothing the template does not declare."""
    unknown = sorted(set(values) - set(placeholders))
    missing = sorted(set(PLACEHOLDER.findall(body)) - set(values))
    errors: dict[str, list[str]] = {}
    if unknown:
        errors["variables"] = [f"Unknown variable(s) {', '.join(unknown)}; the template has "
                               f"{', '.join(placeholders) or 'none'}."]
    if missing:
        errors.setdefault("variables", []).append(f"Missing value(s) for {', '.join(missing)}.")
    too_long = [k for k, v in values.items() if not str(v).strip() or len(str(v)) > MAX_VALUE]
    if too_long:
        errors.setdefault("variables", []).append(
            f"Value(s) of {', '.join(sorted(too_long))} must be 1 to {MAX_VALUE} characters.")
    if errors:
        raise InvalidInput("The template's variables do not match", errors)


def _view(session: Session, template: MessageTemplate) -> TemplateView:
    variants = session.scalars(select(MessageTemplateVariant).where(
        MessageTemplateVariant.template_id == template.id).order_by(
        MessageTemplateVariant.language)).all()
    return TemplateView(
        template.id, template.name, template.category, list(template.placeholders),
        dict(template.sample_values), template.usage_count,
        [VariantView(v.language, v.body, v.approval, v.rejection_reason, v.content_sid)
         for v in variants],
        template.created_at, template.updated_at)


def _template(session: Session, tenant_id: str, template_id: int) -> MessageTemplate:
    require_tenant(session, tenant_id)
    return tenant_row(session, MessageTemplate, template_id, tenant_id, "template")


def create_template(ctx: Context, tenant_id: str, data: dict[str, Any]) -> TemplateView:
    name, category = data["name"], data["category"]
    placeholders = list(data.get("placeholders") or [])
    variants: dict[str, str] = dict(data["variants"])
    samples: dict[str, str] = dict(data.get("sample_values") or {})
    _check_template(name, category, placeholders, variants)
    _check_samples(placeholders, samples)
    with ctx.db.transaction() as session:
        require_tenant(session, tenant_id)
        if session.scalar(select(MessageTemplate.id).where(
                MessageTemplate.tenant_id == tenant_id, MessageTemplate.name == name)):
            raise InvalidInput(f"A template named {name!r} exists already",
                               {"name": ["Already used."]})
        template = MessageTemplate(tenant_id=tenant_id, name=name, category=category,
                                   placeholders=placeholders, sample_values=samples,
                                   usage_count=0)
        session.add(template)
        session.flush()
        ids = _set_variants(session, template, variants)
        view = _view(session, template)
    _submit(ctx, ids)
    return view


def _check_samples(placeholders: list[str], samples: dict[str, str]) -> None:
    unknown = sorted(set(samples) - set(placeholders))
    if unknown:
        raise InvalidInput("Sample values for unknown placeholders",
                           {"sample_values": [f"Unknown: {', '.join(unknown)}."]})


def _set_variants(session: Session, template: MessageTemplate,
                  variants: dict[str, str]) -> list[int]:
    """Create or change variants; a changed text goes back to pending (approval again).
    Returns the ids to submit."""
    changed: list[int] = []
    for language, body in variants.items():
        variant = session.scalar(select(MessageTemplateVariant).where(
            MessageTemplateVariant.template_id == template.id,
            MessageTemplateVariant.language == language))
        if variant is not None and variant.body == body:
            continue
        if variant is None:
            variant = MessageTemplateVariant(tenant_id=template.tenant_id,
                                             template_id=template.id, language=language)
            session.add(variant)
        variant.body, variant.approval = body, "pending"
        variant.content_sid, variant.rejection_reason = None, None
        session.flush()
        changed.append(variant.id)
    return changed


def _submit(ctx: Context, variant_ids: list[int]) -> None:
    for variant_id in variant_ids:
        try:
            ctx.jobs.enqueue(SUBMIT_TEMPLATE, variant_id)
        except JobQueueUnavailable:
            pass  # stays pending; the scheduler's template sweep submits it


def update_template(ctx: Context, tenant_id: str, template_id: int,
                    changes: dict[str, Any]) -> TemplateView:
    """Change the category, placeholders, samples or variants (a variant set to null is
    removed); what the texts now say is checked against the placeholders."""
    with ctx.db.transaction() as session:
        template = _template(session, tenant_id, template_id)
        current = {v.language: v.body for v in session.scalars(select(MessageTemplateVariant)
                   .where(MessageTemplateVariant.template_id == template.id))}
        variants = {**current, **(changes.get("variants") or {})}
        removed = [lang for lang, body in variants.items() if body is None]
        kept = {lang: body for lang, body in variants.items() if body is not None}
        if not kept:
            raise InvalidInput("A template keeps at least one language variant")
        placeholders = list(changes.get("placeholders", template.placeholders))
        category = changes.get("category", template.category)
        _check_template(template.name, category, placeholders, kept)
        samples = dict(changes.get("sample_values", template.sample_values))
        _check_samples(placeholders, samples)
        renumbered = placeholders != list(template.placeholders) or category != template.category
        template.placeholders, template.category, template.sample_values = (
            placeholders, category, samples)
        for variant in session.scalars(select(MessageTemplateVariant).where(
                MessageTemplateVariant.template_id == template.id,
                MessageTemplateVariant.language.in_(removed))):
            session.delete(variant)
        if renumbered:  # the submitted content no longer matches: every variant again
            for variant in session.scalars(select(MessageTemplateVariant).where(
                    MessageTemplateVariant.template_id == template.id)):
                variant.body = ""
        ids = _set_variants(session, template, kept)
        session.flush()
        view = _view(session, template)
    _submit(ctx, ids)
    return view


def delete_template(ctx: Context, tenant_id: str, template_id: int) -> None:
    with ctx.db.transaction() as session:
        session.delete(_template(session, tenant_id, template_id))


def get_template(ctx: Context, tenant_id: str, template_id: int) -> TemplateView:
    with ctx.db.transaction() as session:
        return _view(session, _template(session, tenant_id, template_id))


def list_templates(ctx: Context, tenant_id: str, page: int = 1,
                   page_size: int = 50) -> Page[TemplateView]:
    check_page(page, page_size)
    with ctx.db.transaction() as session:
        require_tenant(session, tenant_id)
        count, rows = fetch_page(session, select(MessageTemplate).where(
            MessageTemplate.tenant_id == tenant_id), page, page_size, MessageTemplate.name)
        return Page(count, page, page_size, [_view(session, row) for row in rows])


def preview(ctx: Context, tenant_id: str, template_id: int, language: str,
            variables: dict[str, str] | None) -> dict[str, Any]:
    """The text a customer would read: the given values, else the template's samples."""
    with ctx.db.transaction() as session:
        template = _template(session, tenant_id, template_id)
        variant = _variant(session, template, language)
        values = dict(template.sample_values) if variables is None else dict(variables)
        check_values(variant.body, list(template.placeholders), values)
        return {"language": language, "text": fill(variant.body, values),
                "approval": variant.approval,
                "content_variables": _content_variables(variant.body, template, values)}


def _variant(session: Session, template: MessageTemplate, language: str,
             fallback: bool = False) -> MessageTemplateVariant:
    """The variant in `language`; with `fallback`, else the first the customer reads
    (domain/messaging.py READS). MessageRefused when there is none."""
    wanted = readable_languages(language) if fallback else (language,)
    variants = {v.language: v for v in session.scalars(select(MessageTemplateVariant).where(
        MessageTemplateVariant.template_id == template.id,
        MessageTemplateVariant.language.in_(wanted)))}
    for candidate in wanted:
        if candidate in variants:
            return variants[candidate]
    raise MessageRefused("template_language_missing", template=template.name,
                         language=" or ".join(wanted))


def _content_variables(body: str, template: MessageTemplate,
                       values: dict[str, str]) -> dict[str, str]:
    used = set(PLACEHOLDER.findall(body))
    return {str(i + 1): str(values[name]) for i, name in enumerate(template.placeholders)
            if name in used}


def render_for(session: Session, tenant_id: str, name: str, language: str,
               variables: dict[str, str]) -> Rendered:
    """A template by name rendered for sending in the customer's language, or one they read
    (a Sheng speaker's Swahili variant); MessageRefused when it has none of them, InvalidInput
    for unknown or missing variables."""
    template = session.scalar(select(MessageTemplate).where(
        MessageTemplate.tenant_id == tenant_id, MessageTemplate.name == name))
    if template is None:
        raise NotFound(f"No template named {name!r}")
    variant = _variant(session, template, language, fallback=True)
    check_values(variant.body, list(template.placeholders), variables)
    return Rendered(template.id, variant.language, fill(variant.body, variables),
                    variant.approval,
                    variant.content_sid, _content_variables(variant.body, template, variables))


def submission(ctx: Context, variant_id: int) -> Submission | None:
    """What to send to the Content API for a pending variant (None: nothing pending)."""
    with ctx.db.transaction() as session:
        variant = session.get(MessageTemplateVariant, variant_id)
        if variant is None or variant.approval != "pending":
            return None
        template = session.get_one(MessageTemplate, variant.template_id)
        samples = {name: template.sample_values.get(name) or name
                   for name in template.placeholders}
        return Submission(variant.id, variant.tenant_id,
                          f"{template.name}_{variant.language}", variant.language,
                          template.category, numbered(variant.body, list(template.placeholders)),
                          _content_variables(variant.body, template, samples))


def record_approval(ctx: Context, variant_id: int, body: str, content_sid: str,
                    approval: str, rejection_reason: str | None) -> None:
    """Store the Content API's answer, unless the text changed meanwhile."""
    with ctx.db.transaction() as session:
        variant = session.get(MessageTemplateVariant, variant_id)
        if variant is None or variant.approval != "pending":
            return
        template = session.get_one(MessageTemplate, variant.template_id)
        if numbered(variant.body, list(template.placeholders)) != body:
            return
        variant.content_sid = content_sid
        if approval in ("approved", "rejected"):
            variant.approval = approval
            variant.rejection_reason = rejection_reason


def pending_variants(ctx: Context) -> list[int]:
    """Variants still waiting for WhatsApp's decision (the sweep asks again)."""
    with ctx.db.transaction() as session:
        return list(session.scalars(select(MessageTemplateVariant.id).where(
            MessageTemplateVariant.approval == "pending").limit(200)))


def submit_for_approval(ctx: Context, variant_id: int) -> str:
    """The approval job: create the variant's content on Twilio (once) and ask where WhatsApp's
    approval stands; "approved", "rejected", "pending" or "skipped". Raises TwilioSendError
    (transient: retried) when the Content API cannot be reached."""
    wanted = submission(ctx, variant_id)
    if wanted is None:
        return "skipped"
    with ctx.db.transaction() as session:
        tenant = session.get_one(Tenant, wanted.tenant_id)
        variant = session.get_one(MessageTemplateVariant, variant_id)
        content_sid = variant.content_sid
        client = TwilioContent(tenant.twilio_account_sid,
                               ctx.crypto.decrypt(tenant.twilio_auth_token_encrypted),
                               ctx.settings.twilio_content_url(sandbox_tenant=tenant.sandbox))
    try:
        if content_sid is None:
            content_sid = client.submit(
                friendly_name=wanted.friendly_name, language=wanted.language, body=wanted.body,
                variables=wanted.variables, name=wanted.friendly_name, category=wanted.category)
            record_approval(ctx, variant_id, wanted.body, content_sid, "pending", None)
        answer = client.approval(content_sid)
    except TwilioSendError as error:  # stays pending: the scheduler's sweep asks again
        log.warning("template variant %s not submitted: %s", variant_id, error)
        return "pending"
    record_approval(ctx, variant_id, wanted.body, content_sid, answer.status,
                    answer.rejection_reason)
    return answer.status if answer.status in ("approved", "rejected") else "pending"
