"""Schemas of the catalog."""

from marshmallow import Schema, fields, validate

from backend.api.fields import BoundedInt, Count, Id, MAX_PAGE, MAX_STOCK, Minor
from backend.services.platform.pages import MAX_PAGE_SIZE
from backend.interface import inputs

# Shared with the web app (backend/interface/inputs.py), re-exported under the API's names.
VariantPatchSchema = inputs.VariantPatchSchema
VariantCreateSchema = inputs.VariantCreateSchema
ProductCreateSchema = inputs.ProductCreateSchema
ProductPatchSchema = inputs.ProductPatchSchema

class ProductQuerySchema(Schema):
    q = fields.Str(load_default=None, validate=validate.Length(max=200))
    category = fields.Str(load_default=None, validate=validate.Length(max=64))
    min_price = Minor(
        load_default=None, validate=validate.Range(min=0),
        metadata={"description": "Only products with a variant at or above this price "
                                 "(minor units)"})
    max_price = Minor(
        load_default=None, validate=validate.Range(min=0),
        metadata={"description": "Only products with a variant at or below this price "
                                 "(minor units)"})
    in_stock = fields.Bool(
        load_default=False, metadata={"description": "Only products with a variant in stock"})
    include_inactive = fields.Bool(
        load_default=False, metadata={"description": "Also list deactivated products"})
    page = BoundedInt(maximum=MAX_PAGE, load_default=1, validate=validate.Range(min=1))
    page_size = BoundedInt(load_default=50, validate=validate.Range(min=1, max=MAX_PAGE_SIZE))


class VariantSchema(Schema):
    id = Id()
    sku = fields.Str()
    price_minor = Minor(metadata={"description": "Integer minor units (KES cents)"})
    currency = fields.Str()
    stock = BoundedInt(maximum=MAX_STOCK)
    attributes = fields.Dict(keys=fields.Str(), values=fields.Str())
    active = fields.Bool(metadata={"description": "Offered to customers: customers' reads (the "
                                                  "listing, one product, match) hold only "
                                                  "active variants; a merchant's see all"})


class ProductSchema(Schema):
    id = Id()
    title = fields.Str()
    description = fields.Str()
    category = fields.Str()
    currency = fields.Str()
    price_min_minor = Minor(allow_none=True)
    price_max_minor = Minor(allow_none=True)
    in_stock = fields.Bool()
    variants = fields.List(fields.Nested(VariantSchema))
    images = fields.List(fields.Str())
    active = fields.Bool()
    external_source = fields.Str(allow_none=True)
    external_id = fields.Str(allow_none=True)


class ProductPageSchema(Schema):
    count = Count()
    next = fields.Str(allow_none=True, metadata={"description": "URL of the next page"})
    previous = fields.Str(allow_none=True, metadata={"description": "URL of the previous page"})
    results = fields.List(fields.Nested(ProductSchema))



class ProductVariantSchema(VariantSchema):
    product_id = Id()


class ProductVariantListSchema(Schema):
    results = fields.List(fields.Nested(ProductVariantSchema))




class MatchQuerySchema(Schema):
    text = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    limit = BoundedInt(load_default=5, validate=validate.Range(min=1, max=20))


class MatchSchema(Schema):
    product_id = Id()
    title = fields.Str()
    score = fields.Float(metadata={"description": "0..1, higher is closer"})
    variant_id = Id(allow_none=True,
                            metadata={"description": "The variant whose colour/size matched"})


class MatchListSchema(Schema):
    results = fields.List(fields.Nested(MatchSchema))
