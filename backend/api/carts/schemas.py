"""Schemas of carts."""

from marshmallow import Schema, fields, validate

from backend.api.fields import BoundedInt, Id, MAX_STOCK, Minor
from backend.api.pagination import PageQuerySchema, page_schema


class CartItemSchema(Schema):
    id = Id()
    variant_id = Id()
    product_id = Id()
    sku = fields.Str()
    title = fields.Str()
    attributes = fields.Dict(keys=fields.Str(), values=fields.Str())
    unit_price_minor = Minor(metadata={"description": "Today's catalog price"})
    quantity = BoundedInt()
    line_total_minor = Minor()
    stock = BoundedInt(maximum=MAX_STOCK)


class CartSchema(Schema):
    id = Id()
    customer_id = Id()
    currency = fields.Str()
    items = fields.List(fields.Nested(CartItemSchema))
    total_minor = Minor()


class CartItemAddSchema(Schema):
    variant_id = Id(required=True)
    quantity = BoundedInt(load_default=1, validate=validate.Range(min=1, max=10_000))


class CartItemUpdateSchema(Schema):
    quantity = BoundedInt(required=True, validate=validate.Range(min=1, max=10_000))


class CartQuerySchema(PageQuerySchema):
    customer_id = Id(load_default=None)


CartPageSchema = page_schema(CartSchema, "CartPage")
