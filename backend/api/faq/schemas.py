"""Schemas of FAQ answers."""

from marshmallow import Schema, fields, validate

from backend.api.fields import Id
from backend.domain.knowledge import ANSWER_KINDS
from backend.interface import inputs


# Shared with the web app (backend/interface/inputs.py), re-exported under the API's names.
AnswerRequestSchema = inputs.AnswerRequestSchema


class SourceSchema(Schema):
    id = Id()
    kind = fields.Str(validate=validate.OneOf(ANSWER_KINDS))
    title = fields.Str()


class AnswerSchema(Schema):
    answer = fields.Str(allow_none=True)
    answered = fields.Bool()
    language = fields.Str(metadata={"description": "The language of the answer"})
    language_fallback = fields.Bool(metadata={
        "description": "The answer is in the default language: none exists in the asked one"})
    sources = fields.List(fields.Nested(SourceSchema))
    confidence = fields.Float(metadata={"description": "0..1"})
    method = fields.Str(validate=validate.OneOf(("faq", "passage", "llm", "none")))
    offer_human = fields.Bool()
