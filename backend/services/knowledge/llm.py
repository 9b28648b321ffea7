"""The LLM fallback: grounded FAQ answers and intent classification through an OpenAI-compatible
endpoint, off unless configured and budgeted; every call logged with tokens, cost and outcome."""

from __future__ import annotations

import json
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.wiring import Context
from backend.domain.errors import Conflict, DomainError, NotFound
from backend.domain.intents import INTENTS
from backend.domain.knowledge import grounded
from backend.kb.runtime import runtime
from backend.kb.settings import KbSettings
from backend.metrics import LLM_CALLS, LLM_SPEND
from backend.models import LlmCall, Tenant
from backend.providers.llm import ChatClient, ChatResult, LlmTimeout
from backend.services.platform.pages import Page, fetch_page

MICROS_PER_MINOR = 10_000  # 1 minor unit (a cent) = 10,000 micro-units of the currency
LANGUAGE_NAMES = {"en": "English", "sw": "Swahili", "sheng": "Sheng (Nairobi Swahili-English mix)"}


class LlmUnavailable(Conflict):
    """The LLM may not be used for this tenant now (409): not configured, off, or over budget."""

    def __init__(self, description: str, reason: str) -> None:
        super().__init__(description)
        self.reason = reason
        self.extra = {"reason": reason}


class LlmTimedOut(DomainError):
    """No model answered within the deadline (504)."""


class LlmBadOutput(DomainError):
    """The model answered something unusable (502)."""


@dataclass(frozen=True)
class Gate:
    tenant_id: str
    currency: str
    exhausted_action: str


@dataclass(frozen=True)
class LlmCallView:
    id: int
    purpose: str
    model: str
    tokens_in: int
    tokens_out: int
    cost_micros: int
    currency: str
    latency_ms: int
    outcome: str
    detail: str
    created_at: datetime


@dataclass(frozen=True)
class LlmUsage:
    month: str
    calls: int
    cost_micros: int
    budget_minor: int
    exhausted: bool
    exhausted_action: str
    configured: bool


def _month_start(tenant: Tenant, now: datetime | None = None) -> datetime:
    local = (now or datetime.now(UTC)).astimezone(zoneinfo.ZoneInfo(tenant.timezone))
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


def spent_micros(session: Session, tenant: Tenant) -> int:
    total = session.scalar(select(func.coalesce(func.sum(LlmCall.cost_micros), 0)).where(
        LlmCall.tenant_id == tenant.id, LlmCall.created_at >= _month_start(tenant)))
    return int(total or 0)


def open_gate(ctx: Context, session: Session, tenant: Tenant) -> Gate:
    """May this tenant use the LLM now? LlmUnavailable says why not."""
    settings = runtime(ctx).settings
    features = tenant.features or {}
    action = str(features.get("llm_budget_exhausted_action", "fallback_to_rules"))
    if not settings.llm_configured:
        raise LlmUnavailable("The LLM is not configured on this platform (LLM_BASE_URL).",
                             "not_configured")
    budget = int(features.get("llm_budget_minor_per_month") or 0)
    if budget <= 0:
        raise LlmUnavailable("The LLM is not enabled for this tenant (its monthly LLM budget, "
                             "features.llm_budget_minor_per_month, is 0).", "disabled")
    if spent_micros(session, tenant) >= budget * MICROS_PER_MINOR:
        raise LlmUnavailable(f"The tenant's monthly LLM budget is exhausted (on exhaustion: "
                             f"{action}).", "budget_exhausted")
    return Gate(tenant.id, tenant.currency, action)


def _cost(settings: KbSettings, model: str, tokens_in: int, tokens_out: int) -> int:
    # Prices are per million tokens, so per token they are exactly micro-units.
    price_in, price_out = settings.price(model)
    return round(tokens_in * price_in + tokens_out * price_out)


def _log(ctx: Context, gate: Gate, purpose: str, model: str, latency_ms: int, outcome: str,
         detail: str = "", result: ChatResult | None = None) -> None:
    settings = runtime(ctx).settings
    tokens_in = result.tokens_in if result else 0
    tokens_out = result.tokens_out if result else 0
    cost = _cost(settings, model, tokens_in, tokens_out)
    with ctx.db.transaction() as session:
        session.add(LlmCall(
            tenant_id=gate.tenant_id, purpose=purpose, model=model[:100], tokens_in=tokens_in,
            tokens_out=tokens_out, cost_micros=cost,
            currency=gate.currency, latency_ms=latency_ms, outcome=outcome, detail=detail[:300]))
    LLM_CALLS.labels(outcome=outcome).inc()
    LLM_SPEND.labels(currency=gate.currency).inc(cost)


def _chat(ctx: Context, gate: Gate, purpose: str, messages: list[dict[str, str]]
          ) -> ChatResult:
    settings = runtime(ctx).settings
    client = ChatClient(settings.llm_base_url, settings.llm_api_key, settings.llm_timeout_seconds)
    result, failures = client.complete(settings.llm_models, messages)
    for failure in failures:
        outcome = "timeout" if isinstance(failure.error, LlmTimeout) else "error"
        _log(ctx, gate, purpose, failure.model, failure.latency_ms, outcome, str(failure.error))
    if result is None:
        if any(isinstance(f.error, LlmTimeout) for f in failures) or not failures:
            raise LlmTimedOut(f"No model answered within {settings.llm_timeout_seconds:g} s")
        raise LlmBadOutput("Every configured model failed: "
                           + "; ".join(str(f.error) for f in failures)[:300])
    return result


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text.strip())
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


# Grounded FAQ answers -----------------------------------------------------------------------

@dataclass(frozen=True)
class GroundedAnswer:
    text: str
    sources: list[int]  # positions in the passages given


def answer_prompt(shop: str, question: str, language: str, passages: list[str]
                  ) -> list[dict[str, str]]:
    numbered = "\n\n".join(f"[{n}] {text}" for n, text in enumerate(passages, start=1))
    system = (
        f"You answer WhatsApp customers of {shop}. Use ONLY the numbered passages below; never "
        "add a fact, price, place, time or promise that is not written in them. Reply with one "
        'JSON object only: {"answer": "<short answer in '
        f'{LANGUAGE_NAMES.get(language, "English")}>", "sources": [<numbers of the passages '
        'used>], "quotes": ["<sentences copied word for word from those passages that support '
        'the answer>"]}. If the passages do not answer the question, reply {"answer": null, '
        '"sources": [], "quotes": []}.'
    )
    return [{"role": "system", "content": system},
            {"role": "user", "content": f"Passages:\n{numbered}\n\nQuestion: {question}"}]


def grounded_answer(ctx: Context, gate: Gate, shop: str, question: str, language: str,
                    passages: list[str]) -> GroundedAnswer | None:
    """An answer built only from `passages`, or None (no answer, unusable or unsupported output,
    timeout): the caller then keeps its own answer. Every call is logged."""
    try:
        result = _chat(ctx, gate, "faq_answer", answer_prompt(shop, question, language, passages))
    except (LlmTimedOut, LlmBadOutput):
        return None
    payload = _json_object(result.text)
    answer = payload.get("answer") if payload else None
    sources = payload.get("sources") if payload else None
    quotes = payload.get("quotes") if payload else None
    if payload is None or not (answer is None or isinstance(answer, str)) \
            or not isinstance(sources, list) or not isinstance(quotes, list):
        _log(ctx, gate, "faq_answer", result.model, result.latency_ms, "malformed",
             "not the JSON asked for", result)
        return None
    cited = [s for s in sources if isinstance(s, int) and 1 <= s <= len(passages)]
    if answer is None or not answer.strip():
        _log(ctx, gate, "faq_answer", result.model, result.latency_ms, "ok", "no answer", result)
        return None
    if not cited or not grounded(answer, [str(q) for q in quotes],
                                 [passages[s - 1] for s in cited]):
        _log(ctx, gate, "faq_answer", result.model, result.latency_ms, "unsupported",
             "the answer is not supported by the passages", result)
        return None
    _log(ctx, gate, "faq_answer", result.model, result.latency_ms, "ok", "", result)
    return GroundedAnswer(answer.strip(), [s - 1 for s in cited])


# Intent classification ----------------------------------------------------------------------

@dataclass(frozen=True)
class Classification:
    intent: str
    confidence: float
    model: str


def classify_prompt(text: str, language: str | None) -> list[dict[str, str]]:
    catalogue = "\n".join(f"- {name}: {meaning}" for name, meaning in INTENTS.items())
    system = (
        "Classify one WhatsApp message a customer sent to a Kenyan shop (English, Swahili or "
        "Sheng) into exactly one of these intents:\n" + catalogue +
        '\nReply with one JSON object only: {"intent": "<one name from the list>", '
        '"confidence": <0 to 1>}. Use out_of_scope when none fits.'
    )
    hint = f" (language: {language})" if language else ""
    return [{"role": "system", "content": system},
            {"role": "user", "content": f"Message{hint}: {text}"}]


def classify(ctx: Context, tenant_id: str, text: str, language: str | None) -> Classification:
    with ctx.db.transaction() as session:
        tenant = session.get(Tenant, tenant_id)
        if tenant is None:
            raise NotFound(f"No tenant {tenant_id}")
        gate = open_gate(ctx, session, tenant)
    result = _chat(ctx, gate, "classify", classify_prompt(text, language))
    payload = _json_object(result.text)
    intent = payload.get("intent") if payload else None
    raw_confidence = payload.get("confidence", 0.5) if payload else None
    if not isinstance(intent, str) or intent not in INTENTS or isinstance(raw_confidence, bool) \
            or not isinstance(raw_confidence, int | float):
        _log(ctx, gate, "classify", result.model, result.latency_ms, "malformed",
             f"answer not a known intent: {result.text[:200]}", result)
        raise LlmBadOutput("The model did not answer one of the known intents as JSON")
    _log(ctx, gate, "classify", result.model, result.latency_ms, "ok", intent, result)
    return Classification(intent, round(min(1.0, max(0.0, float(raw_confidence))), 4),
                          result.model)


# The log and the month's usage --------------------------------------------------------------

def list_calls(ctx: Context, tenant_id: str, page: int, page_size: int) -> Page[LlmCallView]:
    with ctx.db.transaction() as session:
        query = select(LlmCall).where(LlmCall.tenant_id == tenant_id)
        count, rows = fetch_page(session, query, page, page_size, LlmCall.id.desc())
        views = [LlmCallView(r.id, r.purpose, r.model, r.tokens_in, r.tokens_out, r.cost_micros,
                             r.currency, r.latency_ms, r.outcome, r.detail, r.created_at)
                 for r in rows]
        return Page(count, page, page_size, views)


def usage(ctx: Context, tenant_id: str) -> LlmUsage:
    with ctx.db.transaction() as session:
        tenant = session.get(Tenant, tenant_id)
        if tenant is None:
            raise NotFound(f"No tenant {tenant_id}")
        start = _month_start(tenant)
        calls = session.scalar(select(func.count()).where(
            LlmCall.tenant_id == tenant_id, LlmCall.created_at >= start)) or 0
        spent = spent_micros(session, tenant)
        features = tenant.features or {}
        budget = int(features.get("llm_budget_minor_per_month") or 0)
        local_month = start.astimezone(zoneinfo.ZoneInfo(tenant.timezone)).strftime("%Y-%m")
        return LlmUsage(local_month, int(calls), spent, budget,
                        budget > 0 and spent >= budget * MICROS_PER_MINOR,
                        str(features.get("llm_budget_exhausted_action", "fallback_to_rules")),
                        runtime(ctx).settings.llm_configured)
