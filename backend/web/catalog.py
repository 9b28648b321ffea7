"""The catalog: products with their variants, prices, stock and images; changing a variant's
price and stock (the API's VariantPatchSchema and catalog service: the assistant's next menu has
them); adding a product with its first variant (ProductCreateSchema, as POST /v1/products),
deleting one (as DELETE /v1/products/<id>: past orders keep their copied lines), and its images:
the API keeps a product's images as web addresses (https, at most 20; the store imports and the
assistant's WhatsApp media use them), added and removed here through ProductPatchSchema."""

from __future__ import annotations

from typing import Any

from flask import Response, request

from backend.domain.money import Money, MoneyError
from backend.interface.inputs import ProductCreateSchema, ProductPatchSchema, VariantPatchSchema
from backend.interface.scopes import requires
from backend.services.catalog import products
from backend.services.catalog.listing import (
    NewProduct,
    NewVariant,
    list_products,
    tenant_currency,
)
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


def _price_minor(raw: str, currency: str) -> Any:
    """A price typed in shillings as minor units; a wrong one is the page's own message."""
    text = raw.strip().replace(",", "")
    if not text:
        return None
    try:
        return Money.from_major(text, currency).amount_minor
    except MoneyError as error:
        raise PageError(422, "catalog.price_invalid") from error


@blp.get("/catalog/new")
@requires("catalog:write")
def product_new() -> Response:
    return page("product_new.html", form={})


@blp.post("/catalog/products")
@requires("catalog:write")
def product_create() -> Response:
    """A product with its first variant (more through the API), checked by the API's schema."""
    form = request.form
    currency = tenant_currency(context(), tenant_id())
    variant: dict[str, Any] = {"sku": form.get("sku", "").strip(),
                               "price_minor": _price_minor(form.get("price", ""), currency),
                               "stock": _integer(form.get("stock", "") or "0")}
    if variant["price_minor"] is None:
        del variant["price_minor"]  # the schema says it is required
    body = validated(ProductCreateSchema(), {
        "title": form.get("title", "").strip(),
        "category": form.get("category", "").strip(),
        "description": form.get("description", "").strip(),
        "images": [line.strip() for line in form.get("images", "").splitlines() if line.strip()],
        "variants": [variant]})
    new = NewProduct(body["title"], body["description"], body["category"],
                     [NewVariant(v["sku"], Money(v["price_minor"], currency), v["stock"],
                                 v["attributes"]) for v in body["variants"]], body["images"])
    made = products.create_product(context(), tenant_id(), new)
    return done("web.catalog", "catalog.created", q=made.title)


@blp.post("/catalog/products/<int:product_id>/delete")
@requires("catalog:write")
def product_delete(product_id: int) -> Response:
    products.delete_product(context(), tenant_id(), product_id)
    return done("web.catalog", "catalog.deleted")


def _images(product_id: int) -> list[str]:
    return list(products.get_any_product(context(), tenant_id(), product_id).images)


@blp.post("/catalog/products/<int:product_id>/images")
@requires("catalog:write")
def product_image_add(product_id: int) -> Response:
    """Add an image by its address (as PATCH /v1/products/<id> with `images`)."""
    images = _images(product_id)
    address = request.form.get("image", "").strip()
    changes = validated(ProductPatchSchema(), {"images": [*images, address]})
    if not address.lower().startswith("https://"):
        raise PageError(422, "catalog.image_https")
    products.update_product(context(), tenant_id(), product_id, changes)
    return done("web.catalog", "catalog.image_added", q=request.form.get("q", "") or None)


@blp.post("/catalog/products/<int:product_id>/images/remove")
@requires("catalog:write")
def product_image_remove(product_id: int) -> Response:
    images = _images(product_id)
    address = request.form.get("image", "")
    if address not in images:
        raise PageError(404, "error.not_found")
    changes = validated(ProductPatchSchema(), {"images": [i for i in images if i != address]})
    products.update_product(context(), tenant_id(), product_id, changes)
    return done("web.catalog", "catalog.image_removed", q=request.form.get("q", "") or None)
