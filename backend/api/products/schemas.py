"""Schemas of the catalog."""

from marshmallow import Schema, fields, validate

from backend.services.catalog import MAX_PAGE_SIZE


class ProductQuerySchema(Schema):
    q = fields.Str(load_default=None, validate=validate.Length(max=200))
    category = fields.Str(load_default=None, validate=validate.Length(max=64))
    max_price = fields.Int(
        load_default=None, validate=validate.Range(min=0),
        metadata={"description": "Only products with a variant at or below this price (minor units)"})
    in_stock = fields.Bool(
        load_default=False, metadata={"description": "Only products with a variant in stock"})
    page = fields.Int(load_default=1, validate=validate.Range(min=1))
    page_size = fields.Int(load_default=50, validate=validate.Range(min=1, max=MAX_PAGE_SIZE))


class VariantSchema(Schema):
    id = fields.Int()
    sku = fields.Str()
    price_minor = fields.Int(metadata={"description": "Integer minor units (KES cents)"})
    currency = fields.Str()
    stock = fields.Int()
    attributes = fields.Dict(keys=fields.Str(), values=fields.Str())


class ProductSchema(Schema):
    id = fields.Int()
    title = fields.Str()
    description = fields.Str()
    category = fields.Str()
    currency = fields.Str()
    price_min_minor = fields.Int(allow_none=True)
    price_max_minor = fields.Int(allow_none=True)
    in_stock = fields.Bool()
    variants = fields.List(fields.Nested(VariantSchema))


class ProductPageSchema(Schema):
    count = fields.Int()
    next = fields.Str(allow_none=True, metadata={"description": "URL of the next page"})
    previous = fields.Str(allow_none=True, metadata={"description": "URL of the previous page"})
    results = fields.List(fields.Nested(ProductSchema))
