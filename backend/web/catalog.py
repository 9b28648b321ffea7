"""The catalog: products with their variants, prices and stock; changing a variant's price and
stock (the API's VariantPatchSchema and catalog service: the assistant's next menu has them)."""

from __future__ import annotations

from typing import Any

from flask import Response, request

from backend.domain.money import Money, MoneyError
from backend.interface.inputs import VariantPatchSchema
from backend.interface.scopes import requires
from backend.services.catalog import products
from backend.services.catalog.listing import list_products
from backend.web.core import PageError, blp, context, done, page, page_args, tenant_id, validated

PAGE_SIZE = 20


@blp.get("/catalog")
@requires("catalog:read")
def catalog() -> Response:
    q = request.args.get("q", "").strip()[:200] or None
    found = list_products(context(), tenant_id(), q=q, page=page_args(), page_size=PAGE_SIZE)
    return page("catalog.html", products=found, q=q or "",
                pages=max(1, -(-found.count // PAGE_SIZE)))


def _integer(raw: str) -> Any:
    """A whole number typed into the form as an int; anything else as typed (the schema, which
    takes only integers like the API, says what is wrong)."""
    text = raw.strip().replace(",", "")
    return int(text) if text.isdigit() else text


@blp.post("/catalog/variants/<int:variant_id>")
@requires("catalog:write")
def variant_update(variant_id: int) -> Response:
    variant = products.get_variant(context(), tenant_id(), variant_id)
    changes: dict[str, Any] = {}
    price = request.form.get("price", "").strip().replace(",", "")
    if price:
        try:
            changes["price_minor"] = Money.from_major(price, variant.currency).amount_minor
        except MoneyError as error:
            raise PageError(422, "catalog.price_invalid") from error
    stock = request.form.get("stock", "")
    if stock.strip():
        changes["stock"] = _integer(stock)
    values = validated(VariantPatchSchema(), changes)
    products.update_variant(context(), tenant_id(), variant_id, values)
    q = request.form.get("q", "")
    return done("web.catalog", "catalog.saved", **({"q": q} if q else {}))
