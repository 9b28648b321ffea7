"""Schemas of the knowledge base: entries, documents and their passages, imports, status."""

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from backend.api.fields import Count, Id, UtcDateTime
from backend.api.pagination import page_schema
from backend.domain.knowledge import LANGUAGES
from backend.interface import inputs

class KbEntrySchema(Schema):
    id = Id()
    key = fields.Str(metadata={"description": "The merchant's stable name (imports update by it)"})
    title = fields.Str()
    questions = fields.List(fields.Str(), metadata={"description": "Phrasings, any language"})
    answers = fields.Dict(keys=fields.Str(), values=fields.Str())
    tags = fields.List(fields.Str(), metadata={
        "description": "e.g. the intents it answers: return_policy, delivery_fees, payment_help"})
    active = fields.Bool()
    created_at = UtcDateTime()
    updated_at = UtcDateTime()


KbEntryPageSchema = page_schema(KbEntrySchema, "KbEntryPage")


# Shared with the web app (backend/interface/inputs.py), re-exported under the API's names.
KbEntryCreateSchema = inputs.KbEntryCreateSchema
DocumentCreateSchema = inputs.DocumentCreateSchema
KbEntryPatchSchema = inputs.KbEntryPatchSchema


class PassageSchema(Schema):
    id = Id()
    position = Count()
    heading = fields.Str()
    text = fields.Str()


class DocumentSchema(Schema):
    id = Id()
    title = fields.Str()
    content_type = fields.Str()
    language = fields.Str()
    text = fields.Str()
    passages = fields.List(fields.Nested(PassageSchema))
    created_at = UtcDateTime()
    updated_at = UtcDateTime()


DocumentPageSchema = page_schema(DocumentSchema, "KbDocumentPage")



class DocumentPatchSchema(Schema):
    title = fields.Str(validate=validate.Length(min=1, max=200))
    content_type = fields.Str(validate=validate.OneOf(("text/plain", "text/markdown")))
    language = fields.Str(validate=validate.OneOf(LANGUAGES))
    text = fields.Str(validate=validate.Length(min=1, max=200_000))

    @validates_schema
    def _not_empty(self, data: dict[str, Any], **_: Any) -> None:
        if not data:
            raise ValidationError("Send at least one field to change.")


class ImportSchema(Schema):
    format = fields.Str(required=True, validate=validate.OneOf(("yaml", "csv")))
    content = fields.Str(required=True, validate=validate.Length(min=1, max=2_000_000),
                         metadata={"description": "The file's text (see docs/internal-api.md)"})
    replace = fields.Bool(load_default=False, metadata={
        "description": "Delete the entries and documents the file does not name"})


class ImportReportSchema(Schema):
    entries_created = Count()
    entries_updated = Count()
    entries_deleted = Count()
    documents_created = Count()
    documents_updated = Count()
    documents_deleted = Count()


class KbStatusSchema(Schema):
    version = Count(metadata={"description": "Bumped by every change"})
    indexed_version = Count(allow_none=True, metadata={
        "description": "The version the search index holds (null: not built yet)"})
    embedder = fields.Str()
    entries = Count()
    passages = Count()
    items = Count(metadata={"description": "Texts in the index"})
