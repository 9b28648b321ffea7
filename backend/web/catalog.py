"""The catalog: products with their variants, prices, stock and images; changing a variant's
price and stock (the API's VariantPatchSchema and catalog service: the assistant's next menu has
them); adding a product with its first variant (ProductCreateSchema, as POST /v1/products),
deleting one (as DELETE /v1/products/<id>: past orders keep their copied lines), and its images:
the API keeps a product's images as web addresses (https, at most 20; the store imports and the
assistant's WhatsApp media use them), added and removed here through ProductPatchSchema."""

from __future__ import annotations

from typing import Any

from flask import Response, request

from backend.domain.errors import Conflict
from backend.domain.money import Money, MoneyError
from backend.interface.inputs import (
    ProductCreateSchema,
    ProductPatchSchema,
    VariantCreateSchema,
    VariantPatchSchema,
)
from backend.interface.scopes import requires
from backend.services.catalog import products
from backend.services.catalog.listing import (
    NewProduct,
    NewVariant,
    list_products,
    tenant_currency,
)
from backend.web.core import (
    PageError,
    blp,
    context,
    done,
    page,
    page_args,
    t,
    tenant_id,
    validated,
)

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


# --- a product's page: its variants added, edited and removed ----------------------------------
# The API's variant endpoints' schemas and services: VariantCreateSchema and add_variant (POST
# /v1/products/<id>/variants), VariantPatchSchema and update_variant (PATCH /v1/variants/<id>),
# delete_variant (DELETE /v1/variants/<id>: 409 for a product's last variant); `active` (PATCH
# /v1/variants/<id>) takes one off sale and back (migration 0031). A variant's name
# is its `name` attribute (what the assistant and the catalog show beside the SKU); its other
# attributes are kept. A wrong price or field is the product page again, 422, with the message
# beside the form and what was typed.

NAME = "name"


def _variant_form(form: Any, currency: str) -> tuple[dict[str, Any], str | None]:
    """The variant form's fields as the API's body (price in shillings → minor units, exactly:
    Money.from_major), and the page's own message for a price that is not one."""
    body: dict[str, Any] = {}
    error = None
    if "sku" in form:
        body["sku"] = form.get("sku", "").strip()
    price = form.get("price", "").strip().replace(",", "")
    if price:
        try:
            body["price_minor"] = Money.from_major(price, currency).amount_minor
        except MoneyError:
            error = "catalog.price_invalid"
        if body.get("price_minor", 0) < 0:
            error = "catalog.price_invalid"
    if "stock" in form:
        body["stock"] = _integer(form.get("stock", "") or "0")
    return body, error


def _with_name(attributes: dict[str, Any], name: str) -> dict[str, Any]:
    kept = {key: value for key, value in attributes.items() if key != NAME}
    return {**kept, NAME: name} if name else kept


def _product_page(product_id: int, status: int = 200, error: str | None = None,
                  failed: int | str | None = None, typed: dict[str, str] | None = None
                  ) -> Response:
    """The product with all its variants; `failed` names the form a 422 came from ("new" or a
    variant's id) and `typed` what was typed into it."""
    product = products.get_any_product(context(), tenant_id(), product_id)
    return page("product.html", status=status, product=product, error=error, failed=failed,
                typed=typed or {}, name_key=NAME)


def _form_error(product_id: int, failed: int | str, key: str | None,
                detail: str | None = None) -> Response:
    message = t(key) if key else t("form.invalid", detail=detail or "")
    typed = {name: request.form.get(name, "") for name in ("sku", "name", "price", "stock")}
    return _product_page(product_id, 422, message, failed, typed)


@blp.get("/catalog/products/<int:product_id>")
@requires("catalog:read")
def product(product_id: int) -> Response:
    return _product_page(product_id)


@blp.post("/catalog/products/<int:product_id>/variants")
@requires("catalog:write")
def variant_create(product_id: int) -> Response:
    """Another variant of the product (as POST /v1/products/<id>/variants)."""
    currency = products.get_any_product(context(), tenant_id(), product_id).currency
    body, error = _variant_form(request.form, currency)
    if error:
        return _form_error(product_id, "new", error)
    body["attributes"] = _with_name({}, request.form.get("name", "").strip())
    if "price_minor" not in body:
        return _form_error(product_id, "new", "catalog.price_required")
    try:
        values = validated(VariantCreateSchema(), body)
    except PageError as failure:
        return _form_error(product_id, "new", None, failure.detail)
    try:
        products.add_variant(context(), tenant_id(), product_id,
                             NewVariant(values["sku"], Money(values["price_minor"], currency),
                                        values["stock"], values["attributes"]))
    except Conflict as refused:  # the SKU is another variant's
        return _form_error(product_id, "new", None, refused.description)
    return done("web.product", "catalog.variant_added", product_id=product_id)


def _own_variant(product_id: int, variant_id: int) -> products.ProductVariantView:
    """The product's variant; another product's (or shop's) is not found."""
    variant = products.get_variant(context(), tenant_id(), variant_id)
    if variant.product_id != product_id:
        raise PageError(404, "error.not_found")
    return variant


@blp.post("/catalog/products/<int:product_id>/variants/<int:variant_id>")
@requires("catalog:write")
def variant_edit(product_id: int, variant_id: int) -> Response:
    """A variant's name, SKU, price and stock (as PATCH /v1/variants/<id>)."""
    variant = _own_variant(product_id, variant_id)
    body, error = _variant_form(request.form, variant.currency)
    if error:
        return _form_error(product_id, variant_id, error)
    if "name" in request.form:
        body["attributes"] = _with_name(variant.attributes, request.form.get("name", "").strip())
    try:
        values = validated(VariantPatchSchema(), body)
    except PageError as failure:
        return _form_error(product_id, variant_id, None, failure.detail)
    try:
        products.update_variant(context(), tenant_id(), variant_id, values)
    except Conflict as refused:
        return _form_error(product_id, variant_id, None, refused.description)
    return done("web.product", "catalog.variant_saved", product_id=product_id)


@blp.post("/catalog/products/<int:product_id>/variants/<int:variant_id>/active")
@requires("catalog:write")
def variant_active(product_id: int, variant_id: int) -> Response:
    """Take a variant off sale, or offer it again (as PATCH /v1/variants/<id> with `active`):
    customers' listings, matching, carts and orders see only active variants; the product's
    last one on sale stays (409: take the product off sale instead)."""
    _own_variant(product_id, variant_id)
    offered = request.form.get("active", "") == "true"
    values = validated(VariantPatchSchema(), {"active": offered})
    products.update_variant(context(), tenant_id(), variant_id, values)
    return done("web.product", "catalog.variant_offered" if offered else "catalog.variant_paused",
                product_id=product_id)


@blp.post("/catalog/products/<int:product_id>/variants/<int:variant_id>/delete")
@requires("catalog:write")
def variant_delete(product_id: int, variant_id: int) -> Response:
    """Take a variant off sale for good (as DELETE /v1/variants/<id>; past orders keep their
    lines; a product's last variant stays: delete the product instead)."""
    _own_variant(product_id, variant_id)
    products.delete_variant(context(), tenant_id(), variant_id)
    return done("web.product", "catalog.variant_removed", product_id=product_id)
