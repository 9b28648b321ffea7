"""Schemas of the NLU classification log."""

from __future__ import annotations

from datetime import UTC

from marshmallow import EXCLUDE, Schema, fields, validate

from backend.api.fields import BoundedInt, Count, Id, UtcDateTime
from backend.api.pagination import PageQuerySchema, page_schema
from backend.services.conversations.classifications import MAX_BATCH

CONFIDENCE = validate.Range(min=0.0, max=1.0)


class RankedIntentSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    name = fields.Str(required=True, validate=validate.Length(min=1, max=128))
    confidence = fields.Float(required=True, validate=CONFIDENCE)


class EntitySchema(Schema):
    class Meta:
        unknown = EXCLUDE  # Rasa adds start, end, extractor, confidence_entity…

    entity = fields.Str(required=True, validate=validate.Length(min=1, max=128))
    value = fields.Raw(required=True, allow_none=True)


class ClassificationInSchema(Schema):
    tenant_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    sender_id = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=128),
                           metadata={"description": "<tenant>:<E.164>, Rasa's sender id"})
    message_id = fields.Str(required=True, validate=validate.Length(min=1, max=64),
                            metadata={"description": "Rasa's id of the user message"})
    message_sid = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=64),
                             metadata={"description": "Twilio MessageSid"})
    text = fields.Str(load_default="", allow_none=True, validate=validate.Length(max=4096))
    intent = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=128))
    confidence = fields.Float(load_default=0.0, allow_none=True, validate=CONFIDENCE)
    language = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=16))
    ranking = fields.List(fields.Nested(RankedIntentSchema), load_default=list, allow_none=True)
    entities = fields.List(fields.Nested(EntitySchema), load_default=list, allow_none=True)
    timestamp = fields.AwareDateTime(
        load_default=None, allow_none=True, default_timezone=UTC,
        metadata={"description": "When the message was classified (ISO 8601; UTC if no offset)"},
    )


class ClassificationBatchSchema(Schema):
    classifications = fields.List(
        fields.Nested(ClassificationInSchema), required=True,
        validate=validate.Length(min=1, max=MAX_BATCH),
    )


class IngestResultSchema(Schema):
    stored = Count()
    skipped = Count(metadata={"description": "Rows of unknown tenants"})
    duplicates = BoundedInt(metadata={"description": "Rows already stored (same message_id)"})


class ClassificationSchema(Schema):
    id = Id()
    customer_id = Id(allow_none=True)
    conversation_id = Id(allow_none=True)
    message_id = fields.Str()
    message_sid = fields.Str(allow_none=True)
    text = fields.Str()
    intent = fields.Str(allow_none=True)
    confidence = fields.Float()
    language = fields.Str(allow_none=True)
    ranking = fields.List(fields.Nested(RankedIntentSchema))
    entities = fields.List(fields.Nested(EntitySchema))
    created_at = UtcDateTime()


ClassificationPageSchema = page_schema(ClassificationSchema, "ClassificationPage")


class ClassificationQuerySchema(PageQuerySchema):
    max_confidence = fields.Float(load_default=None, validate=CONFIDENCE,
                                  metadata={"description": "Only confidence <= this"})
    intent = fields.Str(load_default=None, validate=validate.Length(min=1, max=128))
    language = fields.Str(load_default=None, validate=validate.Length(min=1, max=16))
    start = fields.DateTime(load_default=None, data_key="from",
                            metadata={"description": "Classified at or after (UTC if no offset)"})
    end = fields.DateTime(load_default=None, data_key="to",
                          metadata={"description": "Classified before"})


# ------------------------------------------------------------------ the review loop

class ReviewEntitySchema(Schema):
    start = BoundedInt(required=True, metadata={"description": "Offset in the masked text"})
    end = BoundedInt(required=True, metadata={"description": "End offset (exclusive)"})
    entity = fields.Str(required=True, validate=validate.Length(min=1, max=64),
                        metadata={"description": "An entity of the domain (domain/*.yml)"})
    value = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=200),
                       metadata={"description": "Default: the span's words"})


class ReviewDecisionSchema(Schema):
    decision = fields.Str(metadata={"description": "intent or discard"})
    intent = fields.Str(allow_none=True)
    entities = fields.List(fields.Nested(ReviewEntitySchema))
    decided_by = fields.Str(metadata={"description": "user:<id> or api_key:<id>"})
    decided_at = UtcDateTime()


class ReviewItemSchema(Schema):
    id = Id(metadata={"description": "The classified message's id"})
    tenant_id = fields.Str()
    text = fields.Str(metadata={"description": "Masked: phones, e-mails, M-Pesa codes"})
    language = fields.Str(allow_none=True)
    intent = fields.Str(allow_none=True, metadata={"description": "What the model predicted"})
    confidence = fields.Float()
    fallback = fields.Bool(metadata={"description": "The model fell back (nlu_fallback)"})
    suggested_intent = fields.Str(allow_none=True,
                                  metadata={"description": "The model's best real intent"})
    created_at = UtcDateTime()
    review = fields.Nested(ReviewDecisionSchema, allow_none=True)


ReviewPageSchema = page_schema(ReviewItemSchema, "NluReviewPage")


class ReviewQuerySchema(PageQuerySchema):
    threshold = fields.Float(load_default=0.6, validate=CONFIDENCE,
                             metadata={"description": "Messages classified below this "
                                                      "confidence (and every fallback)"})
    status = fields.Str(load_default="pending",
                        validate=validate.OneOf(["pending", "reviewed", "discarded", "all"]))
    intent = fields.Str(load_default=None, validate=validate.Length(min=1, max=128),
                        metadata={"description": "The predicted intent (nlu_fallback too)"})
    language = fields.Str(load_default=None, validate=validate.Length(min=1, max=16))
    start = fields.DateTime(load_default=None, data_key="from",
                            metadata={"description": "Classified at or after (UTC if no offset)"})
    end = fields.DateTime(load_default=None, data_key="to",
                          metadata={"description": "Classified before"})


class OperatorReviewQuerySchema(ReviewQuerySchema):
    tenant = fields.Str(load_default=None, validate=validate.Length(min=1, max=64),
                        metadata={"description": "One tenant (default: every tenant)"})


class ReviewDecideSchema(Schema):
    decision = fields.Str(required=True, validate=validate.OneOf(["intent", "discard"]))
    intent = fields.Str(load_default=None, allow_none=True,
                        validate=validate.Length(min=1, max=128),
                        metadata={"description": "Required with decision intent: one of the "
                                                 "domain's intents"})
    entities = fields.List(fields.Nested(ReviewEntitySchema), load_default=list,
                           validate=validate.Length(max=20))


class CandidateRequestSchema(Schema):
    language = fields.Str(load_default=None, allow_none=True,
                          validate=validate.Length(min=1, max=16),
                          metadata={"description": "One language (default: every language)"})


class CandidateFileSchema(Schema):
    language = fields.Str()
    file_name = fields.Str(metadata={"description": "<language>/review.yml"})
    examples = fields.List(fields.Str(), metadata={"description": "The new examples"})
    content = fields.Str(metadata={"description": "The whole file (Rasa NLU YAML)"})
    written_to = fields.Str(allow_none=True,
                            metadata={"description": "Where it was written (NLU_REVIEW_DIR); "
                                                     "null: download only"})


class RefusedSchema(Schema):
    id = Id()
    language = fields.Str()
    text = fields.Str()
    reason = fields.Str(metadata={"description": "evaluation or language"})
    detail = fields.Str()


class CandidateResultSchema(Schema):
    reviewed = Count()
    files = fields.List(fields.Nested(CandidateFileSchema))
    duplicates = fields.List(fields.Str(), metadata={"description": "Already in data/nlu"})
    refused = fields.List(fields.Nested(RefusedSchema))


class VocabularySchema(Schema):
    intents = fields.List(fields.Str())
    entities = fields.List(fields.Str())


class NluModelSchema(Schema):
    id = Id()
    status = fields.Str(metadata={"description": "candidate, training, evaluating, failed, "
                                                 "ready (gate passed), rejected (gate failed), "
                                                 "promoted (served), retired"})
    file_path = fields.Str(allow_none=True)
    sha256 = fields.Str(allow_none=True)
    data_hash = fields.Str(allow_none=True, metadata={
        "description": "The training inputs' hash, as scripts/train.sh computes it"})
    note = fields.Str(allow_none=True)
    progress = fields.Str(allow_none=True, metadata={
        "description": "While training (\"training, part 1: epoch 12/100\"), evaluating or "
                       "being promoted"})
    error = fields.Str(allow_none=True)
    figures = fields.Dict(allow_none=True, metadata={
        "description": "Held-out accuracy per language (%), false-action rate on each public "
                       "set's out-of-scope sentences (%), their n, the subset (limit)"})
    gate = fields.Dict(allow_none=True, metadata={
        "description": "{passed, baseline_id, reasons}: against the promoted model's figures"})
    promotable = fields.Bool()
    built_by = fields.Str()
    created_at = UtcDateTime()
    finished_at = UtcDateTime(allow_none=True)
    promoted_by = fields.Str(allow_none=True)
    promoted_at = UtcDateTime(allow_none=True)


class NluModelListSchema(Schema):
    results = fields.List(fields.Nested(NluModelSchema))


class NluModelBuildSchema(Schema):
    note = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=500))
