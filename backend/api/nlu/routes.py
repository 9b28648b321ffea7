"""The NLU classification log: the rasa side posts batches, merchants page through theirs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from backend.api.auth import require_service, require_tenant
from backend.api.common import SERVICE_SECURITY, TENANT_SECURITY, context, tenant_id
from backend.api.nlu.schemas import (
    ClassificationBatchSchema,
    ClassificationPageSchema,
    ClassificationQuerySchema,
    IngestResultSchema,
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
