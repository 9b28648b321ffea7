"""POST /v1/faq/answer: the assistant's (and merchants') questions to the knowledge base."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from backend.api.auth import require_tenant
from backend.api.common import TENANT_SECURITY, context, principal, tenant_id
from backend.api.faq.schemas import AnswerRequestSchema, AnswerSchema
from backend.api.scopes import requires
from backend.services.knowledge import faq

blp = Blueprint("faq", __name__, url_prefix="/v1/faq", description="FAQ answers")
blp.before_request(require_tenant)


@blp.route("/answer")
class Answer(MethodView):
    @requires("knowledge:read")
    @blp.doc(security=TENANT_SECURITY)
    @blp.arguments(AnswerRequestSchema)
    @blp.response(200, AnswerSchema)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Answer a customer's question in their language with its sources, or say honestly
        that it is not sure and offer a person (the assistant's questions, asked with the
        service token, are counted in analytics; merchants' test questions are not)"""
        result = faq.answer(context(), tenant_id(), body["question"], body["language"],
                            body["intent"])
        if principal().is_service:
            faq.record_answer(context(), tenant_id(), result)
        return faq.answer_payload(result)
