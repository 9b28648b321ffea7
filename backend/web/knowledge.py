"""The knowledge base: its entries and documents, adding and editing an entry (the API's
schemas and knowledge service: each change queues the index rebuild), and a "try a question" box
that shows the answer the assistant would give and its confidence; documents (a price list, a
care guide: plain text, Markdown or a PDF, uploaded or pasted) added and deleted through the
same service and schema as POST/DELETE /v1/kb/documents, each change queuing the index
rebuild. The try box calls the FAQ service like POST /v1/faq/answer does for a merchant: the answer is not recorded as a customer's
question (faq.record_answer is only for the assistant's), so analytics stay the customers'."""

from __future__ import annotations

import base64
from typing import Any

from flask import Response, request

from backend.domain.knowledge import LANGUAGES
from backend.interface.inputs import (
    AnswerRequestSchema,
    DocumentCreateSchema,
    KbEntryCreateSchema,
    KbEntryPatchSchema,
)
from backend.interface.scopes import requires
from backend.services.knowledge import faq, kb
from backend.web.core import (
    BODY_LIMITS,
    PageError,
    blp,
    context,
    done,
    page,
    page_args,
    tenant_id,
    validated,
)

PAGE_SIZE = 25
DOCUMENTS_SHOWN = 50
# A PDF of up to 10 MiB (its base64 fits DocumentCreateSchema's 14,000,000 characters); text
# up to the schema's 200,000 characters.
DOCUMENT_BYTES = 10 * 1024 * 1024
BODY_LIMITS["web.document_create"] = DOCUMENT_BYTES + 64 * 1024
# A file's kind by its name's ending (a browser's own Content-Type for .md varies).
KINDS = {".txt": "text/plain", ".md": "text/markdown", ".markdown": "text/markdown",
         ".pdf": "application/pdf"}


def _overview(**values: Any) -> Response:
    entries = kb.list_entries(context(), tenant_id(), page_args(), PAGE_SIZE)
    documents = kb.list_documents(context(), tenant_id(), 1, DOCUMENTS_SHOWN)
    return page("knowledge.html", entries=entries, documents=documents,
                kb_status=kb.status(context(), tenant_id()), kb_languages=LANGUAGES,
                pages=max(1, -(-entries.count // PAGE_SIZE)), **values)


@blp.get("/knowledge")
@requires("knowledge:read")
def knowledge() -> Response:
    return _overview(question="", answer=None)


@blp.post("/knowledge/try")
@requires("knowledge:read")
def knowledge_try() -> Response:
    """Ask as a customer would; nothing is recorded (not a customer's question)."""
    raw = {"question": request.form.get("question", "").strip()}
    language = request.form.get("language", "")
    if language:
        raw["language"] = language
    body = validated(AnswerRequestSchema(), raw)
    result = faq.answer(context(), tenant_id(), body["question"], body["language"], None)
    return _overview(question=body["question"], answer=result)


def _entry_form() -> dict[str, Any]:
    """The form's fields as the API's JSON body: one phrasing per line, an answer per
    language (empty ones left out), tags separated by commas."""
    form = request.form
    return {
        "key": form.get("key", "").strip(),
        "title": form.get("title", "").strip(),
        "questions": [line.strip() for line in form.get("questions", "").splitlines()
                      if line.strip()],
        "answers": {code: form.get(f"answer_{code}", "").strip() for code in LANGUAGES
                    if form.get(f"answer_{code}", "").strip()},
        "tags": [tag.strip() for tag in form.get("tags", "").split(",") if tag.strip()],
        "active": form.get("active") == "on",
    }


@blp.get("/knowledge/entries/new")
@requires("knowledge:write")
def entry_new() -> Response:
    return page("knowledge_entry.html", entry=None, kb_languages=LANGUAGES)


@blp.post("/knowledge/entries")
@requires("knowledge:write")
def entry_create() -> Response:
    values = validated(KbEntryCreateSchema(), _entry_form())
    created = kb.create_entry(context(), tenant_id(), values)
    return done("web.entry", "knowledge.saved", entry_id=created.id)


@blp.get("/knowledge/entries/<int:entry_id>")
@requires("knowledge:read")
def entry(entry_id: int) -> Response:
    return page("knowledge_entry.html", entry=kb.get_entry(context(), tenant_id(), entry_id),
                kb_languages=LANGUAGES)


@blp.post("/knowledge/entries/<int:entry_id>")
@requires("knowledge:write")
def entry_update(entry_id: int) -> Response:
    kb.get_entry(context(), tenant_id(), entry_id)  # another shop's entry: 404 before checking
    changes = validated(KbEntryPatchSchema(), _entry_form())
    kb.update_entry(context(), tenant_id(), entry_id, changes)
    return done("web.entry", "knowledge.saved", entry_id=entry_id)


@blp.post("/knowledge/documents")
@requires("knowledge:write")
def document_create() -> Response:
    """An uploaded file (.txt, .md, .pdf) or pasted text, checked by the API's schema and read
    by the same service (a PDF's text extracted; a scan without text is refused)."""
    form = request.form
    raw: dict[str, Any] = {"title": form.get("title", "").strip(),
                           "language": form.get("language", "en")}
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        name = upload.filename.lower()
        kind = next((k for ending, k in KINDS.items() if name.endswith(ending)), None)
        if kind is None:
            raise PageError(422, "knowledge.document_kind")
        content = upload.read(DOCUMENT_BYTES + 1)
        if len(content) > DOCUMENT_BYTES:
            raise PageError(413, "knowledge.document_too_big")
        raw["content_type"] = kind
        if kind == "application/pdf":
            raw["content_base64"] = base64.b64encode(content).decode("ascii")
        else:
            try:
                raw["text"] = content.decode("utf-8-sig")
            except UnicodeDecodeError as error:
                raise PageError(422, "knowledge.document_encoding") from error
        if not raw["title"]:
            raw["title"] = upload.filename.rsplit(".", 1)[0].strip()[:200]
    else:
        raw["content_type"] = "text/plain"
        raw["text"] = form.get("text", "")
    body = validated(DocumentCreateSchema(), raw)
    text = kb.document_text(body["content_type"], body["text"], body["content_base64"])
    made = kb.create_document(context(), tenant_id(), body["title"], body["content_type"],
                              body["language"], text)
    return done("web.knowledge", "knowledge.document_added", _anchor=f"document-{made.id}")


@blp.post("/knowledge/documents/<int:document_id>/delete")
@requires("knowledge:write")
def document_delete(document_id: int) -> Response:
    kb.delete_document(context(), tenant_id(), document_id)
    return done("web.knowledge", "knowledge.document_deleted", _anchor="documents-title")
