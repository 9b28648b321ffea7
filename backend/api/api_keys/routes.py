"""A tenant's API keys: list, create (the key is shown once), revoke."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from backend.api.api_keys.schemas import (
    ApiKeyListSchema,
    NewApiKeyRequestSchema,
    NewApiKeySchema,
)
from backend.api.auth import require_tenant
from backend.api.common import TENANT_SECURITY, ErrorSchema, context, principal, tenant_id
from backend.api.scopes import requires
from backend.services.platform.api_keys import (
    ApiKeyView,
    create_api_key,
    key_scopes,
    list_api_keys,
    revoke_api_key_by_id,
)

blp = Blueprint("api_keys", __name__, url_prefix="/v1/api-keys", description="API keys")
blp.before_request(require_tenant)


@blp.route("")
class ApiKeys(MethodView):
    @requires("users:manage")
    @blp.doc(security=TENANT_SECURITY)
    @blp.response(200, ApiKeyListSchema)
    def get(self) -> dict[str, list[ApiKeyView]]:
        """The tenant's keys, revoked ones included (never the keys themselves)"""
        return {"results": list_api_keys(context(), tenant_id())}

    @requires("users:manage")
    @blp.doc(security=TENANT_SECURITY)
    @blp.arguments(NewApiKeyRequestSchema)
    @blp.response(201, NewApiKeySchema)
    @blp.alt_response(403, schema=ErrorSchema, description="Scopes the creator does not hold")
    @blp.alt_response(409, schema=ErrorSchema, description="A live key already has that name")
    @blp.alt_response(422, schema=ErrorSchema, description="Unknown scopes or role")
    def post(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Create a key with scopes (or a role's); the answer holds the key itself, which is not
        stored and not shown again"""
        scopes = key_scopes(payload["scopes"], payload["role"], principal().scopes)
        new = create_api_key(context(), tenant_id(), payload["name"], scopes)
        return {**vars(new.key), "active": new.key.active, "key": new.raw_key}


@blp.route("/<int:api_key_id>")
class ApiKeyById(MethodView):
    @requires("users:manage")
    @blp.doc(security=TENANT_SECURITY)
    @blp.response(204)
    @blp.alt_response(404, schema=ErrorSchema, description="No such key for this tenant")
    def delete(self, api_key_id: int) -> None:
        """Revoke a key at once (revoking it again changes nothing)"""
        revoke_api_key_by_id(context(), tenant_id(), api_key_id)
