"""The Twilio Messages API simulator and the log of what it received (sandbox only)."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from backend.api.auth import require_service_or_tenant
from backend.api.common import TENANT_SECURITY, context, principal
from backend.api.scopes import PUBLIC, requires
from backend.sandbox.twilio import (
    SandboxMessageView,
    TwilioApiError,
    TwilioMessageRequest,
    SandboxAccountView,
    fetch_account,
    list_messages,
    receive_message,
)
from backend.models import Tenant
from backend.sandbox.twilio_content import (
    INVALID_PARAMETER,
    InvalidContent,
    approval_status,
    create_content,
    request_approval,
)
from backend.security import constant_time_equals
from backend.sandbox.twilio_schemas import (
    ApprovalRequestSchema,
    ContentAnswerSchema,
    ContentCreateSchema,
    SandboxMessagesSchema,
    SandboxQuerySchema,
    TwilioAccountSchema,
    TwilioErrorSchema,
    TwilioMessageFormSchema,
    TwilioMessageSchema,
)

twilio_blp = Blueprint(
    "twilio_simulator",
    __name__,
    url_prefix="/sandbox/twilio",
    description="Twilio Messages API simulator (sandbox only)",
)
messages_blp = Blueprint(
    "sandbox_messages",
    __name__,
    url_prefix="/v1/sandbox",
    description="Messages the Twilio simulator received (sandbox only)",
)
messages_blp.before_request(require_service_or_tenant)


@twilio_blp.errorhandler(TwilioApiError)
def _twilio_error(error: TwilioApiError) -> Response:
    """The Twilio simulator answers in Twilio's own error shape, as the real API does."""
    response = jsonify(error.to_json())
    response.status_code = error.status
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
    return response


def _basic_credentials() -> tuple[str, str] | None:
    auth = request.authorization
    if auth is None or auth.type != "basic":
        return None
    return auth.username or "", auth.password or ""


@twilio_blp.route("/2010-04-01/Accounts/<string:account_sid>.json")
class TwilioAccount(MethodView):
    @requires(PUBLIC)  # Twilio basic auth, checked by the simulator
    @twilio_blp.doc(security=[{"TwilioBasic": []}])
    @twilio_blp.response(200, TwilioAccountSchema)
    @twilio_blp.alt_response(401, schema=TwilioErrorSchema, description="Twilio error 20003")
    def get(self, account_sid: str) -> SandboxAccountView:
        """Fetch an account, as Twilio's Accounts API does (a connection test)"""
        return fetch_account(context(), account_sid, _basic_credentials())


@twilio_blp.route("/2010-04-01/Accounts/<string:account_sid>/Messages.json")
class TwilioMessages(MethodView):
    @requires(PUBLIC)
    @twilio_blp.doc(security=[{"TwilioBasic": []}])
    @twilio_blp.arguments(TwilioMessageFormSchema, location="form")
    @twilio_blp.response(201, TwilioMessageSchema)
    @twilio_blp.alt_response(400, schema=TwilioErrorSchema, description="Twilio error")
    @twilio_blp.alt_response(401, schema=TwilioErrorSchema, description="Twilio error 20003")
    def post(self, form: dict[str, Any], account_sid: str) -> SandboxMessageView:
        """Create a message, as Twilio's Messages API does (HTTP Basic AccountSid:AuthToken)"""
        return receive_message(
            context(),
            account_sid,
            _basic_credentials(),
            TwilioMessageRequest(
                from_address=form["From"],
                to_address=form["To"],
                body=form["Body"],
                media_urls=form["MediaUrl"],
                status_callback=form["StatusCallback"],
                content_sid=form["ContentSid"],
                content_variables=form["ContentVariables"],
            ),
        )


def _content_tenant() -> str:
    """The tenant whose Twilio credentials (HTTP Basic) call the Content API."""
    username, password = _basic_credentials() or ("", "")
    ctx = context()
    with ctx.db.transaction() as session:
        tenants = session.scalars(select(Tenant).where(
            Tenant.twilio_account_sid == username).order_by(Tenant.id)).all()
        for tenant in tenants:
            if constant_time_equals(password, ctx.crypto.decrypt(
                    tenant.twilio_auth_token_encrypted)):
                return tenant.id
    raise TwilioApiError(401, 20003, "Authenticate")


def _found(answer: dict[str, Any] | None) -> dict[str, Any]:
    if answer is None:
        raise TwilioApiError(404, 20404, "The requested resource was not found")
    return answer


@twilio_blp.route("/content/v1/Content")
class Contents(MethodView):
    @requires(PUBLIC)
    @twilio_blp.doc(security=[{"TwilioBasic": []}])
    @twilio_blp.arguments(ContentCreateSchema)
    @twilio_blp.response(201, ContentAnswerSchema)
    @twilio_blp.alt_response(400, schema=TwilioErrorSchema, description="Twilio error 20422")
    @twilio_blp.alt_response(401, schema=TwilioErrorSchema, description="Twilio error 20003")
    def post(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Create a content (a template, a list picker, a quick reply), as Twilio's Content
        API does"""
        tenant_id = _content_tenant()
        try:
            return create_content(context(), tenant_id, payload)
        except InvalidContent as error:
            raise TwilioApiError(400, INVALID_PARAMETER, str(error)) from None


@twilio_blp.route("/content/v1/Content/<string:sid>/ApprovalRequests/whatsapp")
class ApprovalCreate(MethodView):
    @requires(PUBLIC)
    @twilio_blp.doc(security=[{"TwilioBasic": []}])
    @twilio_blp.arguments(ApprovalRequestSchema)
    @twilio_blp.response(201, ContentAnswerSchema)
    @twilio_blp.alt_response(404, schema=TwilioErrorSchema, description="Unknown content")
    def post(self, payload: dict[str, Any], sid: str) -> dict[str, Any]:
        """Submit a content for WhatsApp approval"""
        return _found(request_approval(context(), _content_tenant(), sid, payload["name"],
                                       payload["category"]))


@twilio_blp.route("/content/v1/Content/<string:sid>/ApprovalRequests")
class ApprovalFetch(MethodView):
    @requires(PUBLIC)
    @twilio_blp.doc(security=[{"TwilioBasic": []}])
    @twilio_blp.response(200, ContentAnswerSchema)
    @twilio_blp.alt_response(404, schema=TwilioErrorSchema, description="Unknown content")
    def get(self, sid: str) -> dict[str, Any]:
        """WhatsApp's approval of a content"""
        return _found(approval_status(context(), _content_tenant(), sid))


@messages_blp.route("/messages")
class SandboxMessages(MethodView):
    @requires("conversations:read")
    @messages_blp.doc(security=[{"ServiceToken": []}, *TENANT_SECURITY])
    @messages_blp.arguments(SandboxQuerySchema, location="query", as_kwargs=True)
    @messages_blp.response(200, SandboxMessagesSchema)
    def get(self, to: str | None, after: int | None) -> dict[str, list[SandboxMessageView]]:
        """What the simulator received, in order (a merchant key sees only its tenant's)"""
        results = list_messages(context(), principal().tenant_id, to=to, after=after)
        return {"results": results}
