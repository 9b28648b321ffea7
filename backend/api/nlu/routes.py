"""The NLU classification log: the rasa side posts batches, merchants page through theirs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from backend.api.auth import require_service, require_tenant
from backend.api.common import SERVICE_SECURITY, TENANT_SECURITY, context, tenant_id
from backend.api.nlu.schemas import (
    CandidateRequestSchema,
    CandidateResultSchema,
    ClassificationBatchSchema,
    ClassificationPageSchema,
    ClassificationQuerySchema,
    IngestResultSchema,
    ReviewDecideSchema,
    ReviewItemSchema,
    ReviewPageSchema,
    ReviewQuerySchema,
    VocabularySchema,
)
from backend.api.pagination import paginated
from backend.api.scopes import SERVICE, requires
from backend.services.conversations.classifications import (
    Classification,
    ClassificationFilter,
    IngestResult,
    list_classifications,
    record_classifications,
)
from backend.services.conversations.review import (
    CandidateResult,
    ReviewFilter,
    ReviewItem,
    decide,
    get_review_item,
    review_entities,
    review_intents,
    review_queue,
    write_candidates,
)

REVIEW = "nlu:review"

internal_blp = Blueprint(
    "nlu_internal", __name__, url_prefix="/internal/v1/nlu", description="NLU log (service)"
)
internal_blp.before_request(require_service)
merchant_blp = Blueprint("nlu", __name__, url_prefix="/v1/nlu", description="NLU log")
merchant_blp.before_request(require_tenant)


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@internal_blp.route("/classifications")
class Classifications(MethodView):
    @requires(SERVICE)
    @internal_blp.doc(security=SERVICE_SECURITY)
    @internal_blp.arguments(ClassificationBatchSchema)
    @internal_blp.response(202, IngestResultSchema)
    def post(self, payload: dict[str, Any]) -> IngestResult:
        """Store a batch of classified customer messages (each message once; rows of unknown
        tenants are skipped and counted)"""
        rows = [
            Classification(
                tenant_id=item["tenant_id"],
                sender_id=item["sender_id"],
                message_id=item["message_id"],
                message_sid=item["message_sid"],
                text=item["text"] or "",
                intent=item["intent"],
                confidence=item["confidence"] or 0.0,
                language=item["language"],
                ranking=item["ranking"] or [],
                entities=item["entities"] or [],
                timestamp=_utc(item["timestamp"]),
            )
            for item in payload["classifications"]
        ]
        return record_classifications(context(), rows)


@merchant_blp.route("/classifications")
class TenantClassifications(MethodView):
    @requires("conversations:read")
    @merchant_blp.doc(security=TENANT_SECURITY)
    @merchant_blp.arguments(ClassificationQuerySchema, location="query", as_kwargs=True)
    @merchant_blp.response(200, ClassificationPageSchema)
    def get(self, page: int, page_size: int, start: datetime | None, end: datetime | None,
            **filters: Any) -> dict[str, Any]:
        """What the assistant understood of customers' messages, newest first"""
        where = ClassificationFilter(from_=_utc(start), to=_utc(end), **filters)
        return paginated(list_classifications(context(), tenant_id(), where, page, page_size))


# ------------------------------------------------------------------ the review loop

def review_filter(threshold: float, status: str, start: datetime | None, end: datetime | None,
                  intent: str | None, language: str | None) -> ReviewFilter:
    return ReviewFilter(threshold=threshold, language=language, intent=intent,
                        from_=_utc(start), to=_utc(end), status=status)


@merchant_blp.route("/review")
class ReviewQueue(MethodView):
    @requires(REVIEW)
    @merchant_blp.doc(security=TENANT_SECURITY)
    @merchant_blp.arguments(ReviewQuerySchema, location="query", as_kwargs=True)
    @merchant_blp.response(200, ReviewPageSchema)
    def get(self, page: int, page_size: int, threshold: float, status: str,
            start: datetime | None = None, end: datetime | None = None,
            intent: str | None = None, language: str | None = None) -> dict[str, Any]:
        """Customer messages the model was unsure of (below `threshold`) or fell back on, newest
        first, their text masked (phones, e-mail addresses, M-Pesa codes); `status` pending (no
        decision yet), reviewed, discarded or all"""
        where = review_filter(threshold, status, start, end, intent, language)
        return paginated(review_queue(context(), [tenant_id()], where, page, page_size))


@merchant_blp.route("/review/vocabulary")
class ReviewVocabulary(MethodView):
    @requires(REVIEW)
    @merchant_blp.doc(security=TENANT_SECURITY)
    @merchant_blp.response(200, VocabularySchema)
    def get(self) -> dict[str, Any]:
        """The intents a reviewer may assign and the entities they may mark (domain/*.yml)"""
        return {"intents": list(review_intents()), "entities": list(review_entities())}


@merchant_blp.route("/review/<int:classification_id>")
class ReviewDecision(MethodView):
    @requires(REVIEW)
    @merchant_blp.doc(security=TENANT_SECURITY)
    @merchant_blp.response(200, ReviewItemSchema)
    def get(self, classification_id: int) -> ReviewItem:
        """One message of the queue and its decision (404: not this tenant's)"""
        return get_review_item(context(), [tenant_id()], classification_id)

    @requires(REVIEW)
    @merchant_blp.doc(security=TENANT_SECURITY)
    @merchant_blp.arguments(ReviewDecideSchema)
    @merchant_blp.response(200, ReviewItemSchema)
    def put(self, payload: dict[str, Any], classification_id: int) -> ReviewItem:
        """Decide (or change the decision): the intent it is, with entities marked over the
        masked text ({start, end, entity, value}), or discard; stored with who and when, and
        audited"""
        return decide(context(), [tenant_id()], classification_id, payload["decision"],
                      payload["intent"], payload["entities"])


@merchant_blp.route("/review/candidates")
class ReviewCandidates(MethodView):
    @requires(REVIEW)
    @merchant_blp.doc(security=TENANT_SECURITY)
    @merchant_blp.arguments(CandidateRequestSchema)
    @merchant_blp.response(200, CandidateResultSchema)
    def post(self, payload: dict[str, Any]) -> CandidateResult:
        """Write the candidate data: the reviewed messages as Rasa NLU YAML per language
        (<language>/review.yml), without what data/nlu already has; evaluation sentences (and
        near copies) refused and reported. Written into NLU_REVIEW_DIR in development, returned
        either way"""
        return write_candidates(context(), [tenant_id()], payload["language"])
