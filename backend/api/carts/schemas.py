"""Schemas of carts."""

from marshmallow import Schema, fields, validate

from backend.api.pagination import PageQuerySchema, page_schema


class CartItemSchema(Schema):
    id = fields.Int()
    variant_id = fields.Int()
    product_id = fields.Int()
    sku = fields.Str()
    title = fields.Str()
    attributes = fields.Dict(keys=fields.Str(), values=fields.Str())
    unit_price_minor = fields.Int(metadata={"description": "Today's catalog price"})
    quantity = fields.Int()
    line_total_minor = fields.Int()
    stock = fields.Int()


class CartSchema(Schema):
    id = fields.Int()
    customer_id = fields.Int()
    currency = fields.Str()
    items = fields.List(fields.Nested(CartItemSchema))
    total_minor = fields.Int()


class CartItemAddSchema(Schema):
    variant_id = fields.Int(required=True)
    quantity = fields.Int(load_default=1, validate=validate.Range(min=1, max=10_000))


class CartItemUpdateSchema(Schema):
    quantity = fields.Int(required=True, validate=validate.Range(min=1, max=10_000))


class CartQuerySchema(PageQuerySchema):
    customer_id = fields.Int(load_default=None)


CartPageSchema = page_schema(CartSchema, "CartPage")
