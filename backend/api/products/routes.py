"""The tenant's catalog, for merchants (API key) and the assistant (service token)."""

from __future__ import annotations

from typing import Any

from flask import request, url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from backend.api.auth import require_tenant
from backend.api.common import TENANT_SECURITY, ErrorSchema, context, tenant_id
from backend.api.products.schemas import ProductPageSchema, ProductQuerySchema, ProductSchema
from backend.services.catalog import ProductPage, ProductView, get_product, list_products

blp = Blueprint("products", __name__, url_prefix="/v1/products", description="Catalog")
blp.before_request(require_tenant)


def _page_url(page: int) -> str:
    """This same listing (same filters) at another page, as an absolute URL."""
    args: dict[str, Any] = {**request.args.to_dict(), "page": page}
    return url_for(request.endpoint or "", _external=True, **args)


def _paginated(page: ProductPage) -> dict[str, Any]:
    return {
        "count": page.count,
        "next": _page_url(page.page + 1) if page.has_next else None,
        "previous": _page_url(page.page - 1) if page.has_previous else None,
        "results": page.results,
    }


@blp.route("")
class Products(MethodView):
    @blp.doc(security=TENANT_SECURITY)
    @blp.arguments(ProductQuerySchema, location="query", as_kwargs=True)
    @blp.response(200, ProductPageSchema)
    def get(self, **query: Any) -> dict[str, Any]:
        """List active products, ordered by id (q matches title, description or category)"""
        return _paginated(list_products(context(), tenant_id(), **query))


@blp.route("/<int:product_id>")
class ProductById(MethodView):
    @blp.doc(security=TENANT_SECURITY)
    @blp.response(200, ProductSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="No such product for this tenant")
    def get(self, product_id: int) -> ProductView:
        """One product with its variants"""
        return get_product(context(), tenant_id(), product_id)
