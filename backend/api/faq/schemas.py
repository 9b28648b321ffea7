"""Schemas of FAQ answers."""

from marshmallow import Schema, fields, validate

from backend.api.fields import Id
from backend.domain.intents import FAQ_INTENTS
from backend.domain.knowledge import ANSWER_KINDS, LANGUAGES, MAX_QUESTION_CHARS


class AnswerRequestSchema(Schema):
    question = fields.Str(required=True, validate=validate.Length(min=1, max=MAX_QUESTION_CHARS))
    language = fields.Str(load_default=None, validate=validate.OneOf((*LANGUAGES, "mixed")),
                          metadata={"description": "The customer's language; detected from the "
                                                   "question when absent or mixed"})
    intent = fields.Str(load_default=None, validate=validate.OneOf(FAQ_INTENTS), metadata={
        "description": "The assistant's intent, a hint that favours entries tagged with it"})


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
