"""The knowledge base of a tenant: FAQ entries and documents (cut into passages), imports from
YAML or CSV, and the index rebuild every change queues."""

from __future__ import annotations

import base64
import binascii
import csv
import io
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import yaml
from redis import RedisError
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from backend.wiring import Context
from backend.domain.errors import Conflict, InvalidInput, NotFound
from backend.domain.knowledge import LANGUAGES, fold, split_passages
from backend.queueing.names import REBUILD_KB_INDEX
from backend.queueing.runner import JobQueueUnavailable
from backend.kb.index import Item, TenantIndex, build_index
from backend.kb.phrasings import generated_phrasings
from backend.kb.runtime import runtime
from backend.models import KbDocument, KbEntry, KbPassage, KbState
from backend.services.platform.edits import apply_changes
from backend.services.platform.pages import Page, fetch_page
from backend.services.platform.scoped import tenant_row
from backend.services.platform.tenants import require_tenant

log = logging.getLogger(__name__)
ENTRY_FIELDS = ("key", "title", "questions", "answers", "tags", "active")
CONTENT_TYPES = ("text/plain", "text/markdown", "application/pdf")


@dataclass(frozen=True)
class EntryView:
    id: int
    key: str
    title: str
    questions: list[str]
    answers: dict[str, str]
    tags: list[str]
    active: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class PassageView:
    id: int
    position: int
    heading: str
    text: str


@dataclass(frozen=True)
class DocumentView:
    id: int
    title: str
    content_type: str
    language: str
    text: str
    passages: list[PassageView]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ImportReport:
    entries_created: int = 0
    entries_updated: int = 0
    documents_created: int = 0
    documents_updated: int = 0
    entries_deleted: int = 0
    documents_deleted: int = 0


@dataclass(frozen=True)
class KbStatus:
    version: int
    indexed_version: int | None
    embedder: str
    entries: int
    passages: int
    items: int


@dataclass
class RebuildReport:
    tenant_id: str
    version: int
    items: int = 0
    embedded: int = 0  # items embedded anew; the others reused the previous index's vectors
    skipped: bool = False
    notes: list[str] = field(default_factory=list)


def _entry_view(entry: KbEntry) -> EntryView:
    return EntryView(entry.id, entry.key, entry.title, list(entry.questions), dict(entry.answers),
                     list(entry.tags), entry.active, entry.created_at, entry.updated_at)


def _document_view(document: KbDocument) -> DocumentView:
    passages = [PassageView(p.id, p.position, p.heading, p.text) for p in document.passages]
    return DocumentView(document.id, document.title, document.content_type, document.language,
                        document.text, passages, document.created_at, document.updated_at)


# Validation ---------------------------------------------------------------------------------

def _clean_questions(questions: Any) -> list[str]:
    cleaned = [str(q).strip() for q in questions or [] if str(q).strip()]
    if not cleaned:
        raise InvalidInput("An entry needs at least one question", {"questions": ["empty"]})
    return cleaned


def _clean_answers(answers: Any) -> dict[str, str]:
    if not isinstance(answers, Mapping):
        raise InvalidInput("answers must map a language to a text", {"answers": ["not a map"]})
    unknown = sorted(set(answers) - set(LANGUAGES))
    if unknown:
        raise InvalidInput(f"Unknown answer language(s): {', '.join(unknown)}",
                           {"answers": [f"use {', '.join(LANGUAGES)}"]})
    cleaned = {lang: str(text).strip() for lang, text in answers.items() if str(text).strip()}
    if not cleaned:
        raise InvalidInput("An entry needs an answer in at least one language",
                           {"answers": ["empty"]})
    return cleaned


def _checked_entry(values: Mapping[str, Any]) -> dict[str, Any]:
    checked = dict(values)
    if "questions" in checked:
        checked["questions"] = _clean_questions(checked["questions"])
    if "answers" in checked:
        checked["answers"] = _clean_answers(checked["answers"])
    if "tags" in checked:
        checked["tags"] = [str(t).strip() for t in checked["tags"] or [] if str(t).strip()]
    return checked


def document_text(content_type: str, text: str | None, content_base64: str | None) -> str:
    """The plain text of a document: given as text, or extracted from a base64 PDF."""
    if content_type not in CONTENT_TYPES:
        raise InvalidInput(f"content_type must be one of {', '.join(CONTENT_TYPES)}")
    if content_type == "application/pdf":
        if not content_base64:
            raise InvalidInput("A PDF comes as content_base64", {"content_base64": ["missing"]})
        try:
            raw = base64.b64decode(content_base64, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput("content_base64 is not base64") from None
        return _pdf_text(raw)
    if not text or not text.strip():
        raise InvalidInput("A document needs text", {"text": ["empty"]})
    return text


def _pdf_text(raw: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        pages = PdfReader(io.BytesIO(raw)).pages
        text = "\n\n".join((page.extract_text() or "").strip() for page in pages)
    except (PdfReadError, ValueError, KeyError) as error:
        raise InvalidInput(f"The PDF cannot be read: {error}") from None
    if not text.strip():
        raise InvalidInput("The PDF has no extractable text (a scan?)")
    return text


def _cut(session: Session, document: KbDocument) -> None:
    document.passages.clear()
    session.flush()
    markdown = document.content_type == "text/markdown"
    for position, chunk in enumerate(split_passages(document.text, markdown)):
        document.passages.append(KbPassage(tenant_id=document.tenant_id, position=position,
                                           heading=chunk.heading, text=chunk.text))


# Versions and rebuilds ----------------------------------------------------------------------

def _bump(session: Session, tenant_id: str) -> int:
    state = session.get(KbState, tenant_id, with_for_update=True)
    if state is None:
        state = KbState(tenant_id=tenant_id, version=0)
        session.add(state)
    state.version += 1
    session.flush()
    return state.version


@contextmanager
def _changing(ctx: Context, tenant_id: str) -> Iterator[Session]:
    """One transaction that changes the tenant's knowledge: its end bumps the KB version (which
    flushes the change) and, once committed, an index rebuild is queued. Rows keep their flushed
    values after the block (sessions do not expire on commit)."""
    with ctx.db.transaction() as session:
        yield session
        _bump(session, tenant_id)
    queue_rebuild(ctx, tenant_id)


def queue_rebuild(ctx: Context, tenant_id: str) -> bool:
    """Ask for an index rebuild (RQ, or in-process after the request without Redis)."""
    invalidate_cache(ctx, tenant_id)
    runtime(ctx).rebuild_due(tenant_id)  # noted, so answers do not ask for another at once
    try:
        ctx.jobs.enqueue(REBUILD_KB_INDEX, tenant_id)
    except JobQueueUnavailable as error:
        # The change is saved; the next change or `python -m backend.jobs.kb` rebuilds it.
        log.warning("index rebuild for %s not queued: %s", tenant_id, error)
        return False
    return True


def invalidate_cache(ctx: Context, tenant_id: str) -> int:
    """Drop the tenant's cached answers (keys also carry the KB version, so a change is never
    served stale even before this runs)."""
    redis = runtime(ctx).redis()
    if redis is None:
        return 0
    try:
        keys = list(redis.scan_iter(match=f"kb:answer:{tenant_id}:*", count=500))
        return int(redis.delete(*keys)) if keys else 0
    except RedisError as error:
        log.warning("answer cache unavailable: %s", error)
        return 0


def kb_version(session: Session, tenant_id: str) -> tuple[int, str]:
    """(version, generation) of the tenant's knowledge base; (0, "") before any change."""
    row = session.execute(select(KbState.version, KbState.generation)
                          .where(KbState.tenant_id == tenant_id)).first()
    return (int(row[0]), str(row[1])) if row else (0, "")


def is_current(index: TenantIndex | None, version: int, generation: str) -> bool:
    """The index holds this version (or a later one) of this knowledge base's history."""
    return index is not None and index.generation == generation and index.version >= version


def index_items(session: Session, tenant_id: str) -> list[Item]:
    items: list[Item] = []
    entries = session.scalars(select(KbEntry).where(KbEntry.tenant_id == tenant_id,
                                                    KbEntry.active.is_(True))
                              .order_by(KbEntry.id))
    for entry in entries:
        target = f"faq:{entry.id}"
        items += [Item(target, "question", q) for q in entry.questions]
        own = {fold(q) for q in entry.questions}
        items += [Item(target, "generated", text)
                  for text in generated_phrasings(entry.title, entry.questions)
                  if fold(text) not in own]
        items += [Item(target, "answer", text) for _, text in sorted(entry.answers.items())]
    passages = session.scalars(select(KbPassage).where(KbPassage.tenant_id == tenant_id)
                               .order_by(KbPassage.id))
    for passage in passages:
        text = f"{passage.heading}\n{passage.text}" if passage.heading else passage.text
        items.append(Item(f"passage:{passage.id}", "passage", text))
    return items


def rebuild(ctx: Context, tenant_id: str) -> RebuildReport:
    """Build the tenant's index at the knowledge base's current version, reusing the vectors of
    texts already indexed; a newer index on disk is left alone."""
    kb = runtime(ctx)
    with ctx.db.transaction() as session:
        version, generation = kb_version(session, tenant_id)
        items = index_items(session, tenant_id)
    report = RebuildReport(tenant_id, version, len(items))
    previous = kb.index(tenant_id)
    if is_current(previous, version, generation):
        report.skipped = True
        return report
    # Vectors depend only on the texts: reuse them even from another generation's index.
    index, report.embedded = build_index(version, kb.embedder(), items, previous, generation)
    if is_current(kb.index(tenant_id), version + 1, generation):  # a later job won meanwhile
        report.skipped = True
        return report
    index.save(kb.directory(tenant_id))
    kb.remember(tenant_id, index)
    return report


def status(ctx: Context, tenant_id: str) -> KbStatus:
    kb = runtime(ctx)
    with ctx.db.transaction() as session:
        require_tenant(session, tenant_id)
        version, generation = kb_version(session, tenant_id)
        entries = len(session.scalars(select(KbEntry.id).where(
            KbEntry.tenant_id == tenant_id)).all())
        passages = len(session.scalars(select(KbPassage.id).where(
            KbPassage.tenant_id == tenant_id)).all())
    index: TenantIndex | None = kb.index(tenant_id)
    current = index is not None and index.generation == generation
    return KbStatus(version, index.version if current and index else None, kb.embedder_key,
                    entries, passages, len(index) if current and index else 0)


# Entries ------------------------------------------------------------------------------------

def list_entries(ctx: Context, tenant_id: str, page: int, page_size: int) -> Page[EntryView]:
    with ctx.db.transaction() as session:
        query = select(KbEntry).where(KbEntry.tenant_id == tenant_id)
        count, rows = fetch_page(session, query, page, page_size, KbEntry.id)
        return Page(count, page, page_size, [_entry_view(row) for row in rows])


def get_entry(ctx: Context, tenant_id: str, entry_id: int) -> EntryView:
    with ctx.db.transaction() as session:
        return _entry_view(tenant_row(session, KbEntry, entry_id, tenant_id, "entry"))


def _key_taken(session: Session, tenant_id: str, key: str, but: int | None = None) -> None:
    query = select(KbEntry.id).where(KbEntry.tenant_id == tenant_id, KbEntry.key == key)
    if but is not None:
        query = query.where(KbEntry.id != but)
    if session.scalar(query) is not None:
        raise Conflict(f"An entry with key {key!r} already exists")


def create_entry(ctx: Context, tenant_id: str, values: Mapping[str, Any]) -> EntryView:
    checked = _checked_entry(values)
    with _changing(ctx, tenant_id) as session:
        require_tenant(session, tenant_id)
        _key_taken(session, tenant_id, checked["key"])
        entry = KbEntry(tenant_id=tenant_id, **{k: checked[k] for k in ENTRY_FIELDS
                                                 if k in checked})
        session.add(entry)
    return _entry_view(entry)


def update_entry(ctx: Context, tenant_id: str, entry_id: int,
                 changes: Mapping[str, Any]) -> EntryView:
    checked = _checked_entry(changes)
    with _changing(ctx, tenant_id) as session:
        entry = tenant_row(session, KbEntry, entry_id, tenant_id, "entry")
        if "key" in checked:
            _key_taken(session, tenant_id, checked["key"], but=entry.id)
        apply_changes(session, entry, checked, ENTRY_FIELDS)
    return _entry_view(entry)


def delete_entry(ctx: Context, tenant_id: str, entry_id: int) -> None:
    with _changing(ctx, tenant_id) as session:
        session.delete(tenant_row(session, KbEntry, entry_id, tenant_id, "entry"))


# Documents ----------------------------------------------------------------------------------

def _document(session: Session, tenant_id: str, document_id: int) -> KbDocument:
    document = session.scalar(
        select(KbDocument).where(KbDocument.id == document_id, KbDocument.tenant_id == tenant_id)
        .options(selectinload(KbDocument.passages)))
    if document is None:
        raise NotFound(f"No document {document_id}")
    return document


def list_documents(ctx: Context, tenant_id: str, page: int, page_size: int
                   ) -> Page[DocumentView]:
    with ctx.db.transaction() as session:
        query = (select(KbDocument).where(KbDocument.tenant_id == tenant_id)
                 .options(selectinload(KbDocument.passages)))
        count, rows = fetch_page(session, query, page, page_size, KbDocument.id)
        return Page(count, page, page_size, [_document_view(row) for row in rows])


def get_document(ctx: Context, tenant_id: str, document_id: int) -> DocumentView:
    with ctx.db.transaction() as session:
        return _document_view(_document(session, tenant_id, document_id))


def create_document(ctx: Context, tenant_id: str, title: str, content_type: str, language: str,
                    text: str) -> DocumentView:
    with _changing(ctx, tenant_id) as session:
        require_tenant(session, tenant_id)
        document = KbDocument(tenant_id=tenant_id, title=title, content_type=content_type,
                              language=language, text=text)
        session.add(document)
        session.flush()
        _cut(session, document)
    return _document_view(document)


def update_document(ctx: Context, tenant_id: str, document_id: int,
                    changes: Mapping[str, Any]) -> DocumentView:
    with _changing(ctx, tenant_id) as session:
        document = _document(session, tenant_id, document_id)
        apply_changes(session, document, changes, ("title", "language", "content_type", "text"))
        if {"text", "content_type"} & set(changes):
            _cut(session, document)
    return _document_view(document)


def delete_document(ctx: Context, tenant_id: str, document_id: int) -> None:
    with _changing(ctx, tenant_id) as session:
        session.delete(_document(session, tenant_id, document_id))


# Import -------------------------------------------------------------------------------------

CSV_COLUMNS = ("key", "title", "questions", "answer_en", "answer_sw", "answer_sheng", "tags")


def parse_import(content: str, file_format: str) -> dict[str, Any]:
    """{"entries": [...], "documents": [...]} from YAML (that shape) or CSV (entries only:
    columns key,title,questions,answer_en,answer_sw,answer_sheng,tags; lists split on '|')."""
    if file_format == "yaml":
        try:
            data = yaml.safe_load(content)
        except yaml.YAMLError as error:
            raise InvalidInput(f"The YAML cannot be read: {error}") from None
        if not isinstance(data, dict):
            raise InvalidInput("The YAML must be a map with 'entries' and/or 'documents'")
        return {"entries": data.get("entries") or [], "documents": data.get("documents") or []}
    reader = csv.DictReader(io.StringIO(content))
    missing = {"key", "title", "questions"} - set(reader.fieldnames or [])
    if missing:
        raise InvalidInput(f"The CSV lacks column(s): {', '.join(sorted(missing))}; expected "
                           f"{','.join(CSV_COLUMNS)}")
    entries = []
    for row in reader:
        entries.append({
            "key": (row.get("key") or "").strip(),
            "title": (row.get("title") or "").strip(),
            "questions": [q for q in (row.get("questions") or "").split("|")],
            "answers": {lang: row.get(f"answer_{lang}") or "" for lang in LANGUAGES},
            "tags": [t for t in (row.get("tags") or "").split("|")],
        })
    return {"entries": entries, "documents": []}


def import_kb(ctx: Context, tenant_id: str, data: Mapping[str, Any],
              replace: bool = False) -> ImportReport:
    """Upsert entries by key and documents by title in one transaction; with `replace`, what
    the import does not name is deleted. One rebuild is queued for the whole import; an import
    that changes nothing changes nothing (no new version, no rebuild)."""
    counts = dict.fromkeys(ImportReport.__dataclass_fields__, 0)
    with ctx.db.transaction() as session:
        require_tenant(session, tenant_id)
        existing = {e.key: e for e in session.scalars(
            select(KbEntry).where(KbEntry.tenant_id == tenant_id))}
        seen: set[str] = set()
        for number, raw in enumerate(data.get("entries") or [], start=1):
            if not isinstance(raw, Mapping) or not str(raw.get("key") or "").strip():
                raise InvalidInput(f"Entry {number} needs a key")
            values = _checked_entry({
                "key": str(raw["key"]).strip(),
                "title": str(raw.get("title") or raw["key"]).strip()[:200],
                "questions": raw.get("questions"), "answers": raw.get("answers") or {},
                "tags": raw.get("tags") or [], "active": bool(raw.get("active", True)),
            })
            seen.add(values["key"])
            entry = existing.get(values["key"])
            if entry is None:
                existing[values["key"]] = KbEntry(tenant_id=tenant_id, **values)
                session.add(existing[values["key"]])
                counts["entries_created"] += 1
            elif any(getattr(entry, name) != values[name] for name in ENTRY_FIELDS):
                apply_changes(session, entry, values, ENTRY_FIELDS)
                counts["entries_updated"] += 1
        documents = {d.title: d for d in session.scalars(
            select(KbDocument).where(KbDocument.tenant_id == tenant_id)
            .options(selectinload(KbDocument.passages)))}
        titles: set[str] = set()
        for number, raw in enumerate(data.get("documents") or [], start=1):
            if not isinstance(raw, Mapping) or not str(raw.get("title") or "").strip():
                raise InvalidInput(f"Document {number} needs a title")
            title = str(raw["title"]).strip()[:200]
            content_type = str(raw.get("content_type") or "text/plain")
            language = str(raw.get("language") or "en")
            if language not in LANGUAGES:
                raise InvalidInput(f"Document {title!r}: unknown language {language!r}")
            text = document_text(content_type, raw.get("text"), raw.get("content_base64"))
            titles.add(title)
            document = documents.get(title)
            if document is None:
                document = KbDocument(tenant_id=tenant_id, title=title,
                                      content_type=content_type, language=language, text=text)
                session.add(document)
                session.flush()
                counts["documents_created"] += 1
            elif (document.content_type, document.language, document.text) != (
                    content_type, language, text):
                document.content_type, document.language, document.text = (
                    content_type, language, text)
                counts["documents_updated"] += 1
            else:
                continue
            _cut(session, document)
        if replace:
            for key, entry in existing.items():
                if key not in seen:
                    session.delete(entry)
                    counts["entries_deleted"] += 1
            for title, document in documents.items():
                if title not in titles:
                    session.delete(document)
                    counts["documents_deleted"] += 1
        changed = any(counts.values())
        if changed:
            _bump(session, tenant_id)
    if changed:
        queue_rebuild(ctx, tenant_id)
    return ImportReport(**counts)
