"""The NLU review loop: the customer messages the model was unsure of (confidence below a
threshold) or fell back on, a reviewer's decision on each (the intent it really is, with entities
marked, or discarded), and the candidate training data written from the reviewed messages.

Reviewers only ever see the message's text masked (`masked_text`: phone numbers, e-mail
addresses and M-Pesa transaction codes); entities are marked over that masked text, and the
candidate data is written from it, so no customer's number or code reaches data/nlu either.

The candidate writer (`write_candidates`) renders each language's reviewed messages as Rasa NLU
YAML (`data/nlu/<language>/review.yml`), leaving out what data/nlu already has (compared as the
evaluation's overlap check normalises: case, punctuation and spaces ignored) and refusing what
is, or nearly is, an evaluation sentence (held-out, independent, FAQ and public evaluation sets:
the same check as `make eval`, scripts/evaluation/overlap.py). It writes into NLU_REVIEW_DIR in
development; otherwise the YAML is only returned.
"""

from __future__ import annotations

import functools
import importlib
import json
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml
from sqlalchemy import Select, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.domain.errors import InvalidInput, NotFound, Unavailable
from backend.models import NluClassification, NluReview
from backend.services.conversations.classifications import FALLBACK_INTENT, as_example, best_guess
from backend.services.platform.audit import current_actor, masked, record_audit
from backend.services.platform.pages import Page, check_page
from backend.settings import REPO_ROOT
from backend.wiring import Context

DEFAULT_THRESHOLD = 0.6  # the low-confidence export's (make export-low-confidence)
INTENT, DISCARD = "intent", "discard"
DECISIONS = (INTENT, DISCARD)
PENDING, REVIEWED, DISCARDED, ALL = "pending", "reviewed", "discarded", "all"
STATUSES = (PENDING, REVIEWED, DISCARDED, ALL)
REVIEW_FILE = "review.yml"
NLU_FORMAT_VERSION = "3.1"
MAX_ENTITIES = 20
MAX_VALUE = 200
# Entities no reviewer marks: the language component sets `language` on every message, and
# `payment_id` comes with the payment events, never from a customer's words.
UNMARKED_ENTITIES = frozenset({"language", "payment_id"})
EXTERNAL_PREFIX = "EXTERNAL_"  # intents the backend triggers, never a customer's message
# An M-Pesa transaction code ("QGH7XK2L9P"): ten letters and digits, a letter first, with at
# least two digits and two letters (an ordinary word has no digits).
MPESA_CODE = re.compile(
    r"(?<![A-Za-z0-9])(?=(?:[A-Za-z]*\d){2})(?=(?:\d*[A-Za-z]){2})[A-Za-z][A-Za-z0-9]{9}"
    r"(?![A-Za-z0-9])")
MPESA_MASK = "**********"


def masked_text(text: str) -> str:
    """The message as reviewers see it: phones and e-mail addresses masked as the audit log
    masks them (pii.masking's phone rules), M-Pesa transaction codes replaced."""
    shown = masked(text)
    return MPESA_CODE.sub(MPESA_MASK, shown if isinstance(shown, str) else "")


# ------------------------------------------------------------------ the domain's vocabulary

@functools.lru_cache(maxsize=4)
def _vocabulary(domain_dir: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    intents: list[str] = []
    entities: list[str] = []
    for path in sorted(Path(domain_dir).glob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for item in document.get("intents") or []:
            name = next(iter(item)) if isinstance(item, dict) else str(item)
            if not name.startswith(EXTERNAL_PREFIX) and name not in intents:
                intents.append(name)
        for item in document.get("entities") or []:
            name = next(iter(item)) if isinstance(item, dict) else str(item)
            if name not in UNMARKED_ENTITIES and name not in entities:
                entities.append(name)
    return tuple(sorted(intents)), tuple(sorted(entities))


def review_intents(domain_dir: Path = REPO_ROOT / "domain") -> tuple[str, ...]:
    """The intents a reviewer may assign: the domain's (domain/*.yml), those the backend
    triggers (EXTERNAL_…) left out."""
    return _vocabulary(str(domain_dir))[0]


def review_entities(domain_dir: Path = REPO_ROOT / "domain") -> tuple[str, ...]:
    """The entities a reviewer may mark: the domain's, but `language` and `payment_id`."""
    return _vocabulary(str(domain_dir))[1]


# ------------------------------------------------------------------ the queue

@dataclass(frozen=True)
class ReviewFilter:
    threshold: float = DEFAULT_THRESHOLD
    language: str | None = None
    intent: str | None = None  # the predicted intent (nlu_fallback: the messages it fell back on)
    from_: datetime | None = None
    to: datetime | None = None
    status: str = PENDING


@dataclass(frozen=True)
class ReviewDecision:
    decision: str
    intent: str | None
    entities: list[dict[str, Any]]
    decided_by: str
    decided_at: datetime


@dataclass(frozen=True)
class ReviewItem:
    id: int  # the classification's id
    tenant_id: str
    text: str  # masked
    language: str | None
    intent: str | None  # what the model predicted (nlu_fallback when it fell back)
    confidence: float
    fallback: bool
    suggested_intent: str | None  # the model's best real intent
    created_at: datetime
    review: ReviewDecision | None = None


def _decision(review: NluReview | None) -> ReviewDecision | None:
    if review is None:
        return None
    return ReviewDecision(review.decision, review.intent, list(review.entities or []),
                          review.decided_by, review.decided_at)


def _item(row: NluClassification, review: NluReview | None) -> ReviewItem:
    suggested, _, fallback = best_guess(row.intent, row.confidence, list(row.ranking or []))
    return ReviewItem(row.id, row.tenant_id, masked_text(row.text), row.language, row.intent,
                      row.confidence, fallback, suggested, row.created_at, _decision(review))


def _queue_query(tenant_ids: Sequence[str] | None, where: ReviewFilter) -> Select[Any]:
    query = (select(NluClassification, NluReview)
             .outerjoin(NluReview, NluReview.classification_id == NluClassification.id)
             .where(or_(NluClassification.confidence < where.threshold,
                        NluClassification.intent == FALLBACK_INTENT)))
    if tenant_ids is not None:
        query = query.where(NluClassification.tenant_id.in_(list(tenant_ids)))
    if where.language:
        query = query.where(NluClassification.language == where.language)
    if where.intent:
        query = query.where(NluClassification.intent == where.intent)
    if where.from_ is not None:
        query = query.where(NluClassification.created_at >= where.from_)
    if where.to is not None:
        query = query.where(NluClassification.created_at < where.to)
    if where.status == PENDING:
        query = query.where(NluReview.id.is_(None))
    elif where.status == REVIEWED:
        query = query.where(NluReview.decision == INTENT)
    elif where.status == DISCARDED:
        query = query.where(NluReview.decision == DISCARD)
    return query


def review_queue(ctx: Context, tenant_ids: Sequence[str] | None, where: ReviewFilter,
                 page: int = 1, page_size: int = 50) -> Page[ReviewItem]:
    """The messages to review of these tenants (None: every tenant, for the operator), newest
    first, their text masked."""
    check_page(page, page_size)
    if not 0.0 <= where.threshold <= 1.0:
        raise InvalidInput("threshold must be between 0 and 1",
                           {"threshold": ["Must be between 0 and 1."]})
    if where.status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}")
    if where.from_ and where.to and where.from_ >= where.to:
        raise InvalidInput("from must be before to", {"from": ["Must be before to."]})
    if tenant_ids is not None and not tenant_ids:
        return Page(0, page, page_size, [])
    query = _queue_query(tenant_ids, where)
    with ctx.db.transaction() as session:
        count = session.scalar(select(func.count()).select_from(
            query.with_only_columns(NluClassification.id).subquery())) or 0
        rows = session.execute(
            query.order_by(NluClassification.created_at.desc(), NluClassification.id.desc())
            .offset((page - 1) * page_size).limit(page_size)).all()
        return Page(count, page, page_size, [_item(row, review) for row, review in rows])


def _owned(session: Session, tenant_ids: Sequence[str] | None, classification_id: int
           ) -> NluClassification:
    row = session.get(NluClassification, classification_id)
    if row is None or (tenant_ids is not None and row.tenant_id not in tenant_ids):
        raise NotFound("No such message")
    return row


def get_review_item(ctx: Context, tenant_ids: Sequence[str] | None, classification_id: int
                    ) -> ReviewItem:
    with ctx.db.transaction() as session:
        row = _owned(session, tenant_ids, classification_id)
        review = session.scalar(select(NluReview).where(
            NluReview.classification_id == row.id))
        return _item(row, review)


# ------------------------------------------------------------------ decisions

def checked_entities(text: str, entities: Sequence[dict[str, Any]],
                     names: Sequence[str]) -> list[dict[str, Any]]:
    """Entities marked over the masked text: each {start, end, entity, value} a span of the
    text, a known entity, no two overlapping; `value` defaults to the span's words."""
    if len(entities) > MAX_ENTITIES:
        raise InvalidInput(f"At most {MAX_ENTITIES} entities")
    out = []
    for number, item in enumerate(entities):
        start, end, name = item.get("start"), item.get("end"), item.get("entity")
        where = f"entities.{number}"
        if not isinstance(start, int) or not isinstance(end, int) or not 0 <= start < end <= len(
                text):
            raise InvalidInput(f"{where}: start and end must mark a span of the text "
                               f"(0 to {len(text)})", {where: ["Not a span of the text."]})
        if not text[start:end].strip():
            raise InvalidInput(f"{where}: the span is blank", {where: ["Blank span."]})
        if name not in names:
            raise InvalidInput(f"{where}: unknown entity {name!r}",
                               {where: [f"One of: {', '.join(names)}."]})
        value = item.get("value")
        value = text[start:end] if value is None or value == "" else str(value)
        if len(value) > MAX_VALUE:
            raise InvalidInput(f"{where}: value longer than {MAX_VALUE} characters")
        out.append({"start": start, "end": end, "entity": name, "value": value})
    out.sort(key=lambda e: (e["start"], e["end"]))
    for before, after in zip(out, out[1:]):
        if after["start"] < before["end"]:
            raise InvalidInput("entities overlap", {"entities": ["Spans overlap."]})
    return out


def decide(ctx: Context, tenant_ids: Sequence[str] | None, classification_id: int,
           decision: str, intent: str | None = None,
           entities: Sequence[dict[str, Any]] = ()) -> ReviewItem:
    """Record (or change) the decision on one message: the intent it is with its entities, or
    discarded; who (the request's actor) and when; an audit record with the change."""
    if decision not in DECISIONS:
        raise InvalidInput(f"decision must be one of {', '.join(DECISIONS)}")
    if decision == DISCARD:
        intent, entities = None, ()
    elif intent not in review_intents():
        raise InvalidInput(f"unknown intent {intent!r}",
                           {"intent": ["One of the domain's intents (domain/*.yml)."]})
    try:
        return _decide(ctx, tenant_ids, classification_id, decision, intent, entities)
    except IntegrityError:
        # A concurrent first decision on the same message won; this one changes it.
        return _decide(ctx, tenant_ids, classification_id, decision, intent, entities)


def _decide(ctx: Context, tenant_ids: Sequence[str] | None, classification_id: int,
            decision: str, intent: str | None, entities: Sequence[dict[str, Any]]
            ) -> ReviewItem:
    actor = current_actor()
    with ctx.db.transaction() as session:
        row = _owned(session, tenant_ids, classification_id)
        text = masked_text(row.text)
        marked = checked_entities(text, list(entities), review_entities())
        review = session.scalar(select(NluReview).where(NluReview.classification_id == row.id)
                                .with_for_update())
        before = None
        if review is None:
            review = NluReview(tenant_id=row.tenant_id, classification_id=row.id)
            session.add(review)
        else:
            before = {"decision": review.decision, "intent": review.intent,
                      "entities": review.entities, "decided_by": review.decided_by}
        review.decision, review.intent, review.entities = decision, intent, marked
        review.decided_by, review.decided_at = actor, datetime.now(UTC)
        session.flush()
        record_audit(session, row.tenant_id, actor,
                     "nlu_reviews.change" if before else "nlu_reviews.decide",
                     ("nlu_classification", row.id), before,
                     {"decision": decision, "intent": intent, "entities": marked})
        return _item(row, review)


# ------------------------------------------------------------------ the candidate data

@dataclass(frozen=True)
class CandidateSources:
    """Where the writer looks: the training data (dedupe) and the evaluation sets (refusal)."""

    data_dir: Path = REPO_ROOT / "data"
    heldout_dir: Path = REPO_ROOT / "eval" / "heldout"
    independent_dir: Path = REPO_ROOT / "eval" / "independent"
    faq_dir: Path = REPO_ROOT / "eval" / "faq"
    external_dir: Path | None = None  # None: where `make eval` finds the public sets

    @property
    def nlu_dir(self) -> Path:
        return self.data_dir / "nlu"


@dataclass(frozen=True)
class Refused:
    id: int
    language: str
    text: str
    reason: str  # "evaluation" (copy or near copy of an evaluation sentence), "language"
    detail: str


@dataclass(frozen=True)
class CandidateFile:
    language: str
    file_name: str  # "<language>/review.yml"
    examples: list[str]  # the new examples, annotated
    content: str  # the whole file
    written_to: str | None = None


@dataclass(frozen=True)
class CandidateResult:
    files: list[CandidateFile] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)  # already in data/nlu (or twice here)
    refused: list[Refused] = field(default_factory=list)
    reviewed: int = 0


def _evaluation() -> tuple[ModuleType, ModuleType, ModuleType]:
    """scripts/evaluation (datasets, overlap) and scripts/eval_nlu (where the public sets are):
    the overlap check of `make eval`, used as it is."""
    scripts = str(REPO_ROOT / "scripts")
    if scripts not in sys.path:
        sys.path.append(scripts)
    return (importlib.import_module("evaluation.datasets"),
            importlib.import_module("evaluation.overlap"),
            importlib.import_module("eval_nlu"))


def annotated(text: str, entities: Sequence[dict[str, Any]]) -> str:
    """The masked words as a Rasa example: entity markup `[words](entity)` (or
    `[words]{"entity": …, "value": …}` when the value differs), anything else that would read as
    markup broken by a space."""
    out, position = [], 0
    for entity in sorted(entities, key=lambda e: (e["start"], e["end"])):
        start, end = entity["start"], entity["end"]
        words = text[start:end]
        out.append(as_example(text[position:start]))
        if str(entity.get("value")) == words:
            out.append(f"[{as_example(words)}]({entity['entity']})")
        else:
            spec = {"entity": entity["entity"], "value": entity.get("value")}
            out.append(f"[{as_example(words)}]{json.dumps(spec, ensure_ascii=False)}")
        position = end
    out.append(as_example(text[position:]))
    return " ".join("".join(out).split())


def _existing(path: Path) -> dict[str, list[str]]:
    """intent → example lines (markup kept) of a review file written before."""
    if not path.is_file():
        return {}
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    found: dict[str, list[str]] = {}
    for item in document.get("nlu") or []:
        if isinstance(item, dict) and "intent" in item:
            examples = item.get("examples") or ""
            lines = [line.strip()[2:].strip() for line in str(examples).splitlines()
                     if line.strip().startswith("- ")]
            found.setdefault(str(item["intent"]), []).extend(lines)
    return found


def render_nlu(blocks: dict[str, list[str]], header: str = "") -> str:
    """Rasa NLU YAML as data/nlu writes it: one block per intent, `examples: |` lines."""
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    lines += [f'version: "{NLU_FORMAT_VERSION}"', "", "nlu:" if blocks else "nlu: []"]
    for intent in sorted(blocks):
        lines += [f"- intent: {intent}", "  examples: |"]
        lines += [f"    - {example}" for example in blocks[intent]]
    return "\n".join(lines) + "\n"


HEADER = ("Customer messages reviewed in the NLU review loop (/app/review), masked; written by\n"
          "the candidate writer. `make train` trains on it, `make eval` checks it.")


def write_candidates(ctx: Context, tenant_ids: Sequence[str] | None,
                     language: str | None = None,
                     sources: CandidateSources | None = None) -> CandidateResult:
    """Each language's reviewed (not discarded) messages of these tenants as Rasa NLU YAML,
    new examples only (not in data/nlu, case, punctuation and spaces ignored), none that copies or
    nearly copies an evaluation sentence (refused and reported). Written to
    <NLU_REVIEW_DIR>/<language>/review.yml (merged with what it holds) when that development
    setting is on; returned either way."""
    sources = sources or CandidateSources()
    datasets, overlap, eval_nlu = _evaluation()
    languages = sorted(p.name for p in sources.nlu_dir.iterdir()
                       if p.is_dir() and p.name != "public") if sources.nlu_dir.is_dir() else []
    query = (select(NluClassification, NluReview)
             .join(NluReview, NluReview.classification_id == NluClassification.id)
             .where(NluReview.decision == INTENT)
             .order_by(NluReview.decided_at, NluReview.id))
    if tenant_ids is not None:
        query = query.where(NluClassification.tenant_id.in_(list(tenant_ids)))
    if language:
        query = query.where(NluClassification.language == language)
    with ctx.db.transaction() as session:
        rows = [(row.id, row.language or "", masked_text(row.text), review.intent or "",
                 list(review.entities or [])) for row, review in session.execute(query)]
    refused: list[Refused] = []
    candidates = []
    for row_id, lang, text, intent, entities in rows:
        if lang not in languages:
            refused.append(Refused(row_id, lang, text, "language",
                                   f"no data/nlu/{lang or '?'}/ folder (one of "
                                   f"{', '.join(languages)})"))
            continue
        candidates.append((row_id, lang, text, intent, annotated(text, entities)))
    try:
        evaluation = datasets.overlap_sets(
            sources.external_dir or eval_nlu.default_external(), sources.heldout_dir,
            sources.independent_dir, sources.faq_dir)
        trained = {overlap.normalise(text)
                   for _, text in datasets.training_sentences(sources.data_dir)}
    except datasets.DatasetError as error:
        raise Unavailable(f"The evaluation sets could not be read: {error}") from error
    as_training = [(f"{e.set}/{e.lang}/{e.part}", e.text) for e in evaluation]
    probes = [datasets.Example("review", lang, text, intent, intent, "candidate")
              for _, lang, text, intent, _ in candidates]
    banned = {overlap.normalise(o.example.text): o
              for o in overlap.find_overlaps(as_training, probes)}
    folder = ctx.settings.nlu_review_dir
    targets = {lang: Path(folder) / lang / REVIEW_FILE if folder else None for lang in languages}
    written_before = {lang: _existing(target) if target is not None else {}
                      for lang, target in targets.items()}
    seen: set[str] = {  # what the review files hold already (wherever NLU_REVIEW_DIR is)
        overlap.normalise(datasets.strip_entity_markup(line))
        for blocks in written_before.values() for lines in blocks.values() for line in lines}
    duplicates: list[str] = []
    new: dict[str, dict[str, list[str]]] = {}
    for row_id, lang, text, intent, example in candidates:
        key = overlap.normalise(text)
        if key in banned:
            hit = banned[key]
            refused.append(Refused(row_id, lang, text, "evaluation",
                                   f"{hit.kind} of {hit.training_file}: {hit.training_text}"))
        elif not key or key in trained or key in seen:
            duplicates.append(text)
        else:
            seen.add(key)
            new.setdefault(lang, {}).setdefault(intent, []).append(example)
    files = []
    for lang in sorted(new):
        target = targets[lang]
        blocks = written_before[lang]
        for intent, examples in new[lang].items():
            blocks.setdefault(intent, []).extend(examples)
        content = render_nlu(blocks, HEADER)
        written = None
        if target is not None:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content, encoding="utf-8")
            written = str(target)
        files.append(CandidateFile(lang, f"{lang}/{REVIEW_FILE}",
                                   [e for examples in new[lang].values() for e in examples],
                                   content, written))
    return CandidateResult(files, duplicates, refused, len(rows))


__all__ = [
    "ALL", "DEFAULT_THRESHOLD", "DISCARD", "DISCARDED", "INTENT", "PENDING", "REVIEWED",
    "STATUSES", "CandidateFile", "CandidateResult", "CandidateSources", "Refused",
    "ReviewDecision", "ReviewFilter", "ReviewItem", "annotated", "checked_entities", "decide",
    "get_review_item", "masked_text", "render_nlu", "review_entities", "review_intents",
    "review_queue", "write_candidates",
]
