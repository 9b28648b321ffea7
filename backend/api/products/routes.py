"""The tenant's catalog, for merchants (API key) and the assistant (service token)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from backend.api.auth import require_tenant
from backend.api.common import TENANT_SECURITY, ErrorSchema, context, tenant_id
from backend.api.pagination import paginated
from backend.api.products.schemas import (
    MatchListSchema,
    MatchQuerySchema,
    ProductCreateSchema,
    ProductPageSchema,
    ProductPatchSchema,
    ProductQuerySchema,
    ProductSchema,
    ProductVariantListSchema,
    ProductVariantSchema,
    VariantCreateSchema,
)
from backend.api.scopes import requires
from backend.domain.money import Money
from backend.services.catalog import products
from backend.services.catalog.listing import (
    NewProduct,
    NewVariant,
    ProductView,
    get_product,
    list_products,
    match_products,
    tenant_currency,
)
from backend.services.catalog.products import ProductVariantView

blp = Blueprint("products", __name__, url_prefix="/v1/products", description="Catalog")
blp.before_request(require_tenant)
NOT_FOUND = {"schema": ErrorSchema, "description": "No such product for this tenant"}


def _new_variant(body: dict[str, Any], currency: str) -> NewVariant:
    return NewVariant(body["sku"], Money(body["price_minor"], currency), body["stock"],
                      body["attributes"])


@blp.route("")
class Products(MethodView):
    @requires("catalog:read")
    @blp.doc(security=TENANT_SECURITY)
    @blp.arguments(ProductQuerySchema, location="query", as_kwargs=True)
    @blp.response(200, ProductPageSchema)
    def get(self, **query: Any) -> dict[str, Any]:
        """List active products, ordered by id (q: full text search of title, description and
        category on PostgreSQL, each word a prefix; a substring match on SQLite)"""
        return paginated(list_products(context(), tenant_id(), **query))

    @requires("catalog:write")
    @blp.doc(security=TENANT_SECURITY)
    @blp.arguments(ProductCreateSchema)
    @blp.response(201, ProductSchema)
    @blp.alt_response(403, schema=ErrorSchema, description="The tier's product limit is reached")
    @blp.alt_response(409, schema=ErrorSchema, description="A SKU or external id is taken")
    def post(self, body: dict[str, Any]) -> ProductView:
        """Create a product with its variants"""
        currency = tenant_currency(context(), tenant_id())
        new = NewProduct(
            body["title"], body["description"], body["category"],
            [_new_variant(v, currency) for v in body["variants"]], body["images"],
            body["external_source"], body["external_id"],
        )
        return products.create_product(context(), tenant_id(), new)


@blp.route("/match")
class ProductMatch(MethodView):
    @requires("catalog:read")
    @blp.doc(security=TENANT_SECURITY)
    @blp.arguments(MatchQuerySchema, location="query", as_kwargs=True)
    @blp.response(200, MatchListSchema)
    def get(self, text: str, limit: int) -> dict[str, Any]:
        """Products ranked by fuzzy likeness to what a customer wrote ("the black boots"),
        with the variant whose colour or size matched"""
        return {"results": match_products(context(), tenant_id(), text, limit)}


@blp.route("/<int:product_id>")
class ProductById(MethodView):
    @requires("catalog:read")
    @blp.doc(security=TENANT_SECURITY)
    @blp.response(200, ProductSchema)
    @blp.alt_response(404, **NOT_FOUND)
    def get(self, product_id: int) -> ProductView:
        """One active product with its variants"""
        return get_product(context(), tenant_id(), product_id)

    @requires("catalog:write")
    @blp.doc(security=TENANT_SECURITY)
    @blp.arguments(ProductPatchSchema)
    @blp.response(200, ProductSchema)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(409, schema=ErrorSchema, description="The external id is taken")
    def patch(self, changes: dict[str, Any], product_id: int) -> ProductView:
        """Change a product (active or not); `active: false` hides it from the catalog"""
        return products.update_product(context(), tenant_id(), product_id, changes)

    @requires("catalog:write")
    @blp.doc(security=TENANT_SECURITY)
    @blp.response(204)
    @blp.alt_response(404, **NOT_FOUND)
    def delete(self, product_id: int) -> None:
        """Delete a product and its variants (orders keep their copied lines)"""
        products.delete_product(context(), tenant_id(), product_id)


@blp.route("/<int:product_id>/variants")
class ProductVariants(MethodView):
    @requires("catalog:read")
    @blp.doc(security=TENANT_SECURITY)
    @blp.response(200, ProductVariantListSchema)
    @blp.alt_response(404, **NOT_FOUND)
    def get(self, product_id: int) -> dict[str, Any]:
        """The product's variants"""
        return {"results": products.list_variants(context(), tenant_id(), product_id)}

    @requires("catalog:write")
    @blp.doc(security=TENANT_SECURITY)
    @blp.arguments(VariantCreateSchema)
    @blp.response(201, ProductVariantSchema)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(409, schema=ErrorSchema, description="The SKU is taken")
    def post(self, body: dict[str, Any], product_id: int) -> ProductVariantView:
        """Add a variant"""
        currency = tenant_currency(context(), tenant_id())
        return products.add_variant(context(), tenant_id(), product_id,
                                    _new_variant(body, currency))
