"""Knowledge-base CRUD for merchants (API key) and the assistant (service token)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from backend.api.auth import require_tenant
from backend.api.common import TENANT_SECURITY, ErrorSchema, context, tenant_id
from backend.api.kb.schemas import (
    DocumentCreateSchema,
    DocumentPageSchema,
    DocumentPatchSchema,
    DocumentSchema,
    KbEntryCreateSchema,
    KbEntryPageSchema,
    KbEntryPatchSchema,
    KbEntrySchema,
    ImportReportSchema,
    ImportSchema,
    KbStatusSchema,
)
from backend.api.pagination import PageQuerySchema, paginated
from backend.api.scopes import requires
from backend.services.knowledge import kb

blp = Blueprint("kb", __name__, url_prefix="/v1/kb", description="Knowledge base")
blp.before_request(require_tenant)
NO_ENTRY = {"schema": ErrorSchema, "description": "No such entry for this tenant"}
NO_DOCUMENT = {"schema": ErrorSchema, "description": "No such document for this tenant"}


@blp.route("/entries")
class Entries(MethodView):
    @requires("knowledge:read")
    @blp.doc(security=TENANT_SECURITY)
    @blp.arguments(PageQuerySchema, location="query", as_kwargs=True)
    @blp.response(200, KbEntryPageSchema)
    def get(self, page: int, page_size: int) -> dict[str, Any]:
        """FAQ entries, by id"""
        return paginated(kb.list_entries(context(), tenant_id(), page, page_size))

    @requires("knowledge:write")
    @blp.doc(security=TENANT_SECURITY)
    @blp.arguments(KbEntryCreateSchema)
    @blp.response(201, KbEntrySchema)
    @blp.alt_response(409, schema=ErrorSchema, description="The key is taken")
    def post(self, body: dict[str, Any]) -> kb.EntryView:
        """Add an FAQ entry (queues an index rebuild)"""
        return kb.create_entry(context(), tenant_id(), body)


@blp.route("/entries/<int:entry_id>")
class EntryById(MethodView):
    @requires("knowledge:read")
    @blp.doc(security=TENANT_SECURITY)
    @blp.response(200, KbEntrySchema)
    @blp.alt_response(404, **NO_ENTRY)
    def get(self, entry_id: int) -> kb.EntryView:
        """One FAQ entry"""
        return kb.get_entry(context(), tenant_id(), entry_id)

    @requires("knowledge:write")
    @blp.doc(security=TENANT_SECURITY)
    @blp.arguments(KbEntryPatchSchema)
    @blp.response(200, KbEntrySchema)
    @blp.alt_response(404, **NO_ENTRY)
    @blp.alt_response(409, schema=ErrorSchema, description="The key is taken")
    def patch(self, changes: dict[str, Any], entry_id: int) -> kb.EntryView:
        """Change an entry (lists and answers are replaced whole; queues an index rebuild)"""
        return kb.update_entry(context(), tenant_id(), entry_id, changes)

    @requires("knowledge:write")
    @blp.doc(security=TENANT_SECURITY)
    @blp.response(204)
    @blp.alt_response(404, **NO_ENTRY)
    def delete(self, entry_id: int) -> None:
        """Delete an entry (queues an index rebuild)"""
        kb.delete_entry(context(), tenant_id(), entry_id)


@blp.route("/documents")
class Documents(MethodView):
    @requires("knowledge:read")
    @blp.doc(security=TENANT_SECURITY)
    @blp.arguments(PageQuerySchema, location="query", as_kwargs=True)
    @blp.response(200, DocumentPageSchema)
    def get(self, page: int, page_size: int) -> dict[str, Any]:
        """Documents with their passages, by id"""
        return paginated(kb.list_documents(context(), tenant_id(), page, page_size))

    @requires("knowledge:write")
    @blp.doc(security=TENANT_SECURITY)
    @blp.arguments(DocumentCreateSchema)
    @blp.response(201, DocumentSchema)
    def post(self, body: dict[str, Any]) -> kb.DocumentView:
        """Add a document (plain text, Markdown, or a PDF as base64), cut into passages"""
        text = kb.document_text(body["content_type"], body["text"], body["content_base64"])
        return kb.create_document(context(), tenant_id(), body["title"], body["content_type"],
                                  body["language"], text)


@blp.route("/documents/<int:document_id>")
class DocumentById(MethodView):
    @requires("knowledge:read")
    @blp.doc(security=TENANT_SECURITY)
    @blp.response(200, DocumentSchema)
    @blp.alt_response(404, **NO_DOCUMENT)
    def get(self, document_id: int) -> kb.DocumentView:
        """One document with its passages"""
        return kb.get_document(context(), tenant_id(), document_id)

    @requires("knowledge:write")
    @blp.doc(security=TENANT_SECURITY)
    @blp.arguments(DocumentPatchSchema)
    @blp.response(200, DocumentSchema)
    @blp.alt_response(404, **NO_DOCUMENT)
    def patch(self, changes: dict[str, Any], document_id: int) -> kb.DocumentView:
        """Change a text document (new text is cut into passages again)"""
        return kb.update_document(context(), tenant_id(), document_id, changes)

    @requires("knowledge:write")
    @blp.doc(security=TENANT_SECURITY)
    @blp.response(204)
    @blp.alt_response(404, **NO_DOCUMENT)
    def delete(self, document_id: int) -> None:
        """Delete a document and its passages"""
        kb.delete_document(context(), tenant_id(), document_id)


@blp.route("/import")
class Import(MethodView):
    @requires("knowledge:write")
    @blp.doc(security=TENANT_SECURITY)
    @blp.arguments(ImportSchema)
    @blp.response(200, ImportReportSchema)
    @blp.alt_response(400, schema=ErrorSchema, description="The file cannot be read")
    def post(self, body: dict[str, Any]) -> kb.ImportReport:
        """Import entries (and documents) from YAML or CSV in one transaction: entries are
        matched by key, documents by title"""
        data = kb.parse_import(body["content"], body["format"])
        return kb.import_kb(context(), tenant_id(), data, body["replace"])


@blp.route("/status")
class Status(MethodView):
    @requires("knowledge:read")
    @blp.doc(security=TENANT_SECURITY)
    @blp.response(200, KbStatusSchema)
    def get(self) -> kb.KbStatus:
        """The knowledge base's version and the version its search index holds"""
        return kb.status(context(), tenant_id())
