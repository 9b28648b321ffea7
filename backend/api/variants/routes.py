"""GET/PATCH/DELETE /v1/variants/<variant_id>."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from backend.api.auth import require_tenant
from backend.api.common import TENANT_SECURITY, ErrorSchema, context, tenant_id
from backend.api.products.schemas import ProductVariantSchema, VariantPatchSchema
from backend.api.scopes import requires
from backend.services.catalog import products
from backend.services.catalog.products import ProductVariantView

blp = Blueprint("variants", __name__, url_prefix="/v1/variants", description="Catalog")
blp.before_request(require_tenant)


@blp.route("/<int:variant_id>")
class VariantById(MethodView):
    @requires("catalog:read")
    @blp.doc(security=TENANT_SECURITY)
    @blp.response(200, ProductVariantSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="No such variant")
    def get(self, variant_id: int) -> ProductVariantView:
        """One variant"""
        return products.get_variant(context(), tenant_id(), variant_id)

    @requires("catalog:write")
    @blp.doc(security=TENANT_SECURITY)
    @blp.arguments(VariantPatchSchema)
    @blp.response(200, ProductVariantSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="No such variant")
    @blp.alt_response(409, schema=ErrorSchema, description="SKU taken")
    def patch(self, changes: dict[str, Any], variant_id: int) -> ProductVariantView:
        """Change SKU, price (minor units), stock or attributes"""
        return products.update_variant(context(), tenant_id(), variant_id, changes)

    @requires("catalog:write")
    @blp.doc(security=TENANT_SECURITY)
    @blp.response(204)
    @blp.alt_response(404, schema=ErrorSchema, description="No such variant")
    @blp.alt_response(409, schema=ErrorSchema, description="The product's last variant")
    def delete(self, variant_id: int) -> None:
        """Delete a variant (a product keeps at least one)"""
        products.delete_variant(context(), tenant_id(), variant_id)
