"""Answering a customer's question from the tenant's knowledge base: hybrid retrieval, the
answer in the customer's language above the threshold, the LLM (when allowed) or an honest
"not sure" with a person below it; answers cached in Redis for an hour."""

from __future__ import annotations

import hashlib
import json
import logging
import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from redis import RedisError
from sqlalchemy import select

from backend.wiring import Context
from backend.domain.errors import InvalidInput
from backend.domain.knowledge import (
    LANGUAGES,
    MAX_QUESTION_CHARS,
    AnswerEvidence,
    calibrated,
    choose_answer,
    detect_language,
    fold,
    not_sure,
    terms,
)
from backend.kb.index import Candidate, TenantIndex
from backend.kb.runtime import KbRuntime, runtime
from backend.models import KbDocument, KbEntry, KbPassage, Tenant
from backend.models.analytics import FaqAnswerLog
from backend.services.knowledge import llm as kb_llm
from backend.services.knowledge.kb import is_current, kb_version, queue_rebuild
from backend.services.platform.tenants import require_tenant

log = logging.getLogger(__name__)
INTENT_BONUS = 0.05  # an intent hint that matches an entry's tags, on the confidence
LLM_CONTEXT = 3  # passages handed to the LLM


@dataclass(frozen=True)
class Source:
    id: int
    kind: str  # faq | passage
    title: str


@dataclass(frozen=True)
class FaqAnswer:
    answer: str | None
    answered: bool
    language: str
    language_fallback: bool
    sources: list[Source]
    confidence: float
    method: str  # faq | passage | llm | none
    offer_human: bool
    cached: bool = field(default=False, compare=False)


@dataclass(frozen=True)
class _Target:
    kind: str
    id: int
    title: str
    answers: dict[str, str]  # passages: {document language: text}
    tags: tuple[str, ...]
    prompt_text: str  # what the LLM sees


def _cache_key(tenant_id: str, generation: str, version: int, index_version: int,
               language: str, intent: str | None, question: str) -> str:
    """The tenant comes first (a change drops kb:answer:<tenant>:*); the KB's generation and
    version and the index's version make an answer from before a change unreachable."""
    digest = hashlib.sha1(" ".join(fold(question).split()).encode()).hexdigest()
    return (f"kb:answer:{tenant_id}:{generation[:8]}.{version}.{index_version}:{language}:"
            f"{intent or '-'}:{digest}")


def _cached(kb: KbRuntime, key: str) -> FaqAnswer | None:
    redis = kb.redis()
    if redis is None or kb.settings.cache_seconds <= 0:
        return None
    try:
        raw = redis.get(key)
    except RedisError as error:
        log.warning("answer cache unavailable: %s", error)
        return None
    if raw is None:
        return None
    data = json.loads(raw)
    data["sources"] = [Source(**s) for s in data["sources"]]
    return FaqAnswer(**{**data, "cached": True})


def _store(kb: KbRuntime, key: str, answer: FaqAnswer) -> None:
    redis = kb.redis()
    if redis is None or kb.settings.cache_seconds <= 0:
        return
    try:
        redis.set(key, json.dumps({**asdict(answer), "cached": False}),
                  ex=kb.settings.cache_seconds)
    except RedisError as error:
        log.warning("answer cache unavailable: %s", error)


def _targets(ctx: Context, tenant_id: str, candidates: list[Candidate]) -> dict[str, _Target]:
    """The candidates' rows, loaded for this tenant only: an id of another tenant (which no
    index of this tenant holds anyway) finds nothing."""
    faq_ids = [int(c.target.split(":")[1]) for c in candidates if c.target.startswith("faq:")]
    passage_ids = [int(c.target.split(":")[1]) for c in candidates
                   if c.target.startswith("passage:")]
    found: dict[str, _Target] = {}
    with ctx.db.transaction() as session:
        if faq_ids:
            for entry in session.scalars(select(KbEntry).where(
                    KbEntry.tenant_id == tenant_id, KbEntry.id.in_(faq_ids),
                    KbEntry.active.is_(True))):
                prompt = f"{entry.title}: " + " ".join(entry.answers.values())
                found[f"faq:{entry.id}"] = _Target("faq", entry.id, entry.title,
                                                   dict(entry.answers), tuple(entry.tags), prompt)
        if passage_ids:
            rows = session.execute(
                select(KbPassage, KbDocument.title, KbDocument.language)
                .join(KbDocument, KbDocument.id == KbPassage.document_id)
                .where(KbPassage.tenant_id == tenant_id, KbPassage.id.in_(passage_ids)))
            for passage, title, language in rows:
                heading = f"{title} — {passage.heading}" if passage.heading else title
                found[f"passage:{passage.id}"] = _Target(
                    "passage", passage.id, heading, {language: passage.text}, (),
                    f"{heading}: {passage.text}")
    return found


def answer(ctx: Context, tenant_id: str, question: str, language: str | None = None,
           intent: str | None = None) -> FaqAnswer:
    question = question.strip()
    if not question or len(question) > MAX_QUESTION_CHARS:
        raise InvalidInput(f"question must have 1 to {MAX_QUESTION_CHARS} characters")
    if language is not None and language not in (*LANGUAGES, "mixed"):
        raise InvalidInput(f"language must be one of {', '.join(LANGUAGES)}")
    asked = language if language in LANGUAGES else detect_language(question)
    kb = runtime(ctx)
    with ctx.db.transaction() as session:
        tenant = require_tenant(session, tenant_id)
        version, generation = kb_version(session, tenant_id)
        default_language, shop = tenant.primary_language, tenant.name
    index = kb.index(tenant_id)
    if version and not is_current(index, version, generation) and kb.rebuild_due(tenant_id):
        queue_rebuild(ctx, tenant_id)  # a rebuild that was lost (queue down, worker crash)
    if index is None or index.generation != generation:
        # Not built yet (the rebuild is queued), or built for another database's history.
        return _unsure(ctx, tenant_id, asked, [], 0.0)
    key = _cache_key(tenant_id, generation, version, index.version, asked, intent, question)
    hit = _cached(kb, key)
    if hit is not None:
        return hit
    vector = kb.embedder().queries([question])[0]
    candidates = index.search(vector, question, kb.calibration, kb.settings.lexical_fusion,
                              passage_offset=kb.passage_offset)
    targets = _targets(ctx, tenant_id, candidates)
    ranked = [c for c in candidates if c.target in targets]
    if not ranked:
        return _unsure(ctx, tenant_id, asked, [], 0.0)
    best = ranked[0]
    target = targets[best.target]
    score = kb.confidence(evidence(kb, index, question, ranked, vector), asked)
    if intent and intent in target.tags:
        score = min(1.0, score + INTENT_BONUS)
    if score >= kb.settings.min_confidence:
        chosen = choose_answer(target.answers, asked, default_language)
        if chosen is not None:
            result = FaqAnswer(chosen.text, True, chosen.language, chosen.language_fallback,
                               [Source(target.id, target.kind, target.title)], score,
                               target.kind, False)
            _store(kb, key, result)
            return result
    result = _unsure(ctx, tenant_id, asked, [targets[c.target] for c in ranked[:LLM_CONTEXT]],
                     score, question, shop)
    if result.answered:
        _store(kb, key, result)
    return result


def evidence(kb: KbRuntime, index: TenantIndex, question: str, ranked: list[Candidate],
             vector: np.ndarray | None = None) -> AnswerEvidence:
    """The evidence for the best of `ranked` (the search's candidates, best first); `vector`,
    the question's embedding, adds how the best target's answers read against it."""
    best = ranked[0]
    runner_up = ranked[1].fused if len(ranked) > 1 else 0.0
    _, span = kb.calibration
    others = [c.dense for c in ranked[1:]]
    relative = (best.dense - sum(others) / len(others)) / span if others else 0.0
    answer_dense = 0.0
    if vector is not None:
        cosine = index.field_cosine(best.target, vector, ("answer", "passage"),
                                    kb.passage_offset)
        answer_dense = calibrated(cosine, kb.calibration) if cosine is not None else 0.0
    share, unknown = index.coverage(question, best.target)
    dense_margin = (best.dense - ranked[1].dense) / span if len(ranked) > 1 else 0.0
    agreement = float(best.dense_rank == 1 and best.lexical_rank == 1)
    return AnswerEvidence(calibrated(best.dense, kb.calibration), share, unknown,
                          best.fused - runner_up,
                          math.log1p(len(set(terms(question)))), relative, answer_dense,
                          dense_margin, agreement)


def _unsure(ctx: Context, tenant_id: str, asked: str, context: list[_Target], score: float,
            question: str = "", shop: str = "") -> FaqAnswer:
    """Below the threshold: the LLM over the best passages when the tenant may use it, else
    "not sure" in the customer's language (Sheng customers read Swahili) and a person."""
    llm = _llm_answer(ctx, tenant_id, asked, context, question, shop) if context else None
    if llm is not None:
        return llm
    language = asked if asked in LANGUAGES else "en"
    return FaqAnswer(not_sure(language), False, language, False, [], score, "none", True)


def _llm_answer(ctx: Context, tenant_id: str, asked: str, context: list[_Target], question: str,
                shop: str) -> FaqAnswer | None:
    if not runtime(ctx).settings.llm_configured:
        return None  # the common case: no database round trip for the gate
    with ctx.db.transaction() as session:
        tenant = session.get(Tenant, tenant_id)
        assert tenant is not None
        try:
            gate = kb_llm.open_gate(ctx, session, tenant)
        except kb_llm.LlmUnavailable:
            return None
    reply = kb_llm.grounded_answer(ctx, gate, shop, question, asked,
                                   [t.prompt_text for t in context])
    if reply is None:
        return None
    sources = [Source(context[i].id, context[i].kind, context[i].title) for i in reply.sources]
    return FaqAnswer(reply.text, True, asked, False, sources, 0.5, "llm", False)


def record_answer(ctx: Context, tenant_id: str, result: FaqAnswer) -> None:
    """Log an answer given to a customer (answered or declined) for the analytics roll-up;
    only what the counts need, never the question."""
    with ctx.db.transaction() as session:
        session.add(FaqAnswerLog(tenant_id=tenant_id, answered=result.answered,
                                 method=result.method, language=result.language[:8]))


def answer_payload(result: FaqAnswer) -> dict[str, Any]:
    return {k: v for k, v in asdict(result).items() if k != "cached"}
